"""Whole generations against real Kafka and HDFS: input topic in, data and model on HDFS, updates read back."""

from __future__ import annotations

import pytest

from batch.runner import BatchRunner
from oryxpy.config import Config
from oryxpy.messages import ModelMessage, ModelRefMessage
from oryxpy.storage import join_uri, storage_for
from tests.batch.helpers import (
    FAST,
    check_model_dir,
    check_published,
    interactions,
    model_dirs,
    read_updates,
    send_input,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def services_config(kafka_config: Config, hdfs_config: Config) -> Config:
    """Kafka topics with data-dir and model-dir on HDFS."""
    keys = ("oryx.batch.storage.data-dir", "oryx.batch.storage.model-dir", "oryx.storage.hdfs.webhdfs-url")
    return kafka_config.with_overrides({**FAST, "oryx.id": "it", **{k: hdfs_config[k] for k in keys}})


def run_one(config: Config, lines: list[str]) -> list:
    runner = BatchRunner(config)
    try:
        runner.start()
        send_input(config, lines)
        assert runner.run_generation()
    finally:
        runner.close()
    return read_updates(config)


def test_generation_on_kafka_and_hdfs(services_config: Config):
    messages = run_one(services_config, interactions(40, 25, 300) + ["broken"])
    assert isinstance(messages[0], ModelMessage)
    info = check_published(services_config, messages)
    assert info.features == 4
    storage = storage_for(services_config.data_dir, services_config)
    [generation] = [g for g in storage.list(services_config.data_dir) if "oryx-" in g]
    assert storage.read_parquet(join_uri(generation, "part-00000.parquet")).num_rows == 301
    [model] = model_dirs(services_config)
    assert model.startswith("hdfs://")
    check_model_dir(services_config, model)


def test_model_ref_points_at_hdfs(services_config: Config):
    config = services_config.with_overrides({"oryx.update-topic.message.max-size": 1024})
    messages = run_one(config, interactions(200, 60, 500))
    assert isinstance(messages[0], ModelRefMessage) and messages[0].uri.startswith("hdfs://")
    check_published(config, messages)


def test_kafka_restart_resumes_from_committed_offset(services_config: Config):
    lines = interactions(10, 10, 60)
    first = BatchRunner(services_config)
    first.start()
    send_input(services_config, lines)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed")

    first.store_generation = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        first.run_generation()
    first.close()
    second = BatchRunner(services_config)
    second.start()
    assert second.run_generation()
    second.close()
    storage = storage_for(services_config.data_dir, services_config)
    [generation] = [g for g in storage.list(services_config.data_dir) if "oryx-" in g]
    assert sorted(storage.read_parquet(join_uri(generation, "part-00000.parquet")).column("value").to_pylist()) == sorted(lines)
