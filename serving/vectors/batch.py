"""Coalesces concurrent scans of the same item matrix into one matrix product, so the matrix is read once for all, and
spreads that product over the machine's cores."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

MAX_BATCH = 32
GATHER_SHARE = 0.5  # a leader waits at most this share of the last product's time for the other callers' scans
GATHER_MAX_S = 0.010
GATHER_FROM_S = 0.004  # no waiting after shorter products: the callers' own work would cost more than it saves
CHUNK_ROWS = 8192  # rows of a batch product computed at a time (8192 x 32 float32 = 1 MB, stays in cache)
CHUNK_COLUMNS = 32768  # items of a column-major matrix multiplied at a time
CHUNKS_PER_THREAD = 4  # a product is split over threads only when each gets at least this many chunks

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def scan_threads() -> int:
    """The cores this process may run on: one scan uses them all."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _helpers(count: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``count`` threads that compute parts of products (numpy releases the GIL meanwhile)."""
    with _pool_lock:
        if count not in _pools:
            _pools[count] = ThreadPoolExecutor(count, thread_name_prefix="scan")
        return _pools[count]


@dataclass(eq=False)
class _Job:
    key: tuple[int, int]
    target: np.ndarray
    result: np.ndarray | None = None
    error: BaseException | None = None
    taken: bool = False  # in a running batch
    done: bool = field(default=False)


class ScanBatcher:
    """Leader/follower batching: while fewer than ``leaders`` scans run (one by default), a caller computes, taking
    every queued job on the same matrix with it; otherwise it queues for the next batch. The leader's product is split
    over ``threads`` cores (all by default), so one scan at a time uses the whole machine.

    Scanning is memory-bound, so Y @ [q1..qC] costs about what Y @ q costs: under concurrent requests throughput
    grows with the batch. Before it starts, a leader waits briefly (at most ``GATHER_SHARE`` of the last product's
    time, and ``GATHER_MAX_S``; not at all after products shorter than ``GATHER_FROM_S``) until the queries announced
    with ``query()`` have queued their scans, and as many as the last two batches held: without that, callers settle
    into groups that take turns on the matrix in small batches (measured on 2 cores, 1M x 50 items, 8 threads:
    batches of 2-6 and 130 queries/s; with it, batches of 8 and 200/s). Callers hold the model's read lock, so every
    job in a batch sees the same matrix.
    """

    def __init__(self, leaders: int | None = None, threads: int | None = None) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._leaders = leaders or 1
        self.threads = threads or scan_threads()
        self._active = 0
        self._querying = 0  # callers inside query() that have not had their scores yet
        self._last_product_s = 0.0
        self._recent = [0, 0]  # the sizes of the last two batches: callers that will likely come back
        self.largest_batch = 0  # for metrics and tests

    @contextmanager
    def query(self) -> Iterator[None]:
        """Announces a query that will scan (once) before it ends, so a leader may wait for it."""
        with self._cond:
            self._querying += 1
        try:
            yield
        finally:
            with self._cond:
                self._querying -= 1
                self._cond.notify_all()

    def scores(self, matrix: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``matrix @ target`` (float32, contiguous, the caller's own: a row of a batch product no other job uses)."""
        job = _Job((matrix.ctypes.data, len(matrix)), target)  # views of one buffer share a key
        with self._cond:
            self._queue.append(job)
            self._cond.notify_all()  # a gathering leader recounts
            while not job.done and (job.taken or self._active >= self._leaders):
                self._cond.wait()
            if not job.done:
                self._active += 1
                job.taken = True  # no other leader takes it while this one gathers
                self._gather(job.key)
                batch = [job] + [j for j in self._queue if j.key == job.key and not j.taken][: MAX_BATCH - 1]
                for j in batch:
                    j.taken = True
                self._queue = [j for j in self._queue if not j.taken]
                self.largest_batch = max(self.largest_batch, len(batch))
                self._recent = [self._recent[1], len(batch)]
        if job.done:
            return self._result(job)
        started = time.perf_counter()
        try:
            product = batch_product(matrix, np.stack([j.target for j in batch], axis=1), self.threads)
            for row, j in enumerate(batch):
                j.result = product[row]
        except BaseException as exc:  # every waiter must learn of the failure
            for j in batch:
                j.error = exc
        finally:
            with self._cond:
                self._last_product_s = time.perf_counter() - started
                for j in batch:
                    j.done = True
                self._active -= 1
                self._cond.notify_all()
        return self._result(job)

    def _gather(self, key: tuple[int, int]) -> None:
        """Waits (under the condition, for a bounded time) while fewer scans of ``key`` are queued than the announced
        queries and the larger of the last two batches."""
        if self._last_product_s < GATHER_FROM_S:
            return
        deadline = time.perf_counter() + min(GATHER_MAX_S, GATHER_SHARE * self._last_product_s)
        while True:
            queued = 1 + sum(1 for j in self._queue if j.key == key and not j.taken)  # the leader's own, and waiting
            left = deadline - time.perf_counter()
            if queued >= min(max(self._querying, *self._recent), MAX_BATCH) or left <= 0:
                return
            self._cond.wait(left)

    @staticmethod
    def _result(job: _Job) -> np.ndarray:
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result


def batch_product(matrix: np.ndarray, targets: np.ndarray, threads: int = 1) -> np.ndarray:
    """``(matrix @ targets).T``, C-contiguous: each query's scores are one contiguous row. Computed by row chunks, shared
    among ``threads`` threads, the caller's one of them. A column-major ``matrix`` (``Block`` order "F") is multiplied
    from the left, each chunk straight into its columns of the result (1M x 50 items, 8 queries, 2 threads: 15-16 ms
    against 20-25 ms for a row-major one); a row-major chunk's product stays in cache and is transposed into place (a plain
    product has each query's scores strided across the whole result)."""
    out = np.empty((targets.shape[1], len(matrix)), dtype=np.float32)
    column_major = len(matrix) > 1 and matrix.strides[0] == matrix.itemsize
    step = CHUNK_COLUMNS if column_major else CHUNK_ROWS
    starts = list(range(0, len(matrix), step))
    parts = max(1, min(threads, len(starts) // CHUNKS_PER_THREAD))
    queries = np.ascontiguousarray(targets.T, dtype=np.float32) if column_major else targets

    def compute(part: int) -> None:
        if column_major:
            for start in starts[part::parts]:
                np.matmul(queries, matrix[start : start + step].T, out=out[:, start : start + step])
            return
        chunk = np.empty((min(CHUNK_ROWS, len(matrix)), targets.shape[1]), dtype=np.float32)
        for start in starts[part::parts]:
            rows = min(CHUNK_ROWS, len(matrix) - start)
            np.matmul(matrix[start : start + rows], targets, out=chunk[:rows])
            out[:, start : start + rows] = chunk[:rows].T

    others = [_helpers(parts - 1).submit(compute, part) for part in range(1, parts)] if parts > 1 else []
    try:
        compute(0)
    finally:
        for other in others:
            other.result()  # re-raises a helper's error; waits for every part before ``out`` is used or dropped
    return out
