"""Offsets recorded with the stored generations, and where a Spark query without a checkpoint starts (batch.spark.offsets)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'oryxpy[spark]'")

from batch.runner import OFFSETS_FILE, generation_dir_name  # noqa: E402
from batch.spark.offsets import EARLIEST, LATEST, starting_offsets, stored_offsets  # noqa: E402
from oryxpy.config import Config  # noqa: E402
from oryxpy.storage import join_uri, storage_for  # noqa: E402
from oryxpy.topics import topic_name  # noqa: E402
from tests.batch.helpers import T0  # noqa: E402


def _record(config: Config, stamp: int, text: str) -> None:
    storage = storage_for(config.data_dir, config)
    storage.write_text(join_uri(config.data_dir, generation_dir_name(stamp), OFFSETS_FILE), text)


def test_stored_offsets_take_the_latest_per_partition_of_this_topic_only(embedded_config: Config) -> None:
    storage = storage_for(embedded_config.data_dir, embedded_config)
    _record(embedded_config, T0, json.dumps({"topic": "In", "until": {"0": 10, "1": 4}}))
    _record(embedded_config, T0 + 1, json.dumps({"topic": "In", "until": {"0": 25}}))  # partition 1 had nothing new
    _record(embedded_config, T0 + 2, json.dumps({"topic": "Other", "until": {"0": 99, "2": 7}}))
    _record(embedded_config, T0 + 3, "not json")  # skipped with a warning, not fatal
    assert stored_offsets(storage, embedded_config.data_dir, "In") == {0: 25, 1: 4}
    assert stored_offsets(storage, embedded_config.data_dir, "Nothing") == {}


@pytest.mark.integration
def test_starting_offsets_name_every_partition_of_the_topic(kafka_config: Config) -> None:
    topic = topic_name(kafka_config, "input")
    partitions = kafka_config["oryx.input-topic.partitions"]
    assert starting_offsets(kafka_config, {}, topic) == "earliest"  # nothing stored: the configured start
    started = json.loads(starting_offsets(kafka_config, {0: 12, 99: 5}, topic))
    expected = {str(p): EARLIEST for p in range(partitions)} | {"0": 12}  # no partition the topic lacks
    assert started == {topic: expected}
    latest = kafka_config.with_overrides({"oryx.batch.streaming.starting-offsets": "latest"})
    assert json.loads(starting_offsets(latest, {0: 12}, topic))[topic]["1"] == LATEST
