"""The A/B test stream consumer: reads the served-items topic and the input topic and feeds the join.

Both topics are read from their beginning without a consumer group, so a restarted serving layer rebuilds its
counts; a served record is ``{"user", "variant", "items", "time"}`` (time in ms), an input record Oryx's CSV line.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from oryxpy.analytics.experiment import ExperimentAnalysis
from oryxpy.analytics.polling import PollingThread
from oryxpy.config import Config
from oryxpy.records import parse_interaction
from oryxpy.topics import TopicConsumer, TopicProducer, open_consumer, open_producer

log = logging.getLogger(__name__)

def served_config(config: Config) -> Config:
    """``config`` with the input role pointed at the served-items topic (same broker as the input topic)."""
    return config.with_overrides({"oryx.input-topic.message.topic": config.settings.serving.experiment.served_topic},
                                 "served-items topic")


def open_served_producer(config: Config) -> TopicProducer:
    return open_producer(served_config(config), "input")


def encode_served(record: dict[str, Any]) -> tuple[str, str]:
    return str(record["user"]), json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class ExperimentConsumer(PollingThread):
    """A daemon thread polling both topics into an :class:`ExperimentAnalysis`; ``served``, ``inputs`` and
    ``errors`` count what it read."""

    def __init__(self, config: Config, analysis: ExperimentAnalysis):
        super().__init__("OryxExperimentConsumer")
        self.config, self.analysis = config, analysis
        self.served = self.inputs = 0

    def _open(self) -> list[TopicConsumer]:
        served = open_consumer(served_config(self.config), "input", None, "earliest")
        try:
            return [served, open_consumer(self.config, "input", None, "earliest")]
        except Exception:
            served.close()
            raise

    def _step(self, consumers: list[TopicConsumer]) -> int:
        served, inputs = consumers
        return self._drain(served, self._on_served) + self._drain(inputs, self._on_input)

    def _drain(self, consumer: TopicConsumer, handle: Any) -> int:
        records = consumer.poll(timeout_s=0.05, max_records=1000)
        for record in records:
            try:
                handle(record.value)
            except Exception as exc:  # a bad record is counted and skipped
                self.errors += 1
                log.warning("skipping record %s/%d/%d: %s", record.topic, record.partition, record.offset, exc)
        return len(records)

    def _on_served(self, value: str) -> None:
        data = json.loads(value)
        self.analysis.served(str(data["user"]), str(data["variant"]), [str(i) for i in data["items"]],
                             float(data["time"]) / 1000)
        self.served += 1

    def _on_input(self, value: str) -> None:
        event = parse_interaction(value)
        if event.strength is not None:
            self.analysis.interaction(event.user, event.item, event.timestamp_ms / 1000)
        self.inputs += 1
