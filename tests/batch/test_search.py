"""Hyper-parameter search: key typing, grid and random combinations, and a search that finds a planted rank."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pytest

from batch.als.update import ALSUpdate
from batch.mlupdate import MODEL_FILE, MLUpdate
from batch.search import HyperParam, SearchPlan, choose_combos, confirmed_choice, finalists, from_config
from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.interfaces import INPUT_SCHEMA
from oryxpy.storage import LocalStorage, join_uri, storage_for
from oryxpy.topics import TopicProducer


def test_key_decides_int_or_float(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.als.hyperparams.features": 10.0, "oryx.als.hyperparams.alpha": [1, 40]})
    features = from_config(config, "oryx.als.hyperparams.features", integer=True)
    alpha = from_config(config, "oryx.als.hyperparams.alpha", integer=False)
    assert features.values == (10,) and isinstance(features.values[0], int) and not features.is_range
    assert alpha.is_range and alpha.values == (1.0, 40.0) and all(isinstance(v, float) for v in alpha.values)
    with pytest.raises(ConfigError, match="oryx.als.hyperparams.features"):
        from_config(embedded_config.with_overrides({"oryx.als.hyperparams.features": 10.5}),
                    "oryx.als.hyperparams.features", integer=True)


def test_two_numbers_are_a_range_longer_lists_are_values(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.als.hyperparams.lambda": [0.1, 0.2, 0.4], "oryx.als.hyperparams.features": [8, 8]})
    lam = from_config(config, "oryx.als.hyperparams.lambda", integer=False)
    assert not lam.is_range and lam.values == (0.1, 0.2, 0.4)
    assert from_config(config, "oryx.als.hyperparams.features", integer=True).values == (8,)
    with pytest.raises(ConfigError, match="min <= max"):
        from_config(embedded_config.with_overrides({"oryx.als.hyperparams.features": [9, 2]}), "oryx.als.hyperparams.features", True)


def params(config: Config, **values: object) -> list[HyperParam]:
    config = config.with_overrides({f"oryx.als.hyperparams.{k}": v for k, v in values.items()})
    return [from_config(config, "oryx.als.hyperparams.features", True), from_config(config, "oryx.als.hyperparams.lambda", False)]


def test_grid_covers_an_integer_range(embedded_config: Config) -> None:
    combos = choose_combos(params(embedded_config, features=[1, 7], **{"lambda": 0.1}), "grid", 7, np.random.default_rng(0))
    assert sorted(c[0] for c in combos) == [1, 2, 3, 4, 5, 6, 7]


def test_grid_uses_every_listed_value_and_the_middle_of_a_range(embedded_config: Config) -> None:
    combos = choose_combos(params(embedded_config, features=[10, 20], **{"lambda": [0.1, 0.2, 0.3]}), "grid", 3, np.random.default_rng(0))
    assert sorted(combos) == [(15, 0.1), (15, 0.2), (15, 0.3)]


def test_grid_spreads_a_real_range_evenly(embedded_config: Config) -> None:
    combos = choose_combos(params(embedded_config, features=5, **{"lambda": [0.0, 1.0]}), "grid", 3, np.random.default_rng(0))
    assert sorted(c[1] for c in combos) == [0.0, 0.5, 1.0]


def test_grid_larger_than_candidates_is_sampled_fairly(embedded_config: Config) -> None:
    space = params(embedded_config, features=[10, 20, 30], **{"lambda": [0.1, 0.2, 0.3]})
    seen = set()
    for seed in range(30):
        combos = choose_combos(space, "grid", 3, np.random.default_rng(seed))
        assert len(set(combos)) == 3
        seen.update(combos)
    assert seen == {(f, lam) for f in (10, 20, 30) for lam in (0.1, 0.2, 0.3)}  # Oryx only ever tried the first 3


def test_random_search_draws_inside_the_ranges(embedded_config: Config) -> None:
    combos = choose_combos(params(embedded_config, features=[2, 4], **{"lambda": [0.5, 1.5]}), "random", 50, np.random.default_rng(1))
    assert {c[0] for c in combos} == {2, 3, 4} and all(isinstance(c[0], int) for c in combos)
    assert all(0.5 <= c[1] <= 1.5 for c in combos)


def planted_records(users: int, items: int, rank: int, seed: int) -> list[str]:
    """Explicit ratings from a rank-``rank`` matrix plus noise, with random timestamps."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(users, rank)) @ rng.normal(size=(rank, items)) + rng.normal(0, 0.3, (users, items))
    cells = np.argwhere(rng.random((users, items)) < 0.35)
    stamps = rng.integers(1_600_000_000_000, 1_600_100_000_000, len(cells))
    return [f"u{u},i{i},{truth[u, i]:.4f},{t}" for (u, i), t in zip(cells, stamps, strict=True)]


