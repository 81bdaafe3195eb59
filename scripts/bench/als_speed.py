"""ALS benchmark, speed part: seconds per implicit ALS iteration for oryxpy, the `implicit` library and Spark MLlib."""

from __future__ import annotations

import time
from collections.abc import Callable

import scipy.sparse as sp

from batch.als.engine import ALSParams, train_als


def repeats_for(matrix: sp.csr_matrix) -> int:
    """More repeats (keeping the best) for small data, whose timings the shared machine's load disturbs most."""
    return 5 if matrix.nnz < 200_000 else 2 if matrix.nnz < 2_000_000 else 1


def per_iteration(fit: Callable[[int], object], iterations: int, repeats: int = 1) -> float:
    """(time of iterations + 1) - (time of 1 iteration), divided by iterations: setup costs cancel out; best of repeats."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fit(1)
        one = time.perf_counter() - started
        started = time.perf_counter()
        fit(iterations + 1)
        best = min(best, max(0.0, time.perf_counter() - started - one) / iterations)
    return best


def oryxpy_seconds(matrix: sp.csr_matrix, factors: int, iterations: int, cg_steps: int = 3) -> float:
    train_als(matrix[:50, :50], ALSParams(factors, 0.1, 1.0, True, 1, 0, cg_steps))  # compile outside the timing
    return per_iteration(lambda n: train_als(matrix, ALSParams(factors, 0.1, 1.0, True, n, 0, cg_steps)), iterations,
                         repeats_for(matrix))


def implicit_seconds(matrix: sp.csr_matrix, factors: int, iterations: int) -> float | None:
    try:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None

    def fit(n: int) -> None:
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(factors=factors, regularization=0.1, alpha=1.0, iterations=n, use_cg=True,
                                    num_threads=2, random_state=0).fit(matrix, show_progress=False)

    return per_iteration(fit, iterations, repeats_for(matrix))


def spark_session():  # pragma: no cover - benchmark only
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[2]").appName("oryxpy-bench-als")
            .config("spark.driver.memory", "6g").config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4").config("spark.ui.showConsoleProgress", "false").getOrCreate())


def spark_seconds(spark, matrix: sp.csr_matrix, factors: int, iterations: int) -> float:  # pragma: no cover
    from pyspark.ml.recommendation import ALS

    coo = matrix.tocoo()
    frame = spark.createDataFrame(list(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)),
                                  ["user", "item", "rating"]).repartition(4).cache()
    frame.count()

    def fit(n: int) -> None:
        ALS(rank=factors, maxIter=n, regParam=0.1, alpha=1.0, implicitPrefs=True, userCol="user", itemCol="item",
            ratingCol="rating", seed=0, numUserBlocks=4, numItemBlocks=4).fit(frame).userFactors.count()

    fit(1)  # JVM warm-up, else the 1-iteration run is the slower one
    seconds = per_iteration(fit, iterations)
    frame.unpersist()
    return seconds
