"""The Spark batch layer: Structured Streaming from the input topic, one generation per micro-batch (foreachBatch)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

from batch.runner import delete_old, generation_dir_name, generation_dirs
from batch.spark.offsets import record_offsets, starting_offsets, stored_offsets
from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.interfaces import INPUT_SCHEMA, BatchLayerUpdate, instantiate, load_class
from oryxpy.storage import join_uri, name_of, storage_for
from oryxpy.topics import broker_of, open_producer, topic_name

log = logging.getLogger(__name__)

CHECKPOINT = ".checkpoint"
STARTED = "started"
DONE = "done"
KEEP_MARKERS = 100  # as Spark's spark.sql.streaming.minBatchesToRetain: older batches are never replayed


def spark_update_for(config: Config) -> BatchLayerUpdate:
    """The configured batch update, as its Spark counterpart (BatchLayerUpdate.spark_counterpart) when it has one;
    any other gets the input collected as Arrow tables."""
    key = "oryx.batch.update-class"
    cls = load_class(config[key], key)
    counterpart = cls.spark_counterpart if issubclass(cls, BatchLayerUpdate) else None
    update: BatchLayerUpdate = instantiate(counterpart or config[key], key, config, BatchLayerUpdate)
    return update


class SparkBatchLayer:
    """Runs a generation for each micro-batch of the input topic; offsets live in ``<model-dir>/.checkpoint/offsets``,
    and each stored generation records the offsets it holds (``_offsets.json``): a query without a checkpoint (a first
    run, or a lost ``.checkpoint``) starts after them.

    foreachBatch is at-least-once, so each batch id's generation is recorded in ``<model-dir>/.checkpoint/generations``:
    a replayed batch reuses its timestamp (its data directory is overwritten, not duplicated) and a batch whose model
    was already published is skipped.
    """

    def __init__(self, spark: SparkSession, config: Config, update: BatchLayerUpdate | None = None):
        if broker_of(config, "input") == "embedded":
            raise ConfigError("oryx.batch.engine = 'spark' reads the input topic from Kafka: set oryx.input-topic.broker to host:port")
        self.spark = spark
        self.config = config
        self.data_dir = config.data_dir
        self.model_dir = config.model_dir
        self.data_storage = storage_for(self.data_dir, config)
        self.model_storage = storage_for(self.model_dir, config)
        self.checkpoint = join_uri(self.model_dir, CHECKPOINT)
        self.update = update or spark_update_for(config)
        self.generations = 0
        spark.sparkContext.setCheckpointDir(join_uri(self.checkpoint, "als"))

    def start(self) -> StreamingQuery:
        """Start the streaming query: a trigger every generation interval, or once over what is available now."""
        source = (self.spark.readStream.format("kafka")
                  .option("kafka.bootstrap.servers", broker_of(self.config, "input"))
                  .option("subscribe", topic_name(self.config, "input"))
                  .option("startingOffsets", self._starting_offsets())
                  .option("failOnDataLoss", "false")
                  .load())
        writer = (source.selectExpr("CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value", "partition", "offset")
                  .writeStream.foreachBatch(self.run_generation)
                  .option("checkpointLocation", join_uri(self.checkpoint, "offsets"))
                  .queryName(f"OryxBatchLayer-{topic_name(self.config, 'input')}"))
        if self.config.settings.batch.streaming.trigger == "available-now":
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=f"{self.config.settings.batch.streaming.generation_interval_sec} seconds")
        log.info("batch layer on Spark: input %s, data in %s, models in %s", topic_name(self.config, "input"),
                 self.data_dir, self.model_dir)
        return writer.start()

    def run_generation(self, batch: DataFrame, batch_id: int) -> None:
        """foreachBatch: store the batch as ``<data-dir>/oryx-<ts>.data/``, then build and publish a model from all data."""
        marker_uri = join_uri(self.checkpoint, "generations", f"{batch_id}.json")
        marker = json.loads(self.model_storage.read_text(marker_uri)) if self.model_storage.exists(marker_uri) else None
        if marker is not None and marker["state"] == DONE:
            log.info("batch %d was generation %d, already done; skipping its replay", batch_id, marker["timestamp_ms"])
            return
        timestamp_ms = int(marker["timestamp_ms"]) if marker else int(time.time() * 1000)
        self._mark(marker_uri, batch_id, timestamp_ms, STARTED)
        generation = join_uri(self.data_dir, generation_dir_name(timestamp_ms))
        past = [u for u in generation_dirs(self.data_storage, self.data_dir) if name_of(u) != name_of(generation)]
        batch.persist()  # read from Kafka once, for the stored input and its offsets
        try:  # overwrite: a replayed batch replaces its own files
            batch.select("key", "value").write.mode("overwrite").parquet(generation)
            record_offsets(self.data_storage, generation, topic_name(self.config, "input"), batch.select("partition", "offset"))
        finally:
            batch.unpersist()
        new_data = self.spark.read.parquet(generation).select("key", "value").withColumn("gen", F.lit(timestamp_ms))
        if new_data.count() == 0:  # from the Parquet footers; Kafka is read once
            log.info("No data in current generation's input; nothing to do")
            self.data_storage.delete(generation)
            self._mark(marker_uri, batch_id, timestamp_ms, DONE)
            delete_old(self.config)
            return
        past_data = self._read_past(past)
        log.info("generation %d (batch %d): stored the input in %s; %d earlier generation(s)", timestamp_ms, batch_id,
                 generation, len(past))
        producer = open_producer(self.config, "update") if self.config.settings.update_topic.broker is not None else None
        try:
            self.update.run_update(timestamp_ms, *self._inputs(new_data, past_data), self.model_dir, producer)
        finally:
            if producer is not None:
                producer.close()
        self._mark(marker_uri, batch_id, timestamp_ms, DONE)
        self.model_storage.delete(join_uri(self.checkpoint, "generations", f"{batch_id - KEEP_MARKERS}.json"))
        self.generations += 1
        delete_old(self.config)

    def _starting_offsets(self) -> str:
        """Where the query starts when it has no checkpoint (Spark ignores it otherwise): after the input that the
        stored generations hold, else ``oryx.batch.streaming.starting-offsets``."""
        configured: str = self.config.settings.batch.streaming.starting_offsets
        if self.model_storage.exists(join_uri(self.checkpoint, "offsets", "offsets")):
            return configured
        topic = topic_name(self.config, "input")
        return starting_offsets(self.config, stored_offsets(self.data_storage, self.data_dir, topic), topic)

    def _read_past(self, generations: list[str]) -> DataFrame | None:
        if not generations:
            return None
        frame = self.spark.read.parquet(*generations).select("key", "value", F.col("_metadata.file_path").alias("path"))
        stamp = F.regexp_extract("path", r"oryx-(\d+)\.data", 1).cast("long")
        return frame.select("key", "value", stamp.alias("gen"))

    def _inputs(self, new_data: DataFrame, past_data: DataFrame | None) -> tuple[Any, Any]:
        """DataFrames for a Spark-aware update, Arrow tables (key, value) for any other."""
        if self.update.takes_dataframes:
            return new_data, past_data
        return (new_data.select("key", "value").toArrow().cast(INPUT_SCHEMA),
                past_data.select("key", "value").toArrow().cast(INPUT_SCHEMA) if past_data is not None else None)

    def _mark(self, uri: str, batch_id: int, timestamp_ms: int, state: str) -> None:
        self.model_storage.write_text(uri, json.dumps({"batch_id": batch_id, "timestamp_ms": timestamp_ms, "state": state}))
