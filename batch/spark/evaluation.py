"""Evaluation of a vector model as DataFrame operations on the executors (the local engine's batch.evaluation rules).

Inputs are in the model's index space: ``pairs`` (u, i, value) are the test pairs whose user and item the model knows,
``x`` (u, x) and ``y`` (i, y) the factors, ``exclude`` (u, i) the trained-on pairs. Only numbers reach the driver.
"""

from __future__ import annotations

import math

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import Column, DataFrame, Row, Window
from pyspark.sql import functions as F

#: Extra negatives drawn per positive before those the user has are dropped (rejection sampling).
OVERSAMPLE = 2
#: Negatives per user at least: the estimate has the local engine's expectation with less sampling noise.
MIN_NEGATIVES = 100
#: At most this many trained-on items are skipped in a user's top k (more would make every user's list that long).
MAX_EXCLUDED = 5_000


def _aggregate(frame: DataFrame, *columns: Column) -> Row:
    """The one row of a global aggregate."""
    row = frame.agg(*columns).first()
    if row is None:
        raise AssertionError("a global aggregate returned no row")
    return row


def dot(left: str, right: str) -> Column:
    """The dot product of two float arrays, in double precision."""
    return F.expr(f"aggregate(zip_with({left}, {right}, (a, b) -> cast(a AS double) * b), cast(0 AS double), (s, v) -> s + v)")


def _scored(pairs: DataFrame, x: DataFrame, y: DataFrame) -> DataFrame:
    return pairs.join(x, "u").join(y, "i").withColumn("score", dot("x", "y"))


def mean_auc(pairs: DataFrame, x: DataFrame, y: DataFrame, seed: int | None) -> float:
    """Oryx's mean per-user AUC: each test pair is a positive; negatives are drawn uniformly from the test set's items
    the user has not got (as many as positives, at least MIN_NEGATIVES: the same expectation, less noise); a (positive, negative) pair counts when the positive scores higher.
    Users left without negatives are skipped; NaN when no user can be scored."""
    positives = pairs.select("u", "i")
    pool = positives.select("i").distinct()
    size = pool.count()
    if size == 0:
        return math.nan
    numbered = pool.rdd.map(lambda row: row[0]).zipWithIndex().toDF(["i", "p"])
    wanted = positives.groupBy("u").agg(F.greatest(F.count("*"), F.lit(MIN_NEGATIVES)).alias("n"))
    draws = (wanted.select("u", "n", F.explode(F.sequence(F.lit(1), F.col("n") * OVERSAMPLE + 10)).alias("draw"))
             .withColumn("p", F.floor(F.rand(seed if seed is not None else 0) * F.lit(size)).cast("long")))
    candidates = draws.join(numbered, "p").join(positives, ["u", "i"], "left_anti")
    first = Window.partitionBy("u").orderBy("draw")
    negatives = candidates.withColumn("k", F.row_number().over(first)).where(F.col("k") <= F.col("n")).select("u", "i")
    pos = _scored(positives, x, y).groupBy("u").agg(F.collect_list("score").alias("pos"))
    neg = _scored(negatives, x, y).groupBy("u").agg(F.collect_list("score").alias("neg"))
    wins = F.expr("aggregate(pos, 0L, (s, p) -> s + size(filter(neg, n -> p > n)))")
    per_user = pos.join(neg, "u").select((wins / (F.size("pos") * F.size("neg"))).alias("auc"))
    value = _aggregate(per_user, F.avg("auc"))[0]
    return math.nan if value is None else float(value)


def rmse(pairs: DataFrame, x: DataFrame, y: DataFrame) -> float:
    """Root mean squared error of the dot-product predictions; NaN for no pairs."""
    value = _aggregate(_scored(pairs, x, y), F.sqrt(F.avg((F.col("score") - F.col("value")) ** 2)))[0]
    return math.nan if value is None else float(value)


def top_k(model: ALSModel, users: DataFrame, exclude: DataFrame, k: int) -> DataFrame:
    """(u, rank, i): each given user's k best items (rank 0 first) that are not in ``exclude``; MLlib's blocked
    recommendForUserSubset asks for k plus the most excluded items any of these users has."""
    excluded = exclude.join(users, "u", "left_semi")
    most = _aggregate(excluded.groupBy("u").count(), F.max("count"))[0] or 0
    asked = k + min(int(most), MAX_EXCLUDED)
    recs = model.recommendForUserSubset(users, asked)
    exploded = recs.select("u", F.posexplode("recommendations").alias("pos", "rec")).select(
        "u", "pos", F.col("rec").getField("i").alias("i"))
    kept = exploded.join(excluded, ["u", "i"], "left_anti")
    order = Window.partitionBy("u").orderBy("pos")
    return kept.withColumn("rank", F.row_number().over(order) - 1).where(F.col("rank") < k).select("u", "rank", "i")


def ranking_metrics(model: ALSModel, relevant: DataFrame, exclude: DataFrame, items: int, k: int = 10) -> dict[str, float]:
    """Mean nDCG@k (binary gains, log2 discount), precision@k, recall@k and MAP@k over users with a relevant item
    (``relevant``: distinct (u, i)); recall divides by the user's relevant items, average precision by min(k, them)."""
    names = [f"{name}@{k}" for name in ("ndcg", "precision", "recall", "map")]
    counts = relevant.groupBy("u").agg(F.count("*").alias("n_rel"))
    if items == 0 or counts.limit(1).count() == 0:
        return dict.fromkeys(names, math.nan)
    shown = min(k, items)
    ranked = top_k(model, counts.select("u"), exclude, shown)
    flagged = ranked.join(relevant.withColumn("hit", F.lit(1)), ["u", "i"], "left").fillna(0, ["hit"])
    cumulative = F.sum("hit").over(Window.partitionBy("u").orderBy("rank").rowsBetween(Window.unboundedPreceding, 0))
    flagged = flagged.withColumn("cum", cumulative)
    per_user = flagged.groupBy("u").agg(
        F.sum(F.col("hit") / F.log2(F.col("rank") + 2)).alias("dcg"), F.sum("hit").alias("hits"),
        F.sum(F.col("hit") * F.col("cum") / (F.col("rank") + 1)).alias("ap"))
    per_user = counts.join(per_user, "u", "left").fillna(0, ["dcg", "hits", "ap"])
    ideal = F.expr(f"aggregate(sequence(1, least(n_rel, {shown})), cast(0 AS double), (s, j) -> s + 1 / log2(j + 1))")
    row = _aggregate(
        per_user, F.avg(F.col("dcg") / ideal), F.avg(F.col("hits") / F.lit(k)), F.avg(F.col("hits") / F.col("n_rel")),
        F.avg(F.col("ap") / F.least(F.col("n_rel"), F.lit(k))))
    return {name: float(value) for name, value in zip(names, row, strict=True)}
