"""Wall time of one batch generation on gowalla: the Spark engine (local[N]) next to the local engine.

    .venv/bin/python scripts/bench/bench_spark_generation.py [--data PATH] [--features 50] [--master local[2]]

Both engines get the same implicit interactions (train.txt: 719,081; random timestamps over 30 days, seed 0) as one
generation with no past data, the default hyper-parameters (or --features), the default test fraction 0.1, and no
update topic (publishing is not timed). Timed: store the generation's input in data-dir, parse, aggregate, train, evaluate, write
the model directory. The Spark side reads its input from a Parquet file (as it would from Kafka; untimed setup).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from batch.mlupdate import METRICS_FILE
from batch.runner import BatchRunner
from oryxpy.config import Config, load_config
from oryxpy.interfaces import INPUT_SCHEMA
from oryxpy.storage import join_uri, name_of, storage_for

T0 = 1_600_000_000_000
MONTH_MS = 30 * 86_400_000
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gowalla" / "train.txt"


def gowalla_records(path: Path, seed: int = 0) -> list[str]:
    """``user item1 item2 ...`` lines as input records ``user,item,1,timestamp``."""
    rng = np.random.default_rng(seed)
    records: list[str] = []
    for line in path.read_text().splitlines():
        user, *items = line.split()
        stamps = T0 + rng.integers(0, MONTH_MS, len(items))
        records.extend(f"{user},{item},1,{stamp}" for item, stamp in zip(items, stamps, strict=True))
    return records


def config_for(state: Path, engine: str, args: argparse.Namespace) -> Config:
    sets = [f"oryx.embedded.state-dir={state}", f"oryx.batch.engine={engine}", "oryx.update-topic.broker=",
            f"oryx.als.hyperparams.features={args.features}", "oryx.als.seed=1"]
    if engine == "spark":  # the input broker is only checked, never contacted: batches are handed over directly
        sets += ["oryx.input-topic.broker=127.0.0.1:9092", f"oryx.batch.streaming.master={args.master}",
                 f"oryx.batch.spark.als-blocks={args.blocks}", f"oryx.batch.streaming.driver-memory={args.driver_memory}",
                 f"oryx.batch.spark.config=spark.ui.enabled=false,spark.sql.shuffle.partitions={args.shuffle_partitions}"]
    return load_config(environ={}, sets=sets)


def model_metrics(config: Config) -> dict[str, float]:
    storage = storage_for(config.model_dir, config)
    models = [u for u in storage.list(config.model_dir) if not name_of(u).startswith(".")]
    metrics: dict[str, float] = json.loads(storage.read_text(join_uri(models[-1], METRICS_FILE)))["metrics"]
    return metrics


def run_local(table: pa.Table, state: Path, args: argparse.Namespace) -> tuple[float, dict[str, float]]:
    config = config_for(state, "local", args)
    runner = BatchRunner(config)
    try:
        started = time.perf_counter()
        runner.store_generation(T0 + MONTH_MS, table, [])
        runner.update.run_update(T0 + MONTH_MS, table, None, config.model_dir, None)
        elapsed = time.perf_counter() - started
    finally:
        runner.close()
    return elapsed, model_metrics(config)


def run_spark(table: pa.Table, state: Path, args: argparse.Namespace) -> tuple[float, float, dict[str, float]]:
    from batch.spark.session import build_session
    from batch.spark.stream import SparkBatchLayer

    config = config_for(state, "spark", args)
    state.mkdir(parents=True, exist_ok=True)
    source = state / "source.parquet"
    pq.write_table(table, source)
    started = time.perf_counter()
    spark = build_session(config)
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    try:
        layer = SparkBatchLayer(spark, config)
        batch = spark.read.parquet(str(source))
        started = time.perf_counter()
        layer.run_generation(batch, 0)
        elapsed = time.perf_counter() - started
    finally:
        spark.stop()
    return startup, elapsed, model_metrics(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    records = gowalla_records(args.data)
    table = pa.table({"key": pa.nulls(len(records), pa.string()), "value": records}, schema=INPUT_SCHEMA)
    print(f"data: {args.data} -> {len(records):,} interactions; features {args.features}, iterations 10, test-fraction 0.1")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; Spark {args.master}, "
          f"{args.blocks} ALS blocks, {args.shuffle_partitions} shuffle partitions")
    print(f"{'engine':<8} {'generation s':>13} {'AUC':>7} {'nDCG@10':>8}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        local_s = None
        if not args.skip_local:
            local_s, metrics = run_local(table, Path(tmp) / "local", args)
            print(f"{'local':<8} {local_s:>13.1f} {metrics['auc']:>7.4f} {metrics['ndcg@10']:>8.4f}", flush=True)
        startup, spark_s, metrics = run_spark(table, Path(tmp) / "spark", args)
    print(f"{'spark':<8} {spark_s:>13.1f} {metrics['auc']:>7.4f} {metrics['ndcg@10']:>8.4f}"
          f"   (+ {startup:.1f} s session start, once per job)")
    if local_s is not None:
        print(f"spark / local: {spark_s / local_s:.1f}x")

if __name__ == "__main__":
    main()
