"""The train/test split (batch/split.py): time quantiles robust to outliers; a seeded random per-user holdout when
timestamps cannot separate (ties, too few distinct values, test too small); no split when evaluation is impossible."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from batch.als.update import ALSUpdate
from batch.split import NONE, RANDOM, TIME, split_new
from oryxpy.config import Config

T0 = 1_600_000_000_000
DAY = 86_400_000


def records(n: int, users: int = 40, items: int = 60, seed: int = 0,
            spread_ms: int = 100 * DAY) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = np.array([f"u{x}" for x in rng.integers(0, users, n)])
    i = np.array([f"i{x}" for x in rng.integers(0, items, n)])
    t = T0 + np.sort(rng.integers(0, spread_ms, n))
    return u, i, t


def test_one_outlier_timestamp_does_not_move_the_time_split(caplog: pytest.LogCaptureFixture) -> None:
    u, i, t = records(2000)
    t = t.copy()
    t[0] = 2  # one record from 1970: by span, nearly everything would be test
    with caplog.at_level(logging.INFO, logger="batch.split"):
        split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == TIME
    assert 0.09 <= split.test.mean() <= 0.11
    assert split.boundary_ms is not None and split.boundary_ms > T0 + 80 * DAY
    assert not split.test[0]
    assert "time split" in caplog.text and "quantile" in caplog.text


def test_a_far_future_outlier_is_test_but_the_rest_still_splits_by_quantile() -> None:
    u, i, t = records(2000)
    t = t.copy()
    t[-1] = T0 + 10**6 * DAY  # year 4700
    split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == TIME and 0.09 <= split.test.mean() <= 0.11 and split.test[-1]


def test_identical_timestamps_fall_back_to_a_seeded_random_per_user_holdout(caplog: pytest.LogCaptureFixture) -> None:
    u, i, _ = records(3000)
    same = np.full(len(u), T0)
    with caplog.at_level(logging.INFO, logger="batch.split"):
        split = split_new(u, i, same, 0.2, seed=5)
    assert split.method == RANDOM
    assert "distinct timestamp" in split.reason and "random per-user holdout" in caplog.text
    assert 0.12 <= split.test.mean() <= 0.25
    for user in np.unique(u):  # every user keeps a train pair
        assert (~split.test[u == user]).any()
    again = split_new(u, i, same, 0.2, seed=5)
    other = split_new(u, i, same, 0.2, seed=6)
    assert (again.test == split.test).all() and (other.test != split.test).any()


def test_random_holdout_keeps_a_pairs_records_together() -> None:
    u, i, _ = records(3000, users=20, items=15)  # many repeated (user, item) pairs
    split = split_new(u, i, np.full(len(u), T0), 0.2, seed=2)
    pair = np.char.add(np.char.add(u, "|"), i)
    for p in np.unique(pair):
        sides = split.test[pair == p]
        assert sides.all() or not sides.any()


def test_heavy_ties_at_the_boundary_fall_back_to_random() -> None:
    u, i, t = records(2000)
    t = t.copy()
    t[len(t) // 2:] = t[-1]  # half the records share the last timestamp
    split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == RANDOM and "tie" in split.reason
    assert split.test.mean() < 0.2


def test_too_few_distinct_timestamps_fall_back_to_random() -> None:
    u, i, _ = records(2000)
    t = T0 + (np.arange(len(u)) % 4) * DAY
    split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == RANDOM and "4 distinct" in split.reason


def test_a_time_split_whose_test_users_are_all_new_falls_back_to_random() -> None:
    u, i, t = records(1800, users=30)
    late = np.array([f"new{n}" for n in range(200)])  # the last 10 % are users seen nowhere else
    u = np.concatenate([u, late])
    i = np.concatenate([i, i[:200]])
    t = np.concatenate([t, T0 + 200 * DAY + np.arange(200)])
    split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == RANDOM and "known users and items" in split.reason


def test_too_little_data_means_no_evaluation_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    u, i, t = records(12, users=3, items=4)
    with caplog.at_level(logging.WARNING, logger="batch.split"):
        split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == NONE and not split.test.any()
    assert "evaluation is impossible" in caplog.text


def test_past_data_counts_when_judging_a_test_record(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.ml.eval.test-fraction": 0.5, "oryx.als.seed": 1})
    past = [f"u{n % 10},i{n % 7},1,{T0 + n}" for n in range(100)]
    new = [f"u{n % 10},i{n % 7},1,{T0 + 1000}" for n in range(40)]  # one timestamp: random holdout, known via past
    data = ALSUpdate(config).prepare(T0 + DAY, new, past)
    assert data.test is not None and len(data.test) >= 10
    assert data.note.startswith("random split")
    assert len(data.train) + len(data.test) == 140


def test_a_time_split_that_scores_too_few_users_falls_back_to_random() -> None:
    u, i, t = records(1800, users=200)
    heavy = np.array([f"u{n % 5}" for n in range(200)])  # the latest 10 %: five heavy users (of 200) in a burst
    u = np.concatenate([u, heavy])
    i = np.concatenate([i, i[:200]])
    t = np.concatenate([t, T0 + 200 * DAY + np.arange(200)])
    split = split_new(u, i, t, 0.1, seed=1)
    assert split.method == RANDOM and "only 5 users" in split.reason
    assert len(np.unique(u[split.test])) > 20  # many more users judged than the five
