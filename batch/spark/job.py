"""The batch layer's Spark application, started by spark-submit: job.py --config-json FILE."""

from __future__ import annotations

import sys
from pathlib import Path

# spark-submit puts this file's folder first on sys.path, where data.py / update.py would shadow other modules.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402

from oryxpy.config import Config, default_config  # noqa: E402

log = logging.getLogger("batch.spark.job")


def load_config_json(path: str) -> Config:
    """The config written by :func:`batch.spark.submit.write_config`, validated again."""
    with open(path, encoding="utf-8") as fh:
        return default_config().with_overrides(json.load(fh), source=path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="batch.spark.job", description=__doc__)
    parser.add_argument("--config-json", required=True, help="the batch layer's configuration as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config_json(args.config_json)

    from pyspark.sql import SparkSession

    from batch.spark.stream import SparkBatchLayer

    spark = SparkSession.builder.getOrCreate()  # settings come from spark-submit
    try:
        query = SparkBatchLayer(spark, config).start()
        query.awaitTermination()
        log.info("batch layer on Spark: streaming query ended")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
