"""Logging at most once per interval, with a count of what happened in between."""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    """Counts events and logs one line per ``interval_s`` (the first event logs at once)."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0, level: int = logging.WARNING):
        self._logger = logger
        self._interval_s = interval_s
        self._level = level
        self._last = -float("inf")
        self._pending = 0
        self._lock = threading.Lock()

    def event(self, message: str, *args: object, count: int = 1) -> None:
        """Record ``count`` events; log ``message % args`` plus how many since the last line, if it is time."""
        now = time.monotonic()
        with self._lock:
            self._pending += count
            if now - self._last < self._interval_s:
                return
            pending, self._pending, self._last = self._pending, 0, now
        self._logger.log(self._level, message + " (%d since the last such message)", *args, pending)
