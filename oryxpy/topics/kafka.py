"""Kafka topics through kafka-python: fully acknowledged sends, manual commits, one clear error when unreachable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError, TopicAlreadyExistsError
from kafka.serializer import Deserializer, Serializer

from oryxpy.errors import InvalidInput, ServiceUnavailable
from oryxpy.messages import MODEL, MODEL_REF
from oryxpy.topics.base import KeyValue, Record, TopicConsumer, TopicProducer, check_sizes

log = logging.getLogger(__name__)
T = TypeVar("T")


def model_marker_group(topic: str) -> str:
    """The consumer group whose committed offset on an update topic is the latest full model's (MODEL or MODEL-REF)."""
    return f"OryxLatestModel-{topic}"


class _Utf8Serializer(Serializer):  # type: ignore[misc]
    def serialize(self, topic: str, headers: Any, data: str | None) -> bytes | None:
        return None if data is None else data.encode("utf-8")


class _Utf8Deserializer(Deserializer):  # type: ignore[misc]
    def deserialize(self, topic: str, headers: Any, data: bytes | None) -> str | None:
        return None if data is None else data.decode("utf-8")



def unreachable(brokers: str, exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Kafka broker at {brokers} cannot be reached ({type(exc).__name__}: {exc}). Start it "
        "(scripts/services.sh start kafka for a local one) or fix oryx.input-topic.broker / oryx.update-topic.broker."
    )


