"""A phase-fair read-write lock: many readers or one writer; readers and a waiting writer take turns, so neither starves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RWLock:
    """Not reentrant: a thread holding the read lock must not take it again (a waiting writer would deadlock it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._readers_waiting = 0
        self._admit = 0  # readers that were waiting when a writer finished: they go before the next writer

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._readers_waiting += 1
            while self._writing or (self._writers_waiting and not self._admit):
                self._cond.wait()
            self._readers_waiting -= 1
            if self._admit:
                self._admit -= 1
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers or self._admit:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._admit = self._readers_waiting
                self._cond.notify_all()
