"""Input and update topics: one interface, an embedded backend (SQLite log) and a Kafka backend.

The backend of each topic is chosen by ``oryx.input-topic.broker`` / ``oryx.update-topic.broker``:
``embedded`` or a Kafka bootstrap list.
"""

from __future__ import annotations

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.topics.base import (
    KeyValue,
    Record,
    TopicConsumer,
    TopicProducer,
    input_message_key,
    java_string_hash,
)

__all__ = [
    "KeyValue", "Record", "TopicConsumer", "TopicProducer", "input_message_key", "java_string_hash",
    "open_consumer", "open_producer", "setup_topics", "topic_name", "broker_of", "is_embedded", "apply_input_retention",
    "pin_group_start",
]

ROLES = ("input", "update")
EMBEDDED = "embedded"


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"topic role must be 'input' or 'update', not {role!r}")


def _broker_setting(config: Config, role: str) -> str | None:
    _check_role(role)
    settings = config.settings
    return settings.input_topic.broker if role == "input" else settings.update_topic.broker


def broker_of(config: Config, role: str) -> str:
    """The broker setting of a topic; raises ConfigError if the update topic is disabled."""
    broker = _broker_setting(config, role)
    if broker is None:
        raise ConfigError(f"oryx.{role}-topic.broker is unset, so the {role} topic is disabled")
    return broker


def is_embedded(config: Config, role: str) -> bool:
    return broker_of(config, role) == EMBEDDED


def topic_name(config: Config, role: str) -> str:
    _check_role(role)
    settings = config.settings
    return settings.input_topic.message.topic if role == "input" else settings.update_topic.message.topic


def _partitions(config: Config, role: str) -> int:
    return config.settings.input_topic.partitions if role == "input" else 1


def _max_bytes(config: Config) -> int:
    return config.settings.update_topic.message.max_size


def open_producer(config: Config, role: str) -> TopicProducer:
    """A producer for the input or update topic (connects lazily)."""
    broker, topic = broker_of(config, role), topic_name(config, role)
    if broker == EMBEDDED:
        from oryxpy.topics.embedded import EmbeddedProducer, topic_path

        return EmbeddedProducer(topic_path(config.state_dir / "topics", topic), topic, _partitions(config, role), _max_bytes(config),
                                cut_at_model=role == "update")
    from oryxpy.topics.kafka import KafkaTopicProducer

    return KafkaTopicProducer(broker, topic, _max_bytes(config), config.settings.kafka.timeout_sec, mark_models=role == "update")


def open_consumer(config: Config, role: str, group_id: str | None = None, start: str = "earliest",
                  *, from_latest_model: bool = False) -> TopicConsumer:
    """A consumer of every partition of a topic.

    With ``group_id`` it resumes from the group's committed offsets; ``start`` ('earliest' or 'latest')
    applies where the group has none. ``from_latest_model`` (update topic, no group, 'earliest') starts at the
    latest full model instead of the beginning: on Kafka by seeking to its recorded offset; the embedded update
    log holds nothing before it anyway.
    """
    if start not in ("earliest", "latest"):
        raise ValueError(f"start must be 'earliest' or 'latest', not {start!r}")
    broker, topic = broker_of(config, role), topic_name(config, role)
    if broker == EMBEDDED:
        from oryxpy.topics.embedded import EmbeddedConsumer, topic_path

        return EmbeddedConsumer(topic_path(config.state_dir / "topics", topic), topic, _partitions(config, role), group_id, start)
    from oryxpy.topics.kafka import KafkaTopicConsumer

    return KafkaTopicConsumer(broker, topic, group_id, start, _max_bytes(config), config.settings.kafka.timeout_sec,
                              from_latest_model=from_latest_model)


def pin_group_start(config: Config, role: str, group_id: str) -> None:
    """Give ``group_id`` a committed position (the end of the topic now) on every partition where it has none, so
    that what is written from now on is read by that group even if its consumer starts later."""
    broker, topic = broker_of(config, role), topic_name(config, role)
    if broker == EMBEDDED:
        with open_consumer(config, role, group_id, "latest") as consumer:
            consumer.wait_ready()
            consumer.commit()
        return
    from oryxpy.topics.kafka import pin_group_start as pin_on_kafka

    pin_on_kafka(broker, topic, group_id, config.settings.kafka.timeout_sec)


def apply_input_retention(config: Config) -> int:
    """Embedded input only: delete input older than oryx.embedded.input-retention-ms that the batch layer has stored
    (committed); returns how many records went. Kafka applies its own topic retention."""
    retention_ms = config.settings.embedded.input_retention_ms
    if config.settings.input_topic.broker != EMBEDDED or retention_ms < 0:
        return 0
    from oryxpy.topics.embedded import apply_retention, topic_path

    path = topic_path(config.state_dir / "topics", topic_name(config, "input"))
    return apply_retention(path, retention_ms, config.group_id("BatchLayer"))


def setup_topics(config: Config) -> list[str]:
    """Create both topics with Oryx's settings; returns one line per topic saying what happened."""
    lines = []
    for role in ROLES:
        if _broker_setting(config, role) is None:
            lines.append(f"{role} topic: disabled (oryx.{role}-topic.broker unset)")
            continue
        broker, topic = broker_of(config, role), topic_name(config, role)
        if broker == EMBEDDED:
            lines.append(f"{role} topic {topic}: embedded, created on first use under {config.state_dir / 'topics'}; nothing to do")
            continue
        from oryxpy.topics.kafka import KafkaTopicAdmin

        configs = {"max.message.bytes": str(_max_bytes(config) + 4096)}
        if role == "update":
            configs["retention.ms"] = str(config.settings.update_topic.retention_ms)
        created = KafkaTopicAdmin(broker, config.settings.kafka.timeout_sec).create(topic, _partitions(config, role), configs)
        state = "created" if created else "already exists"
        lines.append(f"{role} topic {topic} on {broker}: {state} ({_partitions(config, role)} partition(s))")
    return lines