def _guard(brokers: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except (KafkaTimeoutError, OSError) as exc:
        raise unreachable(brokers, exc) from exc
    except KafkaError as exc:
        if "bootstrap" in str(exc).lower():
            raise unreachable(brokers, exc) from exc
        raise


class KafkaTopicProducer(TopicProducer):
    """A producer that waits for acknowledgement from all in-sync replicas.

    With ``mark_models`` (the update topic), the offset of each acknowledged MODEL or MODEL-REF is committed to the
    group :func:`model_marker_group`, where consumers find where the latest full model starts.
    """

    def __init__(self, brokers: str, topic: str, max_message_bytes: int, timeout_s: float, mark_models: bool = False):
        self.topic = topic
        self._mark_models = mark_models
        self._brokers = brokers
        self._max = max_message_bytes
        self._timeout_s = timeout_s
        self._producer: KafkaProducer | None = None

    def _client(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = _guard(self._brokers, lambda: KafkaProducer(
                bootstrap_servers=self._brokers,
                acks="all",
                linger_ms=2,
                max_request_size=self._max + 4096,
                key_serializer=_Utf8Serializer(),
                value_serializer=_Utf8Serializer(),
                bootstrap_timeout_ms=int(self._timeout_s * 1000),
                request_timeout_ms=int(self._timeout_s * 1000),
                max_block_ms=int(self._timeout_s * 1000),
            ))
        return self._producer

    def send_all(self, messages: Sequence[KeyValue]) -> None:
        check_sizes(messages, self._max)
        if not messages:
            return
        producer = self._client()

        def send() -> list[Any]:
            futures = [producer.send(self.topic, key=k, value=v) for k, v in messages]
            producer.flush(timeout=self._timeout_s)
            return [future.get(timeout=self._timeout_s) for future in futures]

        try:
            acknowledged = _guard(self._brokers, send)
        except MessageSizeTooLargeError as exc:
            raise InvalidInput(f"message too large for topic {self.topic}: {exc}") from exc
        if self._mark_models:
            models = [meta for (key, _), meta in zip(messages, acknowledged, strict=True) if key in (MODEL, MODEL_REF)]
            if models:
                self._mark(models[-1].partition, models[-1].offset)

    def _mark(self, partition: int, offset: int) -> None:
        """Commit ``offset`` as the latest model's (best effort: without it consumers replay from the beginning)."""
        try:
            marker = _guard(self._brokers, lambda: KafkaConsumer(
                bootstrap_servers=self._brokers, group_id=model_marker_group(self.topic), enable_auto_commit=False,
                bootstrap_timeout_ms=int(self._timeout_s * 1000), request_timeout_ms=int(self._timeout_s * 1000) + 5000))
            try:
                tp = TopicPartition(self.topic, partition)
                marker.assign([tp])
                marker.commit({tp: OffsetAndMetadata(offset, "", -1)}, timeout_ms=int(self._timeout_s * 1000))
            finally:
                marker.close(autocommit=False)
        except (KafkaError, ServiceUnavailable) as exc:
            log.warning("could not record the latest model's offset %d on %s: %s", offset, self.topic, exc)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=self._timeout_s)
            self._producer = None


class KafkaTopicConsumer(TopicConsumer):
    """Without a group: assigned every partition directly. With a group: subscribed, offsets committed manually.

    With ``from_latest_model`` (no group, 'earliest'), it starts at the latest full model's offset as recorded in
    :func:`model_marker_group` instead of the beginning, where there is one that retention has not deleted yet.
    """

    def __init__(self, brokers: str, topic: str, group_id: str | None, start: str, max_message_bytes: int, timeout_s: float,
                 from_latest_model: bool = False):
        self.topic = topic
        self._from_latest_model = from_latest_model and group_id is None and start == "earliest"
        self._brokers = brokers
        self._group = group_id
        self._start = start
        self._max = max_message_bytes
        self._timeout_s = timeout_s
        self._consumer: KafkaConsumer | None = None

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = _guard(self._brokers, self._create)
        return self._consumer

    def _create(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            bootstrap_servers=self._brokers,
            # only reads the marker's committed offsets (assigned partitions, never joins, never commits)
            group_id=model_marker_group(self.topic) if self._from_latest_model else self._group,
            enable_auto_commit=False,
            auto_offset_reset=self._start,
            max_partition_fetch_bytes=self._max + 4096,
            fetch_max_bytes=max(52428800, self._max + 4096),
            key_deserializer=_Utf8Deserializer(),
            value_deserializer=_Utf8Deserializer(),
            bootstrap_timeout_ms=int(self._timeout_s * 1000),
            request_timeout_ms=int(self._timeout_s * 1000) + 5000,
            session_timeout_ms=10000,
            heartbeat_interval_ms=3000,
        )
        try:
            if self._group is None:
                partitions = self._partitions(consumer)
                consumer.assign(partitions)
                if self._start == "earliest":
                    consumer.seek_to_beginning(*partitions)
                    if self._from_latest_model:
                        self._seek_to_latest_model(consumer, partitions)
                else:
                    consumer.seek_to_end(*partitions)
            else:
                consumer.subscribe([self.topic])
        except BaseException:
            consumer.close()  # a caller that retries must not leave a connection behind each time
            raise
        return consumer

    def _partitions(self, consumer: KafkaConsumer) -> list[TopicPartition]:
        deadline = time.monotonic() + self._timeout_s
        while True:
            ids = consumer.partitions_for_topic(self.topic)
            if ids:
                return [TopicPartition(self.topic, p) for p in sorted(ids)]
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"Kafka topic {self.topic} does not exist on {self._brokers}; create it with `oryxpy kafka-setup`")
            time.sleep(0.2)

    def _seek_to_latest_model(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        beginnings = consumer.beginning_offsets(partitions)
        for tp in partitions:
            marked = consumer.committed(tp, timeout_ms=int(self._timeout_s * 1000))
            if marked is not None and marked > beginnings[tp]:
                consumer.seek(tp, marked)
                log.info("replaying %s[%d] from the latest model at offset %d", self.topic, tp.partition, marked)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        consumer = self._client()
        deadline = time.monotonic() + timeout_s
        while not consumer.assignment():
            if time.monotonic() > deadline:
                if self._group is not None:  # the next call joins the group afresh, with a new client: a join
                    self.close()             # can hang in the client until its member is dropped (seen in CI)
                raise ServiceUnavailable(f"no partitions of {self.topic} were assigned within {timeout_s:.0f} s"
                                         + (f" (group {self._group}: joining again)" if self._group else ""))
            # positions do not move, so whatever this poll fetched is fetched again by the next poll: drop it
            # (buffering it too delivered every record twice)
            consumer.poll(timeout_ms=100, update_offsets=False)
        for tp in consumer.assignment():
            consumer.position(tp)

    def _to_record(self, r: Any) -> Record:
        return Record(r.topic, r.partition, r.offset, r.key, r.value)

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Record]:
        consumer = self._client()
        batch = _guard(self._brokers, lambda: consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records))
        out: list[Record] = []
        for records in batch.values():
            out.extend(self._to_record(r) for r in records)
        return out

    def commit(self) -> None:
        if self._group is None or self._consumer is None:
            return
        _guard(self._brokers, self._consumer.commit)

    def lag(self) -> int:
        consumer = self._client()
        assigned = list(consumer.assignment())
        if not assigned:
            return 0
        ends = consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - consumer.position(tp)) for tp in assigned)

    def end_offsets(self) -> dict[int, int]:
        consumer = self._client()
        assigned = list(consumer.assignment())
        ends = _guard(self._brokers, lambda: consumer.end_offsets(assigned)) if assigned else {}
        return {tp.partition: int(end) for tp, end in ends.items()}

    def positions(self) -> dict[int, int]:
        consumer = self._client()
        return {tp.partition: int(consumer.position(tp)) for tp in consumer.assignment()}

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None


