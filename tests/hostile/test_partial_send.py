"""A send to Kafka that fails midway tells the client how many records went (the embedded log takes a request in one
transaction, so there it is all or nothing)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.errors import ServiceUnavailable
from oryxpy.topics import KeyValue, TopicProducer, open_producer
from serving.app import create_app
from serving.io_write import SEND_CHUNK
from tests.hostile.rest_support import sent
from tests.serving.io_support import small_model_manager


class BrokerFailsAfter(TopicProducer):
    """The real producer of the topic, whose broker becomes unreachable after ``chunks`` acknowledged sends."""

    def __init__(self, producer: TopicProducer, chunks: int) -> None:
        self.producer = producer
        self.chunks = chunks

    def send_all(self, messages: Sequence[KeyValue]) -> None:
        if self.chunks == 0:
            raise ServiceUnavailable("Kafka broker 127.0.0.1:9092 is unreachable (injected)")
        self.chunks -= 1
        self.producer.send_all(messages)

    def close(self) -> None:
        self.producer.close()


def test_kafka_failure_midway_says_how_many_went(kafka_config: Config) -> None:
    body = "".join(f"u{n},i{n % 7},1\n" for n in range(SEND_CHUNK + 5000))
    with open_producer(kafka_config, "input") as real:
        app = create_app(kafka_config, small_model_manager(kafka_config), BrokerFailsAfter(real, 1), consume_updates=False)
        with TestClient(app) as client:
            response = client.post("/ingest", content=body)
    assert response.status_code == 503
    assert f"after {SEND_CHUNK} of {SEND_CHUNK + 5000} records were acknowledged" in response.text
    assert len(sent(kafka_config, SEND_CHUNK, timeout_s=60.0)) == SEND_CHUNK


def test_kafka_failure_before_anything_went(kafka_config: Config) -> None:
    with open_producer(kafka_config, "input") as real:
        app = create_app(kafka_config, small_model_manager(kafka_config), BrokerFailsAfter(real, 0),
                         consume_updates=False)
        with TestClient(app) as client:
            response = client.post("/pref/u1/i1")
    assert response.status_code == 503 and "after 0 of 1 records were acknowledged" in response.text
