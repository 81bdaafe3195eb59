"""Select on the held-out part, then refit on everything: every user and item of the data is in the published model,
whatever the split (time, random, none); ``oryx.ml.eval.refit = false`` keeps Oryx's train-split model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from batch.als.update import ALSUpdate
from oryxpy.config import Config
from oryxpy.interfaces import INPUT_SCHEMA
from oryxpy.modelfiles import read_vectors
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.storage import LocalStorage

T0 = 1_600_000_000_000
DAY = 86_400_000
FAST = {"oryx.als.hyperparams.features": 4, "oryx.als.iterations": 3, "oryx.als.seed": 1}


def history(users: int = 60, items: int = 40, per_user: int = 15, seed: int = 0) -> list[str]:
    """Old users over 90 days, then users and items that only appear in the last days (the newest 10 %)."""
    rng = np.random.default_rng(seed)
    lines = []
    for u in range(users):
        for i in rng.choice(items, per_user, replace=False):
            lines.append(f"u{u},i{i},{rng.integers(1, 6)},{T0 + int(rng.integers(0, 90 * DAY))}")
    for u in range(8):  # new users whose every interaction is in the last 10 % of the time
        for i in list(rng.choice(items, 10, replace=False)) + [f"new{u}"]:
            lines.append(f"late{u},{i if isinstance(i, str) else f'i{i}'},1,{T0 + 95 * DAY + int(rng.integers(0, DAY))}")
    return lines


def generate(config: Config, tmp_path: Path, lines: list[str]) -> tuple[dict[str, Any], set[str], set[str], ALSModelInfo]:
    model_dir = (tmp_path / "model").as_uri()
    table = pa.table({"key": [None] * len(lines), "value": lines}, schema=INPUT_SCHEMA)
    ALSUpdate(config).run_update(T0 + 100 * DAY, table, None, model_dir, None)
    [model] = [p for p in (tmp_path / "model").iterdir() if not p.name.startswith(".")]
    storage = LocalStorage()
    users = set(read_vectors(storage, (model / "X").as_uri())[0])
    items = set(read_vectors(storage, (model / "Y").as_uri())[0])
    info = pmml_to_als_model((model / "model.pmml").read_text())
    return json.loads((model / "metrics.json").read_text()), users, items, info


def ids(lines: list[str]) -> tuple[set[str], set[str]]:
    return {line.split(",")[0] for line in lines}, {line.split(",")[1] for line in lines}


def test_refit_puts_every_user_and_item_in_the_published_model(embedded_config: Config, tmp_path: Path) -> None:
    lines = history()
    report, users, items, _ = generate(embedded_config.with_overrides(FAST), tmp_path, lines)
    all_users, all_items = ids(lines)
    assert users == all_users and items == all_items
    assert report["evaluated"] is True and report["refit"] is True
    assert report["split"].startswith("time split")
    assert len(report["candidates"]) >= 9  # the default staged search (a 3 x 3 grid first), chosen on the test split
    assert report["metrics"]["ndcg@10"] >= 0


def test_refit_false_keeps_oryxs_train_split_model_without_the_newest_users(embedded_config: Config, tmp_path: Path) -> None:
    lines = history()
    config = embedded_config.with_overrides({**FAST, "oryx.ml.eval.refit": False})
    report, users, _, _ = generate(config, tmp_path, lines)
    assert report["refit"] is False
    assert not any(u.startswith("late") for u in users)


def test_no_timestamps_still_evaluates_by_random_holdout_and_refits(embedded_config: Config, tmp_path: Path) -> None:
    lines = [",".join(line.split(",")[:3]) + f",{T0}" for line in history()]  # every record at one time
    report, users, items, _ = generate(embedded_config.with_overrides(FAST), tmp_path, lines)
    assert report["split"].startswith("random split") and "distinct timestamp" in report["split"]
    assert report["evaluated"] is True and report["refit"] is True
    assert report["metrics"]["ndcg@10"] == report["metrics"]["ndcg@10"]  # a number, not NaN
    assert (users, items) == ids(lines)


def test_an_outlier_timestamp_still_gives_a_full_evaluated_model(embedded_config: Config, tmp_path: Path) -> None:
    lines = history() + ["u0,i0,1,2"]  # one record from 1970
    report, users, items, _ = generate(embedded_config.with_overrides(FAST), tmp_path, lines)
    assert report["split"].startswith("time split")
    assert (users, items) == ids(lines)


def test_a_generation_that_cannot_be_evaluated_publishes_a_sound_model_and_says_so(embedded_config: Config,
                                                                                     tmp_path: Path) -> None:
    lines = [f"u{n % 3},i{n % 5},1,{T0 + n}" for n in range(12)]
    report, users, items, info = generate(embedded_config.with_overrides(FAST), tmp_path, lines)
    assert report["evaluated"] is False and "evaluation is impossible" in report["split"]
    assert len(report["candidates"]) == 1 and report["hyperparams"]["lambda"] == report["hyperparams"]["lambda"]
    assert (users, items) == ids(lines)
    assert info.features == 4


def test_heavy_tailed_counts_are_published_with_log_strength(embedded_config: Config, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    lines = [f"{line.rsplit(',', 2)[0]},{int((rng.pareto(1.0) + 1) * 3)},{line.rsplit(',', 1)[1]}" for line in history()]
    _, _, _, info = generate(embedded_config.with_overrides(FAST), tmp_path, lines)
    assert info.log_strength and info.epsilon is not None and info.epsilon >= 3
    _, _, _, plain = generate(embedded_config.with_overrides({**FAST, "oryx.als.strength-scale": "none"}),
                              tmp_path / "plain", lines)
    assert not plain.log_strength
