"""batch.spark.split: the same train/test rule as batch.split, on DataFrames, in a local[2] session."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'oryxpy[spark]'")

from batch import split as local_split  # noqa: E402
from batch.spark.split import kth_timestamp, split_new  # noqa: E402

pytestmark = pytest.mark.slow

COLUMNS = "user string, item string, timestamp long"


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from batch.spark.session import build_session
    from tests.batch.test_spark_engine import SPARK
    from tests.conftest import embedded_config_at

    session = build_session(embedded_config_at(tmp_path_factory.mktemp("spark-split"), **SPARK))
    session.sparkContext.setLogLevel("ERROR")
    yield session


def records(n: int, users: int, items: int, seed: int, stamps: np.ndarray | None = None) -> list[tuple[str, str, int]]:
    rng = np.random.default_rng(seed)
    times = stamps if stamps is not None else rng.integers(0, 1_000_000, n)
    return [(f"u{u}", f"i{i}", int(t)) for u, i, t in zip(rng.integers(0, users, n), rng.integers(0, items, n), times, strict=True)]


def test_kth_timestamp_is_exact_with_ties_and_outliers(spark) -> None:  # type: ignore[no-untyped-def]
    stamps = np.concatenate([np.full(50, 7), np.arange(1000, 1400), [0, 4_102_444_800_000]])
    frame = spark.createDataFrame([(int(t),) for t in stamps], "timestamp long")
    ordered = np.sort(stamps)
    for k in (0, 1, 49, 50, 51, 200, len(stamps) - 2, len(stamps) - 1):
        assert kth_timestamp(frame, k) == ordered[k], k


def test_time_split_picks_the_same_records_as_the_local_rule(spark) -> None:  # type: ignore[no-untyped-def]
    rows = records(2000, 60, 40, seed=3)
    frame = spark.createDataFrame(rows, COLUMNS)
    users, items, stamps = (np.array([r[n] for r in rows]) for n in range(3))
    local = local_split.split_new(users, items, stamps, 0.1, 1)
    on_spark = split_new(frame, None, 0.1, 1)
    assert local.method == on_spark.method == local_split.TIME
    assert on_spark.test is not None and on_spark.test_count == int(local.test.sum())
    expected = sorted(r for r, t in zip(rows, local.test, strict=True) if t)
    assert sorted(tuple(r) for r in on_spark.test.collect()) == expected
    assert on_spark.train_new.count() == len(rows) - len(expected)


def test_tied_timestamps_fall_back_to_a_per_user_holdout_that_keeps_a_train_pair(spark) -> None:  # type: ignore[no-untyped-def]
    rows = records(600, 30, 50, seed=4, stamps=np.full(600, 5))
    split = split_new(spark.createDataFrame(rows, COLUMNS), None, 0.2, 7)
    assert split.method == local_split.RANDOM and "distinct timestamp" in split.reason
    assert split.test is not None and 0.1 * 600 < split.test_count < 0.3 * 600
    train_users = {r[0] for r in split.train_new.select("user").collect()}
    assert {r[0] for r in split.test.select("user").collect()} <= train_users
    pairs = {(r[0], r[1]) for r in split.test.collect()}
    assert not pairs & {(r[0], r[1]) for r in split.train_new.collect()}  # a pair's records go one way


def test_no_past_and_fraction_one_means_no_split(spark) -> None:  # type: ignore[no-untyped-def]
    split = split_new(spark.createDataFrame(records(50, 5, 5, seed=1), COLUMNS), None, 1.0, None)
    assert split.method == local_split.NONE and split.test is None
