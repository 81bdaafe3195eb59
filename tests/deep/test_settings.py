"""The two-tower model's typed config section: generated from its keys, current, equal to the string reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch.deep import keys
from batch.deep.settings import DeepSettings
from oryxpy.config import load_config
from oryxpy.config.generate import render_keys_module
from oryxpy.config.typed import section_keys
from oryxpy.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
COMMAND = "python -m oryxpy.config.generate --keys-module batch.deep.keys --root DeepSettings --prefix oryx.deep"


def test_generated_section_is_current() -> None:
    text = (REPO / "batch" / "deep" / "settings.py").read_text()
    assert text == render_keys_module("batch.deep.keys", "DeepSettings", "oryx.deep"), (
        f"regenerate with: {COMMAND} > batch/deep/settings.py")


def test_section_covers_every_two_tower_key_once() -> None:
    bound = section_keys(DeepSettings)
    assert sorted(bound) == sorted(key.name for key in keys.KEYS)


def test_attributes_equal_the_string_reads() -> None:
    config = load_config(environ={}, sets=["oryx.deep.epochs=3", "oryx.deep.seed=11", "oryx.deep.user-embedding=false",
                                           "oryx.deep.hyperparams.l2=[1e-6, 1e-4]"])
    deep = config.section(DeepSettings)
    assert (deep.epochs, deep.seed, deep.user_embedding) == (3, 11, False)
    assert deep.hyperparams.l2 == [1e-6, 1e-4]
    assert deep.hash_buckets == config["oryx.deep.hash-buckets"] == 8192


def test_a_bad_value_names_its_key() -> None:
    with pytest.raises(ConfigError, match="oryx.deep.hidden"):
        load_config(environ={}, sets=["oryx.deep.hidden=0"]).section(DeepSettings)
