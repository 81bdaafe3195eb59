"""The update consumer hands each poll to the manager in one call, reports each refused message with its place on the
topic, and falls back to one message at a time when a manager's batch call itself fails."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pytest

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.interfaces import ServingModelManager
from oryxpy.messages import UpdateMessage, VectorUpdate
from oryxpy.topics import open_producer
from serving.update_consumer import UpdateConsumer

UPS = [f'["Y","i{n}",[1.0,{n}.0]]' for n in range(30)]


class RecordingManager(ServingModelManager):
    """A model plugin that keeps the IDs it was given; refuses the ID "bad"; its batch call may fail outright."""

    def __init__(self, batch_fails: bool) -> None:
        self.batch_fails = batch_fails
        self.applied: list[str] = []
        self.batches: list[int] = []

    def consume(self, message: UpdateMessage) -> None:
        assert isinstance(message, VectorUpdate)
        if message.id == "bad":
            raise InvalidInput("item bad is refused")
        self.applied.append(message.id)

    def consume_many(self, messages: Sequence[UpdateMessage]) -> list[Exception | None]:
        self.batches.append(len(messages))
        if self.batch_fails:
            raise RuntimeError("the batch path broke")
        return super().consume_many(messages)

    def get_model(self) -> None:
        return None


def consume_all(config: Config, manager: RecordingManager, count: int) -> UpdateConsumer:
    consumer = UpdateConsumer(config, manager)
    consumer.start()
    try:
        deadline = time.monotonic() + 20
        while consumer.consumed + consumer.errors < count and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        consumer.stop()
    return consumer


@pytest.mark.parametrize("batch_fails", [False, True])
def test_each_message_is_applied_once_in_order_and_each_refusal_is_reported(
        embedded_config: Config, batch_fails: bool, caplog: pytest.LogCaptureFixture) -> None:
    with open_producer(embedded_config, "update") as producer:
        producer.send_all([("UP", v) for v in UPS[:10]] + [("UP", '["Y","bad",[1.0,2.0]]'), ("UP", "not json")]
                          + [("UP", v) for v in UPS[10:]])
    manager = RecordingManager(batch_fails)
    with caplog.at_level(logging.WARNING, logger="serving.update_consumer"):
        consumer = consume_all(embedded_config, manager, len(UPS) + 2)
    assert manager.applied == [f"i{n}" for n in range(30)]
    assert consumer.consumed == 30 and consumer.errors == 2
    assert sum(manager.batches) <= 31 and len(manager.batches) < 31  # whole polls, not one call per message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("item bad is refused" in w and "/10 " in w for w in warnings), warnings  # its offset on the topic
    assert any("not JSON" in w and "/11 " in w for w in warnings), warnings
