"""The serving layer's update-topic consumer thread: replays the topic from its latest full model into the manager."""

from __future__ import annotations

import logging
import threading
import time

from oryxpy.config import Config
from oryxpy.errors import OryxError
from oryxpy.interfaces import ServingModelManager
from oryxpy.messages import UpdateMessage, decode
from oryxpy.topics import TopicConsumer, open_consumer
from oryxpy.topics.base import Record

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 1.0


class UpdateConsumer:
    """Polls the update topic (timeout doubling from 1 ms to 1 s while idle) and feeds each message to the manager.

    A bad message is logged and skipped. If polling fails (broker gone) it logs, waits and retries. ``lag`` (messages
    not yet consumed), ``consumed`` and ``errors`` are plain attributes for metrics. :attr:`caught_up` turns true once
    the topic is consumed up to the end offsets seen when the consumer started (the replay is over); ``replay_total``
    and ``replay_done`` say how far that replay is.
    """

    def __init__(self, config: Config, manager: ServingModelManager):
        self.config = config
        self.manager = manager
        self.lag = 0
        self.consumed = 0
        self.errors = 0
        self.replay_total: int | None = None  # messages from the start position to the ends seen at start
        self.replay_done = 0
        self._replay_ends: dict[int, int] | None = None
        self._replay_starts: dict[int, int] = {}
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="OryxServingLayerUpdateConsumerThread", daemon=True)

    def start(self, wait_s: float = 10.0) -> None:
        self._thread.start()
        self._started.wait(wait_s)

    @property
    def caught_up(self) -> bool:
        """Whether the update topic has been consumed up to the end offsets it had when this consumer started."""
        return self._caught_up.is_set()

    def wait_caught_up(self, timeout_s: float) -> bool:
        return self._caught_up.wait(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        consumer: TopicConsumer | None = None
        backoff = 1.0
        try:
            while not self._stop.is_set():
                try:
                    if consumer is None:
                        consumer = open_consumer(self.config, "update", None, "earliest", from_latest_model=True)
                        consumer.wait_ready()
                        if self._replay_ends is None:  # the first connection fixes what "replayed" means
                            self._replay_starts = consumer.positions()
                            self._replay_ends = consumer.end_offsets()
                            self.replay_total = sum(max(0, end - self._replay_starts.get(p, 0))
                                                    for p, end in self._replay_ends.items())
                            log.info("replaying %d update messages before the serving layer is ready", self.replay_total)
                    self._started.set()
                    self._loop(consumer)
                except Exception:
                    log.exception("update topic consumer failed; retrying in %.0f s", backoff)
                    if consumer is not None:
                        _close_quietly(consumer)
                        consumer = None
                    self._stop.wait(backoff)
                    backoff = min(10.0, backoff * 2)
        finally:
            self._started.set()
            if consumer is not None:
                _close_quietly(consumer)

    def _loop(self, consumer: TopicConsumer) -> None:
        timeout = 0.001
        next_lag = 0.0
        while not self._stop.is_set():
            records = consumer.poll(timeout_s=timeout, max_records=1000)
            timeout = 0.001 if records else min(1.0, timeout * 2)
            self._apply(records)
            if not self._caught_up.is_set():
                self._check_replay(consumer)
            now = time.monotonic()
            if now >= next_lag:
                self.lag = consumer.lag()
                next_lag = now + LAG_INTERVAL_S

    def _apply(self, records: list[Record]) -> None:
        """Decode the poll's records and hand the manager, in one call, those that are not proven repeats (so it may
        apply a run of UPs under one write-lock hold). A bad message is logged, counted and skipped."""
        decoded: list[tuple[Record, UpdateMessage]] = []
        for record, repeat in zip(records, self._repeats(records), strict=True):
            if repeat:  # an UP the manager proved already applied (a MODEL-REF's replay): nothing to do
                self.consumed += 1
                continue
            try:
                decoded.append((record, decode(record.key, record.value)))
            except Exception as exc:
                self._skipped(record, exc)
        if not decoded:
            return
        messages = [message for _, message in decoded]
        try:
            errors = self.manager.consume_many(messages)
        except Exception:  # a manager's own failure (it should report per message): apply each alone
            log.exception("applying %d update messages together failed; applying each", len(messages))
            errors = ServingModelManager.consume_many(self.manager, messages)
        for (record, _), error in zip(decoded, errors, strict=True):
            if error is None:
                self.consumed += 1
            else:
                self._skipped(record, error)

    def _skipped(self, record: Record, exc: Exception) -> None:
        self.errors += 1
        log.warning("skipping update message at %s/%d/%d (key %s): %s", record.topic, record.partition,
                    record.offset, record.key, exc, exc_info=not isinstance(exc, OryxError))

    def _repeats(self, records: list[Record]) -> list[bool]:
        """Per record, whether the manager proves it an UP that changes nothing (ServingModelManager.repeated_updates)."""
        if not records:
            return []
        try:
            return [bool(r) for r in self.manager.repeated_updates([(r.key, r.value) for r in records])]
        except Exception:  # the full path then handles (and reports) every message
            log.exception("checking %d update messages for repeats failed; applying each", len(records))
            return [False] * len(records)

    def _check_replay(self, consumer: TopicConsumer) -> None:
        ends = self._replay_ends or {}
        positions = consumer.positions()
        self.replay_done = sum(min(end, positions.get(p, 0)) - min(end, self._replay_starts.get(p, 0))
                               for p, end in ends.items())
        if consumer.reached(ends):
            log.info("replayed the update topic up to its end at start (%d messages)", self.replay_done)
            self._caught_up.set()


def _close_quietly(consumer: TopicConsumer) -> None:
    try:
        consumer.close()
    except Exception:  # closing a broken connection may fail too
        log.debug("closing the update consumer failed", exc_info=True)
