"""The input topic's offsets recorded with each stored generation, and where a query without a checkpoint starts.

Each generation's directory holds ``_offsets.json`` ({"topic": ..., "until": {partition: next offset}}), the file the
local engine writes (batch.runner.OFFSETS_FILE), so either engine knows what the stored input already holds. Spark
skips files whose names start with ``_`` when it reads the directory as Parquet.
"""

from __future__ import annotations

import json
import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from batch.runner import OFFSETS_FILE, generation_dirs
from oryxpy.config import Config
from oryxpy.errors import OryxError
from oryxpy.storage import Storage, join_uri
from oryxpy.topics import open_consumer

log = logging.getLogger(__name__)

#: Kafka's startingOffsets JSON for a partition's earliest and latest offsets.
EARLIEST, LATEST = -2, -1


def record_offsets(storage: Storage, generation_uri: str, topic: str, batch: DataFrame) -> dict[int, int]:
    """Write the next offset per partition after ``batch`` (columns partition, offset) to the generation's
    ``_offsets.json``; computed on the executors, one number per partition reaches the driver."""
    rows = batch.groupBy("partition").agg(F.max("offset").alias("last")).collect()
    until = {int(row["partition"]): int(row["last"]) + 1 for row in rows}
    storage.write_text(join_uri(generation_uri, OFFSETS_FILE), json.dumps({"topic": topic, "until": until}))
    return until


def stored_offsets(storage: Storage, data_dir: str, topic: str) -> dict[int, int]:
    """The next offset per partition after all input of ``topic`` that the stored generations hold."""
    stored: dict[int, int] = {}
    for generation in generation_dirs(storage, data_dir):
        uri = join_uri(generation, OFFSETS_FILE)
        if not storage.exists(uri):
            continue
        try:
            saved = json.loads(storage.read_text(uri))
            if saved.get("topic") != topic:
                continue
            for partition, until in saved["until"].items():
                stored[int(partition)] = max(stored.get(int(partition), 0), int(until))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable %s: %s", uri, exc)
    return stored


def topic_partitions(config: Config) -> list[int]:
    """The input topic's partitions, asked of Kafka."""
    with open_consumer(config, "input") as consumer:
        return sorted(consumer.end_offsets())


def starting_offsets(config: Config, stored: dict[int, int], topic: str) -> str:
    """Kafka's ``startingOffsets`` for a query without a checkpoint: after what the stored generations hold
    (partitions they know nothing of start as ``oryx.batch.streaming.starting-offsets`` says), or that setting alone
    when nothing is recorded or Kafka cannot be asked."""
    configured: str = config.settings.batch.streaming.starting_offsets
    if not stored:
        return configured
    try:
        partitions = topic_partitions(config)
    except OryxError as exc:
        log.warning("cannot list the partitions of %s (%s): starting from %s", topic, exc, configured)
        return configured
    if not partitions:
        return configured
    default = EARLIEST if configured == "earliest" else LATEST
    offsets = {str(p): stored.get(p, default) for p in partitions}  # Spark wants every partition, and no other
    log.info("no checkpoint: starting %s after the input the stored generations hold: %s", topic, offsets)
    return json.dumps({topic: offsets})
