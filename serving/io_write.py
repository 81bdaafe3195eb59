"""What the write endpoints share: the read-only check, raw-path IDs and acknowledged sends to the input topic."""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import unquote

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from oryxpy.errors import InvalidInput, NotFound, PartiallySent, ReadOnly
from oryxpy.topics import TopicProducer, input_message_key
from oryxpy.topics.embedded import EmbeddedProducer
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


def raw_segments(request: Request, decoded_tail: str, count: int) -> list[str]:
    """The last ``count`` path segments, split on the raw path so that IDs may hold ``/`` sent as %2F.

    ``decoded_tail`` is what the route matched after its fixed prefix; NotFound (404) when it is not made of
    exactly ``count`` raw segments, InvalidInput (400) when a segment is not UTF-8 once percent-decoded.
    """
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    segments = raw.split(b"?", 1)[0].decode("latin-1").split("/")
    for n in range(1, len(segments) + 1):
        if "/".join(unquote(s, errors="replace") for s in segments[-n:]) != decoded_tail:
            continue
        if n != count:
            break
        try:
            return [unquote(s, errors="strict") for s in segments[-n:]]
        except UnicodeDecodeError:
            raise InvalidInput(f"path /{decoded_tail} is not valid UTF-8 once percent-decoded") from None
    raise NotFound(f"expected {count} path segments after the endpoint, got /{decoded_tail}")


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
