"""Benchmark of the local ALS engine: seconds per iteration vs implicit and Spark MLlib, and ml-100k quality.

Run: .venv/bin/python scripts/bench/bench_als.py [--iterations 5] [--factors 50] [--synthetic-scale 1.0] [--no-spark]
Needs ../shared/data; the anchors need `pip install implicit pyspark==4.2.0` (benchmark-only dependencies).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit asks for it; our kernels do not use BLAS threads
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numba  # noqa: E402
from als_data import gowalla, ml100k_protocol_a, synthetic  # noqa: E402
from als_quality import quality_report  # noqa: E402
from als_speed import implicit_seconds, oryxpy_seconds, spark_seconds, spark_session  # noqa: E402


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:6.2f}x" if a and b else "   n/a"


def speed_report(args: argparse.Namespace) -> list[str]:
    scale = args.synthetic_scale
    sets = [
        ("ml100k", "ml-100k (protocol A train)", lambda: ml100k_protocol_a()[0]),
        ("gowalla", "gowalla train", gowalla),
        ("synthetic", f"synthetic ML-20M-like x{scale:g}",
         lambda: synthetic(int(138_000 * scale), int(27_000 * scale), int(9_000_000 * scale))),
    ]
    sets = [s[1:] for s in sets if s[0] in args.sets.split(",")]
    spark = None
    if not args.no_spark:
        try:
            spark = spark_session()
            spark.sparkContext.setLogLevel("ERROR")
        except Exception as exc:  # noqa: BLE001 - report and go on without the anchor
            print(f"Spark unavailable: {exc}")
    lines = [f"{'data':<34} {'users':>7} {'items':>6} {'nnz':>9} | {'oryxpy s/it':>11} {'implicit':>9} {'spark':>8} | "
             f"{'ours/impl':>9} {'spark/ours':>10}"]
    for name, load in sets:
        matrix = load()
        ours = oryxpy_seconds(matrix, args.factors, args.iterations)
        anchor = implicit_seconds(matrix, args.factors, args.iterations)
        sparks = None
        if spark is not None and matrix.nnz <= args.spark_max_nnz:
            sparks = spark_seconds(spark, matrix, args.factors, args.iterations)
        lines.append(f"{name:<34} {matrix.shape[0]:>7} {matrix.shape[1]:>6} {matrix.nnz:>9} | {ours:>11.3f} "
                     f"{anchor if anchor is not None else float('nan'):>9.3f} {sparks if sparks is not None else float('nan'):>8.3f} | "
                     f"{ratio(ours, anchor):>9} {ratio(sparks, ours):>10}")
        print(lines[-1], flush=True)
    if spark is not None:
        spark.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--factors", type=int, default=50)
    parser.add_argument("--synthetic-scale", type=float, default=1.0, help="fraction of ML-20M's size to generate")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--spark-max-nnz", type=int, default=2_000_000, help="skip Spark on larger data (too slow here)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--sets", default="ml100k,gowalla,synthetic", help="comma-separated: ml100k, gowalla, synthetic")
    args = parser.parse_args()
    print(f"setup: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numba threads "
          f"{numba.get_num_threads()}, python {platform.python_version()}; implicit ALS, {args.factors} factors, "
          f"CG 3 steps (ours and implicit), seconds per iteration = (t({args.iterations}+1 it) - t(1 it)) / {args.iterations}")
    started = time.perf_counter()
    speed_report(args)
    if not args.no_quality:
        print("\nquality, ml-100k protocol A (per item 75 % train, seed 42; top 10 excluding train items):")
        for line in quality_report():
            print(line, flush=True)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
