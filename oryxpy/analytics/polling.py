"""A daemon thread that polls topics until stopped, reopening its consumers after any failure (the base of the
serving layer's A/B-test and dashboard consumers)."""

from __future__ import annotations

import logging
import threading

from oryxpy.topics import TopicConsumer

log = logging.getLogger(__name__)


class PollingThread:
    """Subclasses open their consumers in ``_open`` and read one round in ``_step`` (returning how many records it
    read); an idle round waits ``idle_s``, a failure closes the consumers, counts in ``errors`` and retries after 1 s."""

    idle_s = 0.05

    def __init__(self, name: str):
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _open(self) -> list[TopicConsumer]:
        raise NotImplementedError

    def _step(self, consumers: list[TopicConsumer]) -> int:
        raise NotImplementedError

    def _run(self) -> None:
        consumers: list[TopicConsumer] = []
        while not self._stop.is_set():
            try:
                if not consumers:
                    consumers = self._open()
                if not self._step(consumers):
                    self._stop.wait(self.idle_s)
            except Exception:
                self.errors += 1
                log.exception("%s failed; reconnecting", self._thread.name)
                _close_all(consumers)
                consumers = []
                self._stop.wait(1.0)
        _close_all(consumers)


def _close_all(consumers: list[TopicConsumer]) -> None:
    for consumer in consumers:
        try:
            consumer.close()
        except Exception:  # closing after a failure is best effort
            log.debug("close failed", exc_info=True)
