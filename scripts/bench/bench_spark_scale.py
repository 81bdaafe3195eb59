"""Does the Spark engine scale past the driver? Generation time and driver peak RSS for growing data, 1 vs 2 workers.

    .venv/bin/python scripts/bench/bench_spark_scale.py [--users 20000,40000,80000] [--features 64] [--workers 1,2]

Needs the standalone cluster of ``scripts/services.sh start spark`` (spark://127.0.0.1:7077); a second worker is
started here (and stopped again) for the 2-worker runs. Each run takes ``spark.cores.max`` = workers x executor cores,
so 1 worker means one 1-core executor and 2 workers one 1-core executor on each. Each run is a fresh Python driver
process (spark.driver.memory 512m) that builds one generation of generated implicit data on the executors: parse,
split, ALS, evaluation, the ID indices, X/ and Y/ written with DataFrame.write.parquet, model.pmml with its ID lists
streamed from the executors, and (with --kafka) MODEL or MODEL-REF plus UP messages sent from the executors.
--no-evaluate sets the test fraction to 0: one build, no evaluation and no refit.
It reports wall time, the float32 size of X and Y, the rows of the published X/ and Y/, the size of model.pmml, and the
peak RSS of the Python driver (ru_maxrss) and of its JVM (VmHWM). --no-up-messages publishes MODEL or MODEL-REF only
(``oryx.batch.publish-vectors = false``: consumers load X/ and Y/ from the model directory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MASTER, MASTER_UI = "spark://127.0.0.1:7077", "http://127.0.0.1:8480"
T0 = 1_600_000_000_000


def alive_workers() -> int:
    with urllib.request.urlopen(f"{MASTER_UI}/json/", timeout=5) as response:
        return int(json.load(response)["aliveworkers"])


def start_worker(folder: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    """A second standalone worker (1 core) registered with the master."""
    from pyspark.find_spark_home import _find_spark_home

    before = alive_workers()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(folder), "SPARK_LOG_DIR": str(folder)}
    command = [str(Path(_find_spark_home()) / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker", MASTER,
               "--host", "127.0.0.1", "--webui-port", "8482", "--cores", "1", "--memory", "3g", "--work-dir", str(folder)]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while alive_workers() <= before:
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError("the second worker did not register with the master")
        time.sleep(1)
    return worker


def jvm_peak_kb() -> int:
    """VmHWM of this driver's JVM (the py4j gateway child)."""
    from pyspark import SparkContext

    pid = SparkContext._gateway.proc.pid  # type: ignore[union-attr]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def published_model(spark: Any, config: Any) -> dict[str, object]:
    """Rows of the model's X/ and Y/ (Parquet footers, on the executors) and the size of its model.pmml."""
    from batch.mlupdate import MODEL_FILE
    from batch.spark.ids import file_length
    from oryxpy.storage import join_uri, name_of, storage_for

    storage = storage_for(config.model_dir, config)
    models = [uri for uri in storage.list(config.model_dir) if not name_of(uri).startswith(".")]
    if len(models) != 1:
        raise RuntimeError(f"expected one model in {config.model_dir}, found {models}")
    return {"x_rows": spark.read.parquet(join_uri(models[0], "X")).count(),
            "y_rows": spark.read.parquet(join_uri(models[0], "Y")).count(),
            "pmml_mb": round(file_length(spark, join_uri(models[0], MODEL_FILE)) / 2**20, 1)}