def test_search_picks_the_planted_rank(embedded_config: Config, tmp_path: Path) -> None:
    config = embedded_config.with_overrides({
        "oryx.als.implicit": False, "oryx.als.hyperparams.features": [1, 7], "oryx.als.hyperparams.lambda": 0.05,
        "oryx.ml.eval.candidates": 7, "oryx.ml.eval.hyperparam-search": "grid", "oryx.ml.eval.test-fraction": 0.2,
        "oryx.als.iterations": 30, "oryx.als.seed": 3, "oryx.ml.eval.parallelism": 2, "oryx.ml.eval.metric": "rmse",
    })
    lines = planted_records(150, 100, 3, seed=4)
    model_dir = (tmp_path / "model").as_uri()
    ALSUpdate(config).run_update(1_600_200_000_000, pa.table({"key": [None] * len(lines), "value": lines}, schema=INPUT_SCHEMA),
                                 None, model_dir, None)
    models = [p for p in (tmp_path / "model").iterdir() if not p.name.startswith(".")]
    assert len(models) == 1
    report = json.loads((models[0] / "metrics.json").read_text())
    assert report["hyperparams"]["features"] == 3
    assert len(report["candidates"]) == 7 and report["metrics"]["rmse"] < 0.5
    assert not LocalStorage().list((tmp_path / "model" / ".temporary").as_uri())


def test_log_scale_ranges_spread_geometrically(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.als.hyperparams.lambda": [0.01, 1.0]})
    lam = from_config(config, "oryx.als.hyperparams.lambda", integer=False, log_scale=True)
    assert lam.trial_values(3) == pytest.approx([0.01, 0.1, 1.0])
    assert lam.centre() == pytest.approx(0.1)
    draws = [lam.sample(np.random.default_rng(s)) for s in range(400)]
    assert all(0.01 <= d <= 1.0 for d in draws) and 0.3 < np.mean(np.array(draws) < 0.1) < 0.7  # half below 0.1
    linear = from_config(config, "oryx.als.hyperparams.lambda", integer=False)
    assert linear.trial_values(3) == pytest.approx([0.01, 0.505, 1.0])


def test_default_search_starts_with_a_three_by_three_log_grid_at_the_centre_features(embedded_config: Config) -> None:
    update = ALSUpdate(embedded_config)
    assert embedded_config["oryx.ml.eval.hyperparam-search"] == "staged"
    combos = SearchPlan(update.hyperparams(), "staged", 9, np.random.default_rng(0)).first_round()
    assert len(set(combos)) == 9 and {c[0] for c in combos} == {45}  # features: the geometric centre of [16, 128]
    assert sorted({round(c[1], 4) for c in combos}) == [0.05, 0.1581, 0.5]
    assert sorted({round(c[2], 4) for c in combos}) == [0.25, 2.8284, 32.0]


def run_plan(plan: SearchPlan, score: Callable[[tuple[Any, ...]], float]) -> list[tuple[Any, ...]]:
    """Drive a plan as MLUpdate does: build a round, rank everything so far, ask for the next round."""
    tried: list[tuple[Any, ...]] = []
    combos = plan.first_round()
    while combos:
        tried += combos
        combos = plan.next_round(sorted(tried, key=score, reverse=True))
    return tried


def test_staged_search_sizes_features_then_refines_around_the_best(embedded_config: Config) -> None:
    params = ALSUpdate(embedded_config).hyperparams()
    # a planted optimum off the coarse grid: features 128, lambda 0.3, alpha 8
    def score(c: tuple[Any, ...]) -> float:
        return float(-abs(np.log(c[0] / 128)) - abs(np.log(c[1] / 0.3)) - abs(np.log(c[2] / 8.0)))

    tried = run_plan(SearchPlan(params, "staged", 9, np.random.default_rng(0)), score)
    assert len(tried) == len(set(tried)) and 9 + 2 < len(tried) <= 9 + 2 + 8
    assert {c[0] for c in tried[9:11]} == {16, 128}  # round 2: the other features at the best lambda and alpha
    best = max(tried, key=score)
    assert best[0] == 128
    assert best[2] == pytest.approx(32 / 128 ** 0.25)  # alpha moved half a coarse step from the best coarse 32 down
    assert any(c[1] == pytest.approx(0.5 / 10 ** 0.25) for c in tried[11:])  # lambda tried half a step below 0.5
    assert score(best) > max(score(c) for c in tried[:11])
    assert all(16 <= c[0] <= 128 and 0.05 <= c[1] <= 0.5 and 0.25 <= c[2] <= 32 for c in tried)


def test_staged_search_with_fixed_values_builds_one_candidate(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.als.hyperparams.features": 8, "oryx.als.hyperparams.lambda": 0.1,
                                             "oryx.als.hyperparams.alpha": 1.0})
    plan = SearchPlan(ALSUpdate(config).hyperparams(), "staged", 9, np.random.default_rng(0))
    assert plan.first_round() == [(8, 0.1, 1.0)]
    assert plan.next_round([(8, 0.1, 1.0)]) == []


