"""ALS input preparation as DataFrame operations, with the local engine's rules (batch.interactions, spec 3.3)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from batch.als.scale import HEAVY_TAIL, StrengthScale
from batch.interactions import DAY_MS, parse_events

#: Parsed events; ``gen`` is the generation's timestamp and ``seq`` the arrival order (ties of equal timestamps).
EVENT_SCHEMA = pa.schema([("user", pa.string()), ("item", pa.string()), ("strength", pa.float64()),
                          ("timestamp", pa.int64()), ("gen", pa.int64())])
_EVENT_DDL = "user string, item string, strength double, timestamp long, gen long"


def _order() -> Column:
    """The time order of events: timestamp, then generation, then arrival."""
    return F.struct("timestamp", "gen", "seq")


def _parse_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: parse each record with the local engine's parser (bad records are logged and skipped)."""
    for batch in batches:
        values = np.array(batch.column("value").to_pylist(), dtype=object)
        gens = batch.column("gen").to_numpy(zero_copy_only=False)
        for gen in np.unique(gens):
            chosen = values[(gens == gen) & (values != None)]  # noqa: E711 - elementwise
            events, _ = parse_events(chosen.tolist(), f"stored input of generation {gen}")
            yield pa.record_batch([pa.array(events.users.tolist(), pa.string()), pa.array(events.items.tolist(), pa.string()),
                                   pa.array(events.strength), pa.array(events.timestamp),
                                   pa.array(np.full(len(events), gen, dtype=np.int64))], schema=EVENT_SCHEMA)


def parse_input(stored: DataFrame) -> DataFrame:
    """Stored input (``value`` and ``gen`` columns) as events: user, item, strength (NaN = delete), timestamp, gen, seq."""
    events = stored.select("value", "gen").mapInArrow(_parse_batches, _EVENT_DDL)
    return events.withColumn("seq", F.monotonically_increasing_id())


def decay_and_threshold(events: DataFrame, factor: float, zero_threshold: float, now_ms: int) -> DataFrame:
    """Strengths times ``factor ** days_old``, then drop those at or below ``zero_threshold`` in magnitude (deletes stay)."""
    if factor < 1.0:
        age_days = F.greatest(F.lit(now_ms) - F.col("timestamp"), F.lit(0)) / F.lit(DAY_MS)
        events = events.withColumn("strength", F.col("strength") * F.pow(F.lit(factor), age_days))
    if zero_threshold > 0:
        events = events.where(F.isnan("strength") | (F.abs("strength") > F.lit(zero_threshold)))
    return events


def aggregate(events: DataFrame, implicit: bool) -> DataFrame:
    """(user, item, value) per pair in time order: implicit sums the strengths since the last delete, explicit keeps
    the last value; a pair whose last event is a delete is dropped."""
    if implicit:
        last_delete = F.max(F.when(F.isnan("strength"), _order())).over(Window.partitionBy("user", "item"))
        alive = events.withColumn("last_delete", last_delete).where(
            F.col("last_delete").isNull() | (_order() > F.col("last_delete")))
        return alive.groupBy("user", "item").agg(F.sum("strength").alias("value"))
    last = events.groupBy("user", "item").agg(F.max_by("strength", _order()).alias("value"))
    return last.where(~F.isnan("value"))


def log_strength(ratings: DataFrame, epsilon: float) -> DataFrame:
    """value -> ln(1 + value / epsilon); pairs without a logarithm (value <= -epsilon) are dropped."""
    logged = ratings.withColumn("value", F.log1p(F.col("value") / F.lit(epsilon)))
    return logged.where(F.col("value").isNotNull() & ~F.isnan("value") & (F.abs("value") < F.lit(float("inf"))))


def known_items(events: DataFrame) -> DataFrame:
    """(user, known): each user's items whose last event is not a delete, sorted."""
    last = events.groupBy("user", "item").agg(F.max_by("strength", _order()).alias("last"))
    return last.where(~F.isnan("last")).groupBy("user").agg(F.array_sort(F.collect_list("item")).alias("known"))


def strength_scale(ratings: DataFrame, mode: str, implicit: bool, log_strength: bool, epsilon: float) -> StrengthScale:
    """batch.als.scale.choose_scale on the executors: median, 99th percentile (exact, interpolated as numpy's) and
    mean of the aggregated positive strengths reach the driver, never the strengths."""
    configured = StrengthScale(log_strength, epsilon, 1.0, "strengths as configured")
    if mode == "none" or not implicit:
        return configured
    positive = ratings.where(~F.isnan("value") & (F.col("value") > 0) & (F.abs("value") < F.lit(float("inf"))))
    summary = positive.agg(F.count("*"), F.percentile("value", [0.5, 0.99])).first()
    assert summary is not None  # a global aggregate has one row
    count, quantiles = summary
    if not count:
        return configured
    median, p99 = float(quantiles[0]), float(quantiles[1])
    heavy = not log_strength and p99 > HEAVY_TAIL * median
    if heavy:
        log_strength, epsilon = True, median
    transformed = F.log1p(F.col("value") / F.lit(epsilon)) if log_strength else F.col("value")
    mean_row = positive.agg(F.avg(transformed)).first()
    mean = mean_row[0] if mean_row is not None else None
    if mean is None or not mean > 0 or not math.isfinite(mean):
        return StrengthScale(log_strength, epsilon, 1.0, "strengths as configured (no usable mean)")
    how = (f"heavy-tailed strengths (99th percentile > {HEAVY_TAIL:g} x median {median:g}): log strength, "
           f"epsilon {epsilon:g}; " if heavy else "")
    return StrengthScale(log_strength, epsilon, float(mean), f"{how}alpha in units of the mean strength {mean:.4g}")
