"""The topic interface every backend implements: acknowledged sends, polled consumption, group offsets."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from oryxpy.errors import InvalidInput, ServiceUnavailable

log = logging.getLogger(__name__)

KeyValue = tuple[str | None, str]


def check_sizes(messages: Sequence[KeyValue], max_bytes: int) -> None:
    """Refuse, before anything is sent, a message whose value is larger than the topic allows."""
    for _, value in messages:
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            raise InvalidInput(f"message of {size} bytes is larger than the topic's maximum of {max_bytes} bytes")


@dataclass(frozen=True, slots=True)
class Record:
    """One message read from a topic."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: str


class TopicProducer(ABC):
    """Sends messages to one topic; a send returns only after the broker acknowledged every message."""

    topic: str

    def send(self, key: str | None, value: str) -> None:
        """Send one message and wait for its acknowledgement."""
        self.send_all([(key, value)])

    @abstractmethod
    def send_all(self, messages: Sequence[KeyValue]) -> None:
        """Send messages in order (per key) and wait until all are acknowledged."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class TopicConsumer(ABC):
    """Reads one topic, all partitions; with a group it can commit and later resume from its positions."""

    topic: str

    @abstractmethod
    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Record]:
        """Return the next messages (possibly none after ``timeout_s``), in order within each partition."""

    @abstractmethod
    def commit(self) -> None:
        """Record, for the group, that every message returned by poll so far is processed."""

    @abstractmethod
    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Block until partitions are assigned and start positions are fixed (so 'latest' means now)."""

    def wait_assigned(self, stop: threading.Event, round_s: float = 30.0) -> bool:
        """:meth:`wait_ready` for a long-running layer: keep waiting, with a warning every ``round_s``, until the
        partitions are assigned (True) or ``stop`` is set (False). A busy broker can take longer than one round
        to finish a group join; a layer that gave up then would need a restart to try again."""
        waited = 0.0
        while not stop.is_set():
            try:
                self.wait_ready(round_s)
                return True
            except ServiceUnavailable as exc:
                waited += round_s
                log.warning("%s (waited %.0f s in all); still waiting: check that the broker is up and not overloaded",
                            exc, waited)
        return False

    @abstractmethod
    def lag(self) -> int:
        """How many messages are in the topic beyond this consumer's position."""

    @abstractmethod
    def end_offsets(self) -> dict[int, int]:
        """Per partition, the offset the next message written will get (the end of the topic now)."""

    @abstractmethod
    def positions(self) -> dict[int, int]:
        """Per partition, the offset of the next message this consumer will return."""

    def reached(self, ends: dict[int, int]) -> bool:
        """Whether this consumer has read every partition up to ``ends`` (for example the ends seen at its start)."""
        positions = self.positions()
        return all(positions.get(p, 0) >= end for p, end in ends.items())

    @abstractmethod
    def close(self) -> None:
        """Release the connection (without committing)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def java_string_hash(text: str) -> int:
    """Java's String.hashCode (UTF-16 code units), as a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def input_message_key(value: str) -> str:
    """Key of an input message as Oryx's serving layer sets it: hex of the value's Java hash."""
    return format(java_string_hash(value) & 0xFFFFFFFF, "x")
