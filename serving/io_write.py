"""What the write endpoints share: the read-only check, raw-path IDs and acknowledged sends to the input topic."""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from oryxpy.errors import InvalidInput, NotFound, PartiallySent, ReadOnly
from oryxpy.topics import TopicProducer, input_message_key
from oryxpy.topics.embedded import EmbeddedProducer
from serving.params import decode_segment, raw_segments
from serving.state import ServingState

SEND_CHUNK = 10000


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, the timestamp of records that carry none."""
    return int(time.time() * 1000)


def writable_producer(state: ServingState) -> TopicProducer:
    """The input-topic producer; ReadOnly (403) when the serving layer is read-only."""
    if state.read_only or state.producer is None:
        raise ReadOnly("Serving Layer is read-only")
    return state.producer


def id_segments(request: Request, count: int) -> list[str]:
    """Exactly ``count`` decoded path segments after the endpoint, split on the raw path so that IDs may hold ``/``
    sent as %2F (an empty one is kept, for the caller to name); NotFound (404) for another number of segments,
    InvalidInput (400) for a segment that is not UTF-8 once percent-decoded."""
    segments = raw_segments(request, keep_empty=True)
    if len(segments) != count:
        raise NotFound(f"expected {count} path segments after the endpoint, got {len(segments)} in {request.url.path}")
    return [decode_segment(s) for s in segments]


async def send_records(producer: TopicProducer, records: Sequence[str]) -> None:
    """Send input-topic records with Oryx's keys, returning once the topic acknowledged them all.

    The embedded log takes them in one transaction (all or nothing). Kafka gets them in chunks; when a chunk fails,
    PartiallySent (503) says how many records were acknowledged before it (none of a request's records is sent
    before all of them are validated and encoded, so a bad record never leaves part of a request behind).
    """
    messages = [(input_message_key(r), r) for r in records]
    chunk = len(messages) if isinstance(producer, EmbeddedProducer) else SEND_CHUNK
    sent = 0
    for start in range(0, len(messages), max(chunk, 1)):
        part = messages[start:start + chunk]
        try:
            await run_in_threadpool(producer.send_all, part)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the client must learn how much went
            if sent == 0 and (chunk == len(messages) or isinstance(exc, InvalidInput)):
                raise
            raise PartiallySent(f"sending to the input topic failed after {sent} of {len(messages)} records were "
                                f"acknowledged (up to {len(part)} more may have been written): {exc}") from exc
        sent += len(part)
