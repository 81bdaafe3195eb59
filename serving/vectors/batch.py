"""Coalesces concurrent scans of the same item matrix into one matrix product, so the matrix is read once for all."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

MAX_BATCH = 32
CHUNK_ROWS = 8192  # rows of a batch product computed at a time (8192 x 32 float32 = 1 MB)


@dataclass(eq=False)
class _Job:
    key: tuple[int, int]
    target: np.ndarray
    result: np.ndarray | None = None
    error: BaseException | None = None
    taken: bool = False  # in a running batch
    done: bool = field(default=False)


class ScanBatcher:
    """Leader/follower batching without added delay: while fewer than ``leaders`` scans run (one by default), a caller
    computes at once, taking every queued job on the same matrix with it; otherwise it queues for the next batch.
    One leader measured best on 2 cores (2-8 concurrent callers): concurrent passes compete for memory bandwidth, and
    waiting callers form larger batches.

    Scanning is memory-bound, so Y @ [q1..qC] costs about what Y @ q costs: under concurrent requests throughput
    grows with the batch. Callers hold the model's read lock, so every job in a batch sees the same matrix.
    """

    def __init__(self, leaders: int | None = None) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._leaders = leaders or 1
        self._active = 0
        self.largest_batch = 0  # for metrics and tests

    def scores(self, matrix: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``matrix @ target`` (float32, contiguous, the caller's own: a row of a batch product no other job uses)."""
        job = _Job((matrix.ctypes.data, len(matrix)), target)  # views of one buffer share a key
        with self._cond:
            self._queue.append(job)
            while not job.done and (job.taken or self._active >= self._leaders):
                self._cond.wait()
            if not job.done:
                self._active += 1
                batch = [job] + [j for j in self._queue if j.key == job.key and j is not job][: MAX_BATCH - 1]
                for j in batch:
                    j.taken = True
                self._queue = [j for j in self._queue if not j.taken]
                self.largest_batch = max(self.largest_batch, len(batch))
        if job.done:
            return self._result(job)
        try:
            if len(batch) == 1:
                job.result = matrix @ job.target
            else:
                product = _batch_product(matrix, np.stack([j.target for j in batch], axis=1))
                for row, j in enumerate(batch):
                    j.result = product[row]
        except BaseException as exc:  # every waiter must learn of the failure
            for j in batch:
                j.error = exc
        finally:
            with self._cond:
                for j in batch:
                    j.done = True
                self._active -= 1
                self._cond.notify_all()
        return self._result(job)

    @staticmethod
    def _result(job: _Job) -> np.ndarray:
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result


def _batch_product(matrix: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``(matrix @ targets).T``, C-contiguous: each query's scores are one contiguous row. Computed by row chunks that
    stay in cache, transposed into place (a plain product has each query's scores strided across the whole result)."""
    out = np.empty((targets.shape[1], len(matrix)), dtype=np.float32)
    chunk = np.empty((min(CHUNK_ROWS, len(matrix)), targets.shape[1]), dtype=np.float32)
    for start in range(0, len(matrix), CHUNK_ROWS):
        rows = min(CHUNK_ROWS, len(matrix) - start)
        np.matmul(matrix[start : start + rows], targets, out=chunk[:rows])
        out[:, start : start + rows] = chunk[:rows].T
    return out
