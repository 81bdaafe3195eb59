"""batch.split's train/test rule as DataFrame operations (see that module for the rule); only counts reach the driver.

The time split's boundary is the exact timestamp at position floor((1 - f) * n): an approximate quantile finds its
neighbourhood and a bounded sort there the exact value. The random per-user holdout keys each (user, item) pair with
a seeded hash (xxhash64) instead of numpy's generator: the same rule, not the same draws as the local engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from batch.split import MIN_DISTINCT, MIN_EVALUABLE, MIN_USER_SHARE, NONE, RANDOM, TIME

log = logging.getLogger(__name__)

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


def kth_timestamp(new: DataFrame, k: int) -> int:
    """The k-th smallest timestamp (0-based) of ``new``, exactly."""
    guess = new.agg(F.percentile_approx("timestamp", (k + 0.5) / max(1, new.count()), QUANTILE_ACCURACY)).first()[0]
    below, through = new.agg(F.sum((F.col("timestamp") < guess).cast("long")),
                             F.sum((F.col("timestamp") <= guess).cast("long"))).first()
    if below <= k < through:
        return int(guess)
    if k >= through:
        rows = new.where(F.col("timestamp") > guess).select("timestamp").orderBy("timestamp").limit(k - through + 1).collect()
    else:
        rows = new.where(F.col("timestamp") < guess).select("timestamp").orderBy(F.desc("timestamp")).limit(below - k).collect()
    return int(rows[-1][0])


def _evaluable(test: DataFrame, train: DataFrame) -> tuple[int, int]:
    """(test records, distinct users) whose user and item also occur in the train part."""
    users, items = train.select("user").distinct(), train.select("item").distinct()
    scored = test.join(users, "user", "left_semi").join(items, "item", "left_semi")
    row = scored.agg(F.count(F.lit(1)), F.countDistinct("user")).first()
    return int(row[0]), int(row[1])


def _time_split(new: DataFrame, n: int, fraction: float) -> tuple[Column | None, str]:
    distinct = new.select("timestamp").distinct().count()
    if distinct < MIN_DISTINCT:
        return None, f"only {distinct} distinct timestamp(s) (< {MIN_DISTINCT})"
    boundary = kth_timestamp(new, min(max(int((1 - fraction) * n), 1), n - 1))
    test = F.col("timestamp") >= F.lit(boundary)
    count = new.where(test).count()
    if count / n > 2 * fraction:
        test = F.col("timestamp") > F.lit(boundary)
        count = new.where(test).count()
    share = count / n
    if not fraction / 2 <= share <= 2 * fraction:
        return None, f"timestamps tie too much: the time split's test share is {share:.3f}, not about {fraction}"
    return test, f"timestamps separate: boundary {boundary} ms (the {1 - fraction:g} quantile)"


def random_holdout(new: DataFrame, fraction: float, seed: int | None) -> DataFrame:
    """``new`` with a boolean ``test`` column: a pair is test when its seeded key < fraction, except each user's pair
    with the smallest key."""
    key = (F.abs(F.xxhash64("user", "item", F.lit(0 if seed is None else seed))) % F.lit(1 << 52)) / F.lit(float(1 << 52))
    keyed = new.withColumn("_key", key)
    smallest = F.min("_key").over(Window.partitionBy("user"))
    return keyed.withColumn("test", (F.col("_key") < F.lit(fraction)) & (F.col("_key") > smallest)).drop("_key")


def split_new(new: DataFrame, past: DataFrame | None, fraction: float, seed: int | None) -> FrameSplit:
    """Choose this generation's test records by batch.split's rule; logs which split was used and why."""
    split = _choose(new, past, fraction, seed)
    if split.method == NONE:
        log.warning("no test split (%s): building on all new records without evaluation", split.reason)
    else:
        log.info("%s split: %d new records are test (%s)", split.method, split.test_count, split.reason)
    return split


def _with_past(frame: DataFrame, past: DataFrame | None) -> DataFrame:
    return frame if past is None else past.unionByName(frame)


def _choose(new: DataFrame, past: DataFrame | None, fraction: float, seed: int | None) -> FrameSplit:
    if fraction <= 0:
        return FrameSplit(None, new, NONE, "oryx.ml.eval.test-fraction is 0")
    n = new.count()
    if n == 0:
        return FrameSplit(None, new, NONE, "no new input in this generation")
    if fraction >= 1:
        if past is None or past.limit(1).count() == 0:
            return FrameSplit(None, new, NONE, "test-fraction 1 with no past data would leave nothing to train on")
        return FrameSplit(new, new.limit(0), TIME, "test-fraction 1: all new input is test", n)
    test, why = _time_split(new, n, fraction)
    if test is not None:
        train_new, held = new.where(~test), new.where(test)
        evaluable, scored_users = _evaluable(held, _with_past(train_new, past))
        new_users = new.select("user").distinct().count()
        if evaluable >= MIN_EVALUABLE and scored_users >= MIN_USER_SHARE * new_users:
            return FrameSplit(held, train_new, TIME, why, held.count())
        if evaluable < MIN_EVALUABLE:
            why = f"the time split leaves only {evaluable} test record(s) of known users and items (< {MIN_EVALUABLE})"
        else:
            why = (f"the time split's test scores only {scored_users} users, under {MIN_USER_SHARE:.0%} of the "
                   f"{new_users} users")
    marked = random_holdout(new, fraction, seed)
    held, train_new = marked.where("test").drop("test"), marked.where(~F.col("test")).drop("test")
    evaluable = _evaluable(held, _with_past(train_new, past))[0]
    if evaluable >= MIN_EVALUABLE:
        return FrameSplit(held, train_new, RANDOM, f"{why}; using a seeded random per-user holdout", held.count())
    return FrameSplit(None, new, NONE, f"{why}, and a random per-user holdout leaves only {evaluable} "
                                       f"evaluable test record(s) (< {MIN_EVALUABLE}): evaluation is impossible")
