"""The speed layer end to end on real topics (embedded and Kafka): model in, input in, UP messages out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from oryxpy.config import Config
from oryxpy.messages import MODEL, MODEL_REF, UP
from oryxpy.modelfiles import write_vectors
from oryxpy.pmml import als_model_to_pmml
from oryxpy.storage import join_uri, storage_for
from oryxpy.topics import TopicConsumer, open_consumer, open_producer
from speed.runner import SpeedLayer
from tests.speed.fixtures import ITEMS, USERS, expected_new_vector, model_info, model_messages, svd_factors

TIMEOUT_S = 60.0

BACKENDS = ["embedded", pytest.param("kafka", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def topics_config(request: pytest.FixtureRequest) -> Config:
    """Both topics embedded, or both on the test Kafka (fresh topics); batches are folded in without waiting."""
    config: Config = request.getfixturevalue(f"{request.param}_config")
    return config.with_overrides({"oryx.speed.max-batch-wait-ms": 0, "oryx.id": f"speed-test-{time.monotonic_ns()}"})


def publish(config: Config, role: str, messages: list[tuple[str | None, str]]) -> None:
    with open_producer(config, role) as producer:
        producer.send_all(messages)


def record(user: str, item: str, strength: str = "1", timestamp: int = 1_700_000_000_000) -> tuple[None, str]:
    return None, f"{user},{item},{strength},{timestamp}"


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def read_ups(consumer: TopicConsumer, count: int, timeout_s: float = TIMEOUT_S) -> dict[tuple[str, str], list]:
    """The next ``count`` UP messages, by (matrix, id); fails if fewer arrive."""
    ups: dict[tuple[str, str], list] = {}
    seen, deadline = 0, time.monotonic() + timeout_s
    while seen < count and time.monotonic() < deadline:
        for message in consumer.poll(0.2, 500):
            if message.key == UP:
                update = json.loads(message.value)
                ups[(update[0], update[1])] = update
                seen += 1
    assert seen == count, f"expected {count} UP messages, got {seen}: {sorted(ups)}"
    return ups


def assert_no_more_ups(consumer: TopicConsumer, wait_s: float = 1.0) -> None:
    extra = [m for m in consumer.poll(wait_s, 500) if m.key == UP]
    assert not extra, f"unexpected UPs: {[m.value for m in extra]}"


@pytest.fixture
def updates_reader(topics_config: Config) -> Iterator[Callable[[], TopicConsumer]]:
    opened: list[TopicConsumer] = []

    def open_reader() -> TopicConsumer:
        consumer = open_consumer(topics_config, "update", None, "latest")
        consumer.wait_ready()
        opened.append(consumer)
        return consumer

    yield open_reader
    for consumer in opened:
        consumer.close()


def start_ready_layer(config: Config) -> SpeedLayer:
    layer = SpeedLayer(config)
    layer.start()
    wait_for(lambda: layer.caught_up and layer.manager.model_status() == "ready", "the model to load")
    return layer


def test_folds_in_new_users_and_items(topics_config: Config, updates_reader: Callable[[], TopicConsumer]) -> None:
    publish(topics_config, "update", model_messages())
    with start_ready_layer(topics_config) as layer:
        reader = updates_reader()
        new_users = [f"W{100 + n}" for n in range(5)]
        new_items = [f"{letter}{105 + n}" for n, letter in enumerate("BCDE")]
        lines = [record(user, ITEMS[n], timestamp=1 + n) for n, user in enumerate(new_users)]
        lines += [record(USERS[n], item, timestamp=10 + n) for n, item in enumerate(new_items)]
        lines.append(record("W200", "B1", "", 20))  # a delete: ignored by the speed layer
        publish(topics_config, "input", lines)
        ups = read_ups(reader, 9)
        x, y = svd_factors()
        for n, user in enumerate(new_users):
            matrix, id_, vector, known = ups[("X", user)]
            np.testing.assert_allclose(vector, expected_new_vector(y[n], y), atol=1e-5)
            assert known == [ITEMS[n]]
        for n, item in enumerate(new_items):
            np.testing.assert_allclose(ups[("Y", item)][2], expected_new_vector(x[n], x), atol=1e-5)
            assert ups[("Y", item)][3] == [USERS[n]]
        assert_no_more_ups(reader, 0.5)
        wait_for(lambda: layer.counters.input_records == 10, "the input to be counted")


def test_existing_user_sees_its_own_updates(topics_config: Config, updates_reader: Callable[[], TopicConsumer]) -> None:
    publish(topics_config, "update", model_messages())
    with start_ready_layer(topics_config) as layer:
        reader = updates_reader()
        publish(topics_config, "input", [record("W1", "B1")])
        first = read_ups(reader, 1)[("X", "W1")][2]
        wait_for(lambda: layer.manager.model.x.get("W1") is not None, "the layer to consume its own UP")
        publish(topics_config, "input", [record("W1", "B1", timestamp=1_700_000_000_001)])
        ups = read_ups(reader, 2)  # now W1 is known: both its X and B1's Y move
        assert not np.allclose(ups[("X", "W1")][2], first)
        assert ("Y", "B1") in ups


def test_bad_records_and_update_messages_are_skipped(topics_config: Config, updates_reader: Callable[[], TopicConsumer]) -> None:
    messages = model_messages()
    messages[1:1] = [("BOGUS", "x"), (UP, "not json"), (UP, '["Z","a",[1]]'), (UP, '["X","G6",[1.0]]')]
    publish(topics_config, "update", messages)
    with start_ready_layer(topics_config) as layer:
        assert layer.counters.bad_update_messages == 4
        reader = updates_reader()
        publish(topics_config, "input", [(None, "garbage"), (None, "u,i,notanumber,1"), record("W1", "C2"), (None, "a,b")])
        ups = read_ups(reader, 1)
        assert ("X", "W1") in ups
        wait_for(lambda: layer.counters.bad_input_records == 3, "bad input to be counted")


def test_input_before_any_model_is_counted_and_dropped(topics_config: Config, updates_reader: Callable[[], TopicConsumer]) -> None:
    with SpeedLayer(topics_config) as layer:
        wait_for(lambda: layer.caught_up, "the (empty) update topic to be read")
        publish(topics_config, "input", [record("W1", "B1"), record("W2", "C2")])
        wait_for(lambda: layer.counters.input_without_model == 2, "input without a model to be counted")
        publish(topics_config, "update", model_messages())
        wait_for(lambda: layer.manager.model_status() == "ready", "the model")
        reader = updates_reader()
        publish(topics_config, "input", [record("W3", "B1")])
        assert set(read_ups(reader, 1)) == {("X", "W3")}


def test_restart_resumes_from_the_committed_offset(topics_config: Config, updates_reader: Callable[[], TopicConsumer]) -> None:
    publish(topics_config, "update", model_messages())
    reader = updates_reader()
    with start_ready_layer(topics_config):
        publish(topics_config, "input", [record("W1", "B1")])
        read_ups(reader, 1)
    publish(topics_config, "input", [record("W2", "C2")])  # while the layer is down
    with start_ready_layer(topics_config):
        ups = read_ups(reader, 1)
        assert set(ups) == {("X", "W2")}  # W2 processed, W1 not processed again
        assert_no_more_ups(reader)


@pytest.mark.parametrize("storage", ["local", pytest.param("hdfs", marks=pytest.mark.integration)])
def test_model_ref_loads_vectors_from_parquet(storage: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    config: Config = request.getfixturevalue("embedded_config" if storage == "local" else "hdfs_config")
    model_dir = join_uri(config.model_dir, "1700000000000")
    files = storage_for(model_dir, config)
    x, y = svd_factors()
    files.write_text(join_uri(model_dir, "model.pmml"), als_model_to_pmml(model_info()))
    write_vectors(files, join_uri(model_dir, "X"), USERS, x)
    write_vectors(files, join_uri(model_dir, "Y"), ITEMS, y)
    publish(config, "update", [(MODEL_REF, files.qualify(join_uri(model_dir, "model.pmml")))])
    reader = open_consumer(config, "update", None, "latest")
    try:
        reader.wait_ready()
        with start_ready_layer(config) as layer:
            assert layer.counters.update_messages == 1 and len(layer.manager.model.y) == len(ITEMS)
            publish(config, "input", [record("W1", "D3")])
            np.testing.assert_allclose(read_ups(reader, 1)[("X", "W1")][2], expected_new_vector(y[2], y), atol=1e-5)
    finally:
        reader.close()


def test_model_without_vector_files_waits_for_ups(embedded_config: Config) -> None:
    model_dir = join_uri(embedded_config.model_dir, "1700000000000")
    files = storage_for(model_dir, embedded_config)
    files.write_text(join_uri(model_dir, "model.pmml"), als_model_to_pmml(model_info()))
    publish(embedded_config, "update", [(MODEL_REF, join_uri(model_dir, "model.pmml"))] + model_messages()[1:])
    with start_ready_layer(embedded_config) as layer:
        assert len(layer.manager.model.x) == len(USERS)


def test_model_message_is_required_before_ups(embedded_config: Config) -> None:
    publish(embedded_config, "update", model_messages()[1:] + [(MODEL, als_model_to_pmml(model_info()))])
    with SpeedLayer(embedded_config) as layer:
        wait_for(lambda: layer.caught_up, "the update topic to be read")
        assert layer.manager.model_status() == "loading"  # the UPs came before the MODEL: all expected IDs missing


def test_input_waits_while_the_model_loads(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.speed.max-batch-wait-ms": 0})
    messages = model_messages()
    publish(config, "update", messages[:1])  # MODEL alone: every ID expected, nothing loaded
    reader = open_consumer(config, "update", None, "latest")
    try:
        reader.wait_ready()
        with SpeedLayer(config) as layer:
            wait_for(lambda: layer.caught_up, "the update topic to be read")
            publish(config, "input", [record("W1", "B1")])
            time.sleep(0.5)
            assert layer.manager.model_status() == "loading" and layer.counters.input_records == 0
            publish(config, "update", messages[1:])
            ups = read_ups(reader, len(messages) - 1 + 1)  # the model's UPs, then the held input's
            assert ("X", "W1") in ups and layer.counters.input_without_model == 0
    finally:
        reader.close()
