"""A model's X/ and Y/ written by the executors (DataFrame.write.parquet) and published from them as UP messages.

The files hold oryxpy.modelfiles' schema (id, vector list<float32>, and for X known list<string>), so every reader of
model directories reads them as it reads the local engine's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from oryxpy.config import Config
from oryxpy.messages import UP, up_value
from oryxpy.modelfiles import DICTIONARY_PAGE_BYTES
from oryxpy.topics import EMBEDDED, broker_of, open_producer

log = logging.getLogger(__name__)

SEND_CHUNK = 10_000


def write_vectors(frame: DataFrame, uri: str) -> None:
    """Write (id, vector[, known]) rows as Parquet part files under ``uri``, in the layout of oryxpy.modelfiles that
    loads fastest: vectors and IDs plain and uncompressed (Spark cannot compress one column and not another; IDs are
    a small part of the files), known items dictionary-encoded with a dictionary page large enough for every item."""
    columns = [F.col("id").cast("string"), F.col("vector").cast("array<float>")]
    if "known" in frame.columns:
        columns.append(F.col("known").cast("array<string>"))
    (frame.select(*columns).write.mode("overwrite")
     .option("compression", "none")
     .option("parquet.enable.dictionary#id", "false")
     .option("parquet.enable.dictionary#vector.list.element", "false")
     .option("parquet.dictionary.page.size", str(DICTIONARY_PAGE_BYTES))
     .parquet(uri))


def _messages(matrix: str, rows: Iterable[Any], with_known: bool) -> Iterator[tuple[str, str]]:
    for row in rows:
        yield UP, up_value(matrix, row["id"], row["vector"], row["known"] if with_known else None)


def _send(producer: Any, messages: Iterator[tuple[str, str]]) -> int:
    chunk: list[tuple[str, str]] = []
    sent = 0
    for message in messages:
        chunk.append(message)
        if len(chunk) >= SEND_CHUNK:
            producer.send_all(chunk)
            sent, chunk = sent + len(chunk), []
    if chunk:
        producer.send_all(chunk)
        sent += len(chunk)
    return sent


def _partition_sender(config: Config, matrix: str, with_known: bool) -> Any:
    def send_partition(rows: Iterator[Any]) -> None:
        producer = open_producer(config, "update")  # one producer per partition; acks=all (oryxpy.topics.kafka)
        try:
            _send(producer, _messages(matrix, rows, with_known))
        finally:
            producer.close()

    return send_partition


def publish_vectors(spark: SparkSession, config: Config, uri: str, matrix: str, with_known: bool) -> int:
    """Send an UP message per row of the vectors under ``uri``: from the executors for Kafka, from the driver (one
    partition at a time) for the embedded broker, whose files only this machine sees. Returns the rows sent."""
    frame = spark.read.parquet(uri)
    with_known = with_known and "known" in frame.columns
    if broker_of(config, "update") == EMBEDDED:
        producer = open_producer(config, "update")
        try:
            return _send(producer, _messages(matrix, frame.toLocalIterator(), with_known))
        finally:
            producer.close()
    frame.foreachPartition(_partition_sender(config, matrix, with_known))
    return frame.count()  # from the Parquet footers
