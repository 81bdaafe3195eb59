"""Spark settings of the batch layer from its config (shared by spark-submit and in-process sessions)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from oryxpy.config import Config
from oryxpy.errors import ConfigError

#: The Kafka source must match the installed Spark exactly (pyproject pins pyspark 4.2.0; Scala 2.13).
KAFKA_PACKAGE = f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"
DEFAULT_JARS_DIR = Path(__file__).resolve().parents[2] / ".infra" / "spark-kafka"
#: Settings that spark-submit takes as its own flags.
SUBMIT_FLAGS = {"spark.master": "--master", "spark.submit.deployMode": "--deploy-mode", "spark.app.name": "--name"}


def is_local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def local_threads(master: str) -> int:
    """The worker threads of a local master: local = 1, local[N] and local[N,F] = N, local[*] = the cores."""
    inside = master.partition("[")[2].rstrip("]").split(",")[0]
    if inside == "*":
        return os.cpu_count() or 1
    return int(inside) if inside.isdigit() and int(inside) > 0 else 1


def kafka_jars(config: Config) -> list[str]:
    """The connector jars fetched by scripts/fetch-spark-kafka.sh, or [] when the folder holds none."""
    folder = Path(config.settings.batch.spark.kafka_jars_dir or DEFAULT_JARS_DIR)
    return sorted(str(p) for p in folder.glob("*.jar")) if folder.is_dir() else []


def extra_conf(config: Config) -> dict[str, str]:
    """``oryx.batch.spark.config``: 'key=value,key=value'."""
    text = config.settings.batch.spark.config
    result: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise ConfigError(f"oryx.batch.spark.config: {item.strip()!r} is not spark.<name>=<value>")
        result[key.strip()] = value.strip()
    return result


def spark_conf(config: Config) -> dict[str, str]:
    """Every Spark setting the batch job runs with."""
    master = config.settings.batch.streaming.master
    dynamic = config.settings.batch.streaming.dynamic_allocation
    conf = {
        "spark.master": master,
        "spark.submit.deployMode": config.settings.batch.streaming.deploy_mode,
        "spark.app.name": f"OryxBatchLayer-{config.settings.id or 'oryxpy'}",
        "spark.driver.memory": config.settings.batch.streaming.driver_memory,
        "spark.executor.memory": config.settings.batch.streaming.executor_memory,
        "spark.executor.cores": str(config.settings.batch.streaming.executor_cores),
        "spark.dynamicAllocation.enabled": str(dynamic).lower(),
        "spark.ui.port": str(config.settings.batch.ui.port),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # a broadcast join builds its table on the driver: with models larger than the driver, shuffle joins only
        "spark.sql.autoBroadcastJoinThreshold": "-1",
    }
    if dynamic:
        conf["spark.dynamicAllocation.shuffleTracking.enabled"] = "true"
    else:
        conf["spark.executor.instances"] = str(config.settings.batch.streaming.num_executors)
    if is_local_master(master):
        conf["spark.pyspark.python"] = sys.executable  # the driver's environment has oryxpy and its dependencies
        # Spark's default of 200 shuffle partitions makes every join and groupBy 200 tasks: on one machine that
        # turns a small generation into thousands of tasks (minutes); oryx.batch.spark.config may still set it
        conf["spark.sql.shuffle.partitions"] = str(2 * local_threads(master))
    jars = kafka_jars(config)
    if jars:
        conf["spark.jars"] = ",".join(jars)
    else:
        conf["spark.jars.packages"] = KAFKA_PACKAGE
    conf.update(extra_conf(config))
    return conf


def build_session(config: Config) -> SparkSession:
    """An in-process SparkSession with the batch job's settings (tests, benchmarks); binds to 127.0.0.1 by default."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment's packages
    builder = SparkSession.builder
    for key, value in spark_conf(config).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
