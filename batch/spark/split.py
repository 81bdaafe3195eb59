"""batch.split's train/test rule on DataFrames: the DataFrame operations its :func:`batch.split.decide` asks for (the
rule itself, its constants and its choice of split live there only); only counts reach the driver.

The time split's boundary is the exact timestamp at position floor((1 - f) * n): an approximate quantile finds its
neighbourhood and a bounded sort there the exact value. The random per-user holdout keys each (user, item) pair with
a seeded hash (xxhash64) instead of numpy's generator: the same rule, not the same draws as the local engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Row, Window
from pyspark.sql import functions as F

from batch.split import NONE, decide

QUANTILE_ACCURACY = 1_000_000


@dataclass(frozen=True)
class FrameSplit:
    """The test records of this generation's new input (None: no split), how they were chosen, and why."""

    test: DataFrame | None
    train_new: DataFrame
    method: str
    reason: str
    test_count: int = 0

    @property
    def evaluating(self) -> bool:
        return self.method != NONE


def _aggregate(frame: DataFrame, *columns: Column) -> Row:
    """The one row of a global aggregation."""
    row = frame.agg(*columns).first()
    assert row is not None  # a global aggregation always yields one row
    return row


def kth_timestamp(new: DataFrame, k: int) -> int:
    """The k-th smallest timestamp (0-based) of ``new``, exactly."""
    guess = _aggregate(new, F.percentile_approx("timestamp", (k + 0.5) / max(1, new.count()), QUANTILE_ACCURACY))[0]
    below, through = _aggregate(new, F.sum((F.col("timestamp") < guess).cast("long")),
                                F.sum((F.col("timestamp") <= guess).cast("long")))
    if below <= k < through:
        return int(guess)
    if k >= through:
        rows = new.where(F.col("timestamp") > guess).select("timestamp").orderBy("timestamp").limit(k - through + 1).collect()
    else:
        rows = new.where(F.col("timestamp") < guess).select("timestamp").orderBy(F.desc("timestamp")).limit(below - k).collect()
    return int(rows[-1][0])


def random_holdout(new: DataFrame, fraction: float, seed: int | None) -> DataFrame:
    """``new`` with a boolean ``test`` column: a pair is test when its seeded key < fraction, except each user's pair
    with the smallest key."""
    key = (F.abs(F.xxhash64("user", "item", F.lit(0 if seed is None else seed))) % F.lit(1 << 52)) / F.lit(float(1 << 52))
    keyed = new.withColumn("_key", key)
    smallest = F.min("_key").over(Window.partitionBy("user"))
    return keyed.withColumn("test", (F.col("_key") < F.lit(fraction)) & (F.col("_key") > smallest)).drop("_key")


def _with_past(frame: DataFrame, past: DataFrame | None) -> DataFrame:
    return frame if past is None else past.unionByName(frame)


@dataclass
class _FrameOps:
    """batch.split.SplitOps over DataFrames: a mask is ``new`` with a boolean ``test`` column; only counts are collected."""

    new: DataFrame
    past: DataFrame | None
    _size: int | None = None

    def size(self) -> int:
        if self._size is None:
            self._size = self.new.count()
        return self._size

    def has_past(self) -> bool:
        return self.past is not None and self.past.limit(1).count() > 0

    def distinct_users(self) -> int:
        return int(self.new.select("user").distinct().count())

    def distinct_timestamps(self) -> int:
        return int(self.new.select("timestamp").distinct().count())

    def kth_timestamp(self, k: int) -> int:
        return kth_timestamp(self.new, k)

    def time_test(self, boundary: int, inclusive: bool) -> DataFrame:
        stamp = F.col("timestamp")
        return self.new.withColumn("test", stamp >= F.lit(boundary) if inclusive else stamp > F.lit(boundary))

    def random_test(self, fraction: float, seed: int | None) -> DataFrame:
        return random_holdout(self.new, fraction, seed)

    def all_test(self) -> DataFrame:
        return self.new.withColumn("test", F.lit(True))

    def count(self, test: DataFrame) -> int:
        return int(test.where("test").count())

    def evaluable(self, test: DataFrame) -> tuple[int, int]:
        held, train = test.where("test").drop("test"), _with_past(test.where(~F.col("test")).drop("test"), self.past)
        users, items = train.select("user").distinct(), train.select("item").distinct()
        scored = held.join(users, "user", "left_semi").join(items, "item", "left_semi")
        row = _aggregate(scored, F.count(F.lit(1)), F.countDistinct("user"))
        return int(row[0]), int(row[1])


def split_new(new: DataFrame, past: DataFrame | None, fraction: float, seed: int | None) -> FrameSplit:
    """Choose this generation's test records by batch.split's rule (batch.split.decide); logs which and why."""
    decision = decide(_FrameOps(new, past), fraction, seed)
    if decision.test is None:
        return FrameSplit(None, new, decision.method, decision.reason)
    marked = decision.test
    return FrameSplit(marked.where("test").drop("test"), marked.where(~F.col("test")).drop("test"), decision.method,
                      decision.reason, decision.test_count)