def pin_group_start(brokers: str, topic: str, group: str, timeout_s: float) -> None:
    """Commit, for ``group``, the end offset of each partition of ``topic`` where the group has no committed offset yet.

    Done as a simple (assigned, never joining) consumer, so it takes no group rebalance.
    """
    def pin() -> None:
        consumer = KafkaConsumer(bootstrap_servers=brokers, group_id=group, enable_auto_commit=False,
                                 bootstrap_timeout_ms=int(timeout_s * 1000), request_timeout_ms=int(timeout_s * 1000) + 5000)
        try:
            deadline = time.monotonic() + timeout_s
            while not (ids := consumer.partitions_for_topic(topic)):
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(f"Kafka topic {topic} does not exist on {brokers}; create it with `oryxpy kafka-setup`")
                time.sleep(0.2)
            partitions = [TopicPartition(topic, p) for p in sorted(ids)]
            consumer.assign(partitions)
            timeout_ms = int(timeout_s * 1000)
            missing = [tp for tp in partitions if consumer.committed(tp, timeout_ms=timeout_ms) is None]
            if missing:
                ends = consumer.end_offsets(missing)
                consumer.commit({tp: OffsetAndMetadata(ends[tp], "", -1) for tp in missing}, timeout_ms=timeout_ms)
        finally:
            consumer.close(autocommit=False)

    _guard(brokers, pin)


class KafkaTopicAdmin:
    """Creates and inspects topics."""

    def __init__(self, brokers: str, timeout_s: float):
        self._brokers = brokers
        self._timeout_s = timeout_s

    def _admin(self) -> KafkaAdminClient:
        return _guard(self._brokers, lambda: KafkaAdminClient(
            bootstrap_servers=self._brokers,
            bootstrap_timeout_ms=int(self._timeout_s * 1000),
            request_timeout_ms=int(self._timeout_s * 1000),
        ))

    def topics(self) -> set[str]:
        admin = self._admin()
        try:
            return set(_guard(self._brokers, admin.list_topics))
        finally:
            admin.close()

    def create(self, topic: str, partitions: int, configs: dict[str, str]) -> bool:
        """Create ``topic``; False if it already existed."""
        admin = self._admin()
        try:
            spec = {topic: {"num_partitions": partitions, "replication_factor": 1, "configs": configs}}
            _guard(self._brokers, lambda: admin.create_topics(spec, wait_for_metadata=True))
            return True
        except TopicAlreadyExistsError:
            return False
        finally:
            admin.close()

    def delete(self, topic: str) -> None:
        admin = self._admin()
        try:
            _guard(self._brokers, lambda: admin.delete_topics([topic]))
        finally:
            admin.close()
