"""The most-popular model's typed config section: generated from its keys, current, and read by the package."""

from __future__ import annotations

from pathlib import Path

from oryxpy.config import load_config
from oryxpy.config.generate import render_keys_module
from oryxpy.config.typed import section_keys
from popular import keys
from popular.settings import PopularSettings

REPO = Path(__file__).resolve().parents[2]


def test_generated_section_is_current_and_covers_every_key() -> None:
    text = (REPO / "popular" / "settings.py").read_text()
    assert text == render_keys_module("popular.keys", "PopularSettings", "oryx.popular"), (
        "regenerate with: python -m oryxpy.config.generate --keys-module popular.keys --root PopularSettings "
        "--prefix oryx.popular > popular/settings.py")
    assert sorted(section_keys(PopularSettings)) == sorted(key.name for key in keys.KEYS)


def test_the_package_reads_its_keys_typed() -> None:
    from popular.batch import PopularUpdate
    from popular.model import HOUR_MS, half_life_ms

    config = load_config(environ={}, sets=["oryx.popular.half-life-hours=2.5", "oryx.popular.max-items=7",
                                           "oryx.popular.known-items=false"])
    update = PopularUpdate(config)
    assert (update.max_items, update.keep_known, half_life_ms(config)) == (7, False, 2.5 * HOUR_MS)
    assert not any('config["' in p.read_text() for p in (REPO / "popular").glob("*.py"))