def test_staged_search_with_one_candidate_builds_one(embedded_config: Config) -> None:
    plan = SearchPlan(ALSUpdate(embedded_config).hyperparams(), "staged", 1, np.random.default_rng(0))
    [centre] = plan.first_round()
    assert centre[0] == 45 and plan.next_round([centre]) == []


def test_grid_and_random_are_one_round(embedded_config: Config) -> None:
    params = ALSUpdate(embedded_config).hyperparams()
    for search in ("grid", "random"):
        plan = SearchPlan(params, search, 4, np.random.default_rng(0))
        first = plan.first_round()
        assert len(first) == 4 and plan.next_round(first) == []
    with pytest.raises(ConfigError, match="staged"):
        SearchPlan(params, "bayes", 4, np.random.default_rng(0))


def test_short_integer_log_range_keeps_every_value(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.als.hyperparams.features": [1, 7]})
    features = from_config(config, "oryx.als.hyperparams.features", integer=True, log_scale=True)
    assert features.trial_values(7) == [1, 2, 3, 4, 5, 6, 7]
    assert features.trial_values(3) == [1, 3, 7] and features.neighbours(3, 3) == [2, 5]


def test_finalists_are_the_best_scores_and_need_two() -> None:
    assert finalists([0.30, math.nan, 0.50, 0.45, 0.10], 3) == [2, 3, 0]
    assert finalists([0.30, math.nan, 0.50], 5) == [2, 0]
    assert finalists([0.30, math.nan], 3) == [] and finalists([0.5, 0.4], 1) == [] and finalists([0.5, 0.4], 0) == []


def test_confirmed_choice_takes_the_best_mean_of_two_folds() -> None:
    # ml-latest-small, seed 1: the first fold's leader by 0.0006 is behind on the second fold
    first, second = [0.1353, 0.1347, 0.1340], [0.1210, 0.1255, 0.1235]
    assert confirmed_choice(first, second) == 1
    assert confirmed_choice(first, [0.1210, math.nan, 0.1235]) == 0  # a fold that cannot score them all: fold 1 decides
    assert confirmed_choice([0.2, 0.3], [0.3, 0.2]) == 1  # equal means: the better first-fold score
    with pytest.raises(ValueError, match="one first- and one second-fold score"):
        confirmed_choice([0.1, 0.2], [0.1])


class PlantedScores(MLUpdate):
    """A model type whose held-out scores are planted by lambda: on the first fold 0.2 leads 0.1 by a hair (noise),
    on the second 0.1 is clearly better; 0.4 is poor on both. It records what it built on which fold."""

    SCORES: ClassVar[dict[str, dict[float, float]]] = {
        "first": {0.1: 0.500, 0.2: 0.501, 0.4: 0.300}, "second": {0.1: 0.530, 0.2: 0.470, 0.4: 0.310}}

    def __init__(self, config: Config):
        super().__init__(config)
        self.built: list[tuple[str, float]] = []
        self.lambdas: dict[str, float] = {}
        self.second_folds = 0

    def hyperparams(self) -> list[HyperParam]:
        return [from_config(self.config, "oryx.als.hyperparams.lambda", integer=False, log_scale=True)]

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> str:
        return "first"

    def has_test_data(self, data: Any) -> bool:
        return True

    def second_fold(self, data: Any) -> str:
        self.second_folds += 1
        return "second"

    def build_model(self, data: Any, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        self.built.append((data, hyperparams["lambda"]))
        self.lambdas[candidate_uri] = hyperparams["lambda"]
        storage_for(candidate_uri, self.config).write_text(join_uri(candidate_uri, MODEL_FILE), "<PMML/>")

    def evaluate(self, data: Any, candidate_uri: str) -> dict[str, float]:
        return {"ndcg@10": self.SCORES[data][round(self.lambdas[candidate_uri], 6)]}

    def publish_additional(self, data: Any, model_uri: str, producer: TopicProducer) -> None:
        pass


def run_planted(embedded_config: Config, tmp_path: Path, **overrides: object) -> tuple[PlantedScores, dict[str, Any]]:
    config = embedded_config.with_overrides({"oryx.als.hyperparams.lambda": [0.1, 0.2, 0.4], "oryx.ml.eval.candidates": 3,
                                             "oryx.ml.eval.hyperparam-search": "grid", "oryx.ml.eval.refit": False,
                                             **overrides})
    update = PlantedScores(config)
    update.run_update(1, pa.table({"key": [None], "value": ["u,i,1,1"]}, schema=INPUT_SCHEMA), None,
                      (tmp_path / "model").as_uri(), None)
    [model] = [p for p in (tmp_path / "model").iterdir() if not p.name.startswith(".")]
    return update, json.loads((model / "metrics.json").read_text())


def test_finalists_confirmed_on_a_second_fold_beat_a_noisy_first_fold_lead(embedded_config: Config, tmp_path: Path) -> None:
    update, report = run_planted(embedded_config, tmp_path, **{"oryx.ml.eval.finalists": 2})
    assert report["hyperparams"] == {"lambda": 0.1}  # the first fold alone would pick 0.2
    assert sorted(b for b in update.built if b[0] == "second") == [("second", 0.1), ("second", 0.2)]  # 0.4 not rebuilt
    assert report["metrics"]["second_fold_score"] == 0.530
    recorded = {c["hyperparams"]["lambda"]: c["metrics"] for c in report["candidates"]}
    assert "second_fold_score" not in recorded[0.4] and recorded[0.2]["second_fold_score"] == 0.470


def test_without_finalists_the_first_fold_decides(embedded_config: Config, tmp_path: Path) -> None:
    update, report = run_planted(embedded_config, tmp_path, **{"oryx.ml.eval.finalists": 1})
    assert report["hyperparams"] == {"lambda": 0.2} and update.second_folds == 0
    assert all(fold == "first" for fold, _ in update.built)


def test_one_candidate_builds_once_and_confirms_nothing(embedded_config: Config, tmp_path: Path) -> None:
    update, report = run_planted(embedded_config, tmp_path, **{"oryx.ml.eval.candidates": 1,
                                                                "oryx.als.hyperparams.lambda": [0.1, 0.4],
                                                                "oryx.ml.eval.hyperparam-search": "staged"})
    assert len(update.built) == 1 and update.second_folds == 0
    assert update.built[0][0] == "first" and update.built[0][1] == pytest.approx(0.2)  # the log range's centre
    assert report["hyperparams"]["lambda"] == pytest.approx(0.2) and "second_fold_score" not in report["metrics"]


def test_als_second_fold_splits_the_train_part_by_the_same_rule(embedded_config: Config) -> None:
    update = ALSUpdate(embedded_config.with_overrides({"oryx.als.seed": 5}))
    lines = planted_records(60, 40, 2, seed=1)
    data = update.prepare(1_600_200_000_000, lines, [])
    fold = update.second_fold(data)
    assert fold is not None and data.test is not None and fold.test is not None
    assert len(fold.train) + len(fold.test) == len(data.train) and len(fold.test) > 0
    pairs = {tuple(p) for p in zip(data.train.users.tolist(), data.train.items.tolist(), strict=True)}
    assert all(p in pairs for p in zip(fold.test.users.tolist(), fold.test.items.tolist(), strict=True))
    assert fold.test.timestamp.min() >= fold.train.timestamp.max()  # timestamps separate: a time split again
    assert update.second_fold(dataclasses.replace(data, test=None)) is None