def one_run(args: argparse.Namespace) -> dict[str, object]:
    """The child: build one generation of ``args.users`` users on the cluster and report what it measured."""
    from pyspark.sql import functions as F

    from batch.spark.session import build_session
    from batch.spark.update import SparkALSUpdate
    from oryxpy.config import load_config
    from oryxpy.storage import join_uri, storage_for
    from oryxpy.topics import open_producer, setup_topics

    state = Path(tempfile.mkdtemp(prefix="oryx-bench-scale-"))
    sets = [f"oryx.embedded.state-dir={state}", "oryx.batch.engine=spark", f"oryx.batch.streaming.master={MASTER}",
            "oryx.batch.streaming.driver-memory=512m", f"oryx.batch.streaming.executor-memory={args.executor_memory}",
            f"oryx.batch.streaming.executor-cores={args.executor_cores}",
            f"oryx.batch.streaming.num-executors={args.workers}", "oryx.batch.ui.port=0",
            f"oryx.als.hyperparams.features={args.features}", f"oryx.als.iterations={args.iterations}",
            "oryx.als.seed=1", "oryx.ml.eval.candidates=1", f"oryx.batch.spark.als-blocks={2 * args.workers}",
            "oryx.batch.spark.config=spark.ui.enabled=false,spark.sql.shuffle.partitions=8,"
            f"spark.cores.max={args.workers * args.executor_cores}",
            f"oryx.batch.storage.model-dir={join_uri(args.model_dir, state.name) if args.model_dir else state / 'model'}"]
    if not args.evaluate:
        sets.append("oryx.ml.eval.test-fraction=0")
    if not args.up_messages:
        sets.append("oryx.batch.publish-vectors=false")
    if args.kafka:
        suffix = uuid.uuid4().hex[:8]
        sets += [f"oryx.input-topic.broker={args.kafka}", f"oryx.update-topic.broker={args.kafka}",
                 f"oryx.input-topic.message.topic=BenchIn-{suffix}", f"oryx.update-topic.message.topic=BenchUp-{suffix}"]
    else:
        sets += ["oryx.update-topic.broker="]
    config = load_config(environ={}, sets=sets)
    if args.kafka:
        setup_topics(config)
    spark = build_session(config)
    spark.sparkContext.setLogLevel("ERROR")
    records = args.users * args.per_user
    ids = spark.range(0, records, numPartitions=max(4, records // 200_000))
    item = (F.xxhash64("id") % F.lit(args.items) + F.lit(args.items)) % F.lit(args.items)
    line = F.concat_ws(",", F.concat(F.lit("u"), (F.col("id") % F.lit(args.users)).cast("string")),
                       F.concat(F.lit("i"), item.cast("string")), F.lit("1"), (F.lit(T0) + F.col("id")).cast("string"))
    frame = ids.select(F.lit(None).cast("string").alias("key"), line.alias("value"), F.lit(T0).alias("gen"))
    producer = open_producer(config, "update") if args.kafka else None
    started = time.perf_counter()
    SparkALSUpdate(config).run_update(T0, frame, None, config.model_dir, producer)
    seconds = time.perf_counter() - started
    if producer is not None:
        producer.close()
    model = published_model(spark, config)
    result = {"users": args.users, "items": args.items, "records": records, "features": args.features,
              "workers": args.workers, "seconds": round(seconds, 1),
              "xy_float32_mb": round((args.users + args.items) * args.features * 4 / 2**20, 1),
              "driver_python_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "driver_jvm_peak_rss_mb": round(jvm_peak_kb() / 1024, 1), "published": bool(args.kafka),
              "up_messages": bool(args.kafka) and args.up_messages, **model}
    storage_for(config.model_dir, config).delete(config.model_dir)  # hundreds of MB per run at the larger sizes
    spark.stop()
    shutil.rmtree(state, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="20000,40000,80000", help="comma-separated user counts (three sizes)")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--per-user", type=int, default=5, help="records per user")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (at most 2)")
    parser.add_argument("--executor-cores", type=int, default=1)
    parser.add_argument("--kafka", default="127.0.0.1:9092", help="broker for publishing ('' to skip publishing)")
    parser.add_argument("--executor-memory", default="2g", help="memory of each executor (one per worker)")
    parser.add_argument("--evaluate", action=argparse.BooleanOptionalAction, default=True,
                        help="hold out a test part, evaluate, refit on all data (--no-evaluate: test-fraction 0, one build)")
    parser.add_argument("--up-messages", action=argparse.BooleanOptionalAction, default=True,
                        help="publish UP messages from the executors after MODEL/MODEL-REF (--no-up-messages: skip)")
    parser.add_argument("--model-dir", default="", help="model directory URI (default: a temporary local folder)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.users, args.workers = int(args.users), int(args.workers)
        print("RESULT " + json.dumps(one_run(args)), flush=True)  # noqa: T201
        return
    if alive_workers() < 1:
        sys.exit("no standalone cluster: run `bash scripts/services.sh start spark` first")
    results, extra = [], None
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            if workers == 2 and extra is None:
                extra = start_worker(Path(tempfile.mkdtemp(prefix="oryx-bench-worker-")))
            for users in args.users.split(","):
                argv = [sys.executable, __file__, "--child", "--users", users, "--workers", str(workers)]
                for name in ("items", "per_user", "features", "iterations", "executor_cores", "kafka", "model_dir"):
                    argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
                argv += ["--executor-memory", args.executor_memory, "--up-messages" if args.up_messages else "--no-up-messages",
                         "--evaluate" if args.evaluate else "--no-evaluate"]
                done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)
                lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                if done.returncode != 0 or not lines:
                    sys.exit(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")
                results.append(json.loads(lines[-1][len("RESULT "):]))
                print(json.dumps(results[-1]), flush=True)  # noqa: T201
    finally:
        if extra is not None:
            extra.terminate()
            extra.wait(30)
    header = f"{'workers':>7} {'users':>9} {'X+Y MB':>8} {'seconds':>8} {'py RSS MB':>10} {'JVM RSS MB':>11}"
    print(header)  # noqa: T201
    for r in results:
        print(f"{r['workers']:>7} {r['users']:>9} {r['xy_float32_mb']:>8} {r['seconds']:>8} "  # noqa: T201
              f"{r['driver_python_peak_rss_mb']:>10} {r['driver_jvm_peak_rss_mb']:>11}")


if __name__ == "__main__":
    main()
