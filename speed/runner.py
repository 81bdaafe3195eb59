"""The speed layer's two loops: the update topic feeds the model manager; input batches become UP messages."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Self

from oryxpy.config import Config
from oryxpy.errors import OryxError
from oryxpy.interfaces import SpeedModelManager, instantiate
from oryxpy.messages import MODEL, MODEL_REF, decode
from oryxpy.topics import KeyValue, Record, TopicConsumer, TopicProducer, open_consumer, open_producer
from speed.batch import InputBatch, where
from speed.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

_IDLE_POLL_S = 0.1
_UPDATE_POLL_RECORDS = 2000
_STATUS_EVERY_S = 60.0
_MODEL_QUIET_S = 1.0  # after a MODEL, how long the update topic must stay quiet before the model counts as whole


@dataclass
class SpeedCounters:
    """What the layer has seen; each field is written by one thread only."""

    update_messages: int = 0
    bad_update_messages: int = 0
    input_records: int = 0
    bad_input_records: int = 0
    input_without_model: int = 0
    failed_batches: int = 0
    batches: int = 0
    updates_published: int = 0


class SpeedLayer:
    """Runs the model manager named by ``oryx.speed.model-manager-class`` against the input and update topics.

    The update topic is read from its latest full model (no group). The input topic is read in the group
    ``OryxGroup-SpeedLayer-<oryx.id>`` (latest where the group has no offset), in batches of what is available
    (``max-batch-size``, ``max-batch-wait-ms``); offsets are committed only once the batch's UPs are acknowledged,
    at most every ``commit-interval-ms`` and at shutdown (a crash re-processes at most that much input).
    Input waits in the topic while the update topic is replayed at start, while a new model's messages are still
    arriving (nothing is published from a half-loaded model) and while a model is loading below the load fraction;
    once caught up, input that finds no model at all is counted, logged and dropped (the batch layer's first
    model is built from it).
    """

    def __init__(self, config: Config, manager: SpeedModelManager | None = None):
        self.config = config
        self.manager = manager or instantiate(
            config.settings.speed.model_manager_class, "oryx.speed.model-manager-class", config, SpeedModelManager)
        self.counters = SpeedCounters()
        self._batch_size = int(config.settings.speed.max_batch_size)
        self._batch_wait_s = int(config.settings.speed.max_batch_wait_ms) / 1000.0
        self._commit_interval_s = int(config.settings.speed.commit_interval_ms) / 1000.0
        self._group = config.group_id("SpeedLayer")
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._settled = threading.Event()  # set while every model message published so far has been consumed
        self._input_ready = threading.Event()
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._close_lock = threading.Lock()
        self._closed = False
        self._no_model_log = RateLimitedLog(log)
        self._holding_log = RateLimitedLog(log, 30.0, logging.INFO)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        """Start both loops (once); returns when the input consumer's start position is fixed."""
        if self._threads:
            return
        for name, target in (("OryxSpeedLayerUpdateConsumerThread", self._consume_updates),
                             ("OryxSpeedLayerInputThread", self._process_input)):
            thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout_s
        while not self._input_ready.wait(0.05):
            if self._stop.is_set() or time.monotonic() > deadline:
                self.stop()
                self._raise_error()
                raise OryxError(f"the speed layer's input consumer was not ready within {timeout_s:.0f} s")
        log.info("Speed layer started: input group %s", self._group)

    def stop(self) -> None:
        """Ask both loops to finish (the batch in progress is published and committed first) and wait for them."""
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self.manager.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the layer stops (by :meth:`stop` or a fatal error); re-raises the error. True if stopped."""
        stopped = self._stop.wait(timeout_s)
        if stopped:
            self.stop()
            self._raise_error()
        return stopped

    @property
    def caught_up(self) -> bool:
        """Whether the update topic has been read to its end once since start."""
        return self._caught_up.is_set()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # a failure of a loop itself (not of one record) stops the layer
                log.exception("Speed layer thread %s failed; stopping", threading.current_thread().name)
                self._error = self._error or exc
                self._stop.set()
        return run

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- the update topic -------------------------------------------------------------------------------

    def _consume_updates(self) -> None:
        consumer = open_consumer(self.config, "update", None, "earliest", from_latest_model=True)
        try:
            if not consumer.wait_assigned(self._stop):
                return
            last_model_message = time.monotonic()
            while not self._stop.is_set():
                records = consumer.poll(_IDLE_POLL_S, _UPDATE_POLL_RECORDS)
                for record in records:
                    if record.key in (MODEL, MODEL_REF):
                        self._settled.clear()  # its vectors follow: hold input until they are all consumed
                    self._apply_update(record)
                if records and not self._settled.is_set():
                    last_model_message = time.monotonic()
                # the batch layer publishes a model's vectors right after it: the model is whole once the topic
                # has been read to its end and stayed quiet for a moment (input is held, so speed itself is quiet)
                if (not records and not self._settled.is_set() and consumer.lag() == 0
                        and time.monotonic() - last_model_message >= _MODEL_QUIET_S):
                    self._settled.set()
                    if not self._caught_up.is_set():
                        log.info("Read the update topic up to its end (%d messages)", self.counters.update_messages)
                        self._caught_up.set()
        finally:
            consumer.close()

    def _apply_update(self, record: Record) -> None:
        try:
            self.manager.consume(decode(record.key, record.value))
            self.counters.update_messages += 1
        except Exception as exc:  # a bad update message is skipped, never fatal
            self.counters.bad_update_messages += 1
            log.warning("Skipping bad update message at %s (key %r): %s", where(record), record.key, exc,
                        exc_info=not isinstance(exc, OryxError))

    # -- the input topic --------------------------------------------------------------------------------

    def _process_input(self) -> None:
        consumer = open_consumer(self.config, "input", self._group, "latest")
        producer = open_producer(self.config, "update")
        try:
            if not consumer.wait_assigned(self._stop):
                return
            consumer.commit()  # pins the start position, so input arriving from now on is not skipped later
            self._input_ready.set()
            last_status = last_commit = time.monotonic()
            pending = False
            while not self._stop.is_set():
                if self._may_read_input():
                    records = self._next_batch(consumer)
                    if records:
                        if not self._process(records, producer):
                            pending = False  # stopped while the batch waited for a model: commit nothing more
                            break
                        pending = True
                if pending and time.monotonic() - last_commit >= self._commit_interval_s:
                    consumer.commit()
                    pending, last_commit = False, time.monotonic()
                if time.monotonic() - last_status > _STATUS_EVERY_S:
                    log.info("Speed layer: %s", asdict(self.counters))
                    last_status = time.monotonic()
            if pending:
                consumer.commit()  # graceful stop: everything polled has been published
        finally:
            consumer.close()
            producer.close()

    def _may_read_input(self) -> bool:
        """False (after a short wait) while the update topic is replayed or the model is loading: input waits."""
        if not self._caught_up.is_set():
            self._stop.wait(_IDLE_POLL_S)
            return False
        if not self._settled.is_set():
            self._holding_log.event("A new model's messages are still arriving; input waits in the topic")
            self._stop.wait(_IDLE_POLL_S)
            return False
        if self.manager.model_status() == "loading":
            self._holding_log.event("Model is still loading; input waits in the topic")
            self._stop.wait(_IDLE_POLL_S)
            return False
        return True

    def _next_batch(self, consumer: TopicConsumer) -> list[Record]:
        """What is available now (up to max-batch-size), plus what arrives within max-batch-wait-ms after it."""
        records = consumer.poll(_IDLE_POLL_S, self._batch_size)
        deadline = time.monotonic() + self._batch_wait_s
        while records and len(records) < self._batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            records.extend(consumer.poll(remaining, self._batch_size - len(records)))
        return records

    def _process(self, records: list[Record], producer: TopicProducer) -> bool:
        """Fold ``records`` in and publish the updates; False if the layer stopped while they waited for a model."""
        status = self.manager.model_status()
        while status == "loading" or not self._settled.is_set():  # a new model arrived since these were polled
            if self._stop.wait(_IDLE_POLL_S):
                return False
            status = self.manager.model_status()
        self.counters.input_records += len(records)
        if status != "ready":  # "none": no model at all; the batch layer's first model is built from this input
            self.counters.input_without_model += len(records)
            self._no_model_log.event("No model ready (%s): dropped %d input records up to %s (counted as input_without_model)",
                                     status, len(records), where(records[-1]), count=len(records))
        else:
            updates: list[KeyValue] = []
            try:
                updates = self.manager.build_updates(InputBatch(records, self._reject))
            except Exception:  # a bug or bad state must not stop the layer: log, count, go on
                self.counters.failed_batches += 1
                log.exception("Failed to process input %s .. %s; skipped", where(records[0]), where(records[-1]))
            producer.send_all(updates)  # blocks until acknowledged; a failure here is fatal and commits nothing
            self.counters.updates_published += len(updates)
            self.counters.batches += 1
        return True

    def _reject(self, record: Record, error: Exception) -> None:
        self.counters.bad_input_records += 1  # oryxpy.validation.BAD_RECORDS logs the first of each kind in full
        log.debug("Skipping bad input record at %s: %s", where(record), error)
