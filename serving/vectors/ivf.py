"""An inverted-file (IVF) approximate index for the item vectors, under ``oryx.serving.approximate-index = "ivf"``.

k-means over the item vectors gives ``lists`` centroids; each item lives in the list of its nearest centroid (the
item store keeps one block per list). A query scans the ``probes`` lists whose centroids score highest for it and
ranks their items exactly. New or updated item vectors go to their nearest centroid; the model retrains the centroids
when a MODEL-REF loads vectors, or when as many vectors have changed as the index was trained on (drift).
"""

from __future__ import annotations

import math

import numpy as np

from serving.vectors.vectors import VectorStore

CHUNK = 65536
SAMPLE_PER_LIST = 64  # k-means trains on a sample of this many vectors per list
ITERATIONS = 10
DEFAULT_PROBED = 0.3  # fraction of the lists probed when probes is 0


def default_lists(items: int) -> int:
    """About sqrt(items) lists."""
    return max(1, round(math.sqrt(items)))


class IVFIndex:
    """Centroids and the number of lists a query probes (0: 30% of them). A retrain builds a new index."""

    def __init__(self, centroids: np.ndarray, probes: int):
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        self._sq_norms = (self.centroids.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
        lists = len(self.centroids)
        self.probes = max(1, min(int(probes) if probes > 0 else math.ceil(DEFAULT_PROBED * lists), lists))

    @property
    def lists(self) -> int:
        return len(self.centroids)

    @classmethod
    def train(cls, matrix: np.ndarray, lists: int, probes: int, seed: int | None = None) -> IVFIndex:
        """k-means (Lloyd, k-means++-free random init) on a sample of the rows of ``matrix``."""
        rng = np.random.default_rng(seed)
        lists = max(1, min(lists, len(matrix)))
        size = min(len(matrix), lists * SAMPLE_PER_LIST)
        sample = np.asarray(matrix[np.sort(rng.choice(len(matrix), size, replace=False))], dtype=np.float32)
        index = cls(sample[rng.choice(size, lists, replace=False)], probes)
        for _ in range(ITERATIONS):
            assigned = index.assign(sample)
            counts = np.bincount(assigned, minlength=lists)
            sums = np.zeros((lists, sample.shape[1]), dtype=np.float64)
            np.add.at(sums, assigned, sample)
            centroids = index.centroids.copy()
            filled = counts > 0
            centroids[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
            empty = np.flatnonzero(~filled)  # reseed empty lists on random sample vectors
            centroids[empty] = sample[rng.choice(size, len(empty), replace=False)] if len(empty) else centroids[empty]
            index = cls(centroids, probes)
        return index

    def assign(self, matrix: np.ndarray) -> np.ndarray:
        """The list (nearest centroid, Euclidean) of each row of an (n, k) matrix."""
        matrix = np.asarray(matrix, dtype=np.float32)
        out = np.empty(len(matrix), dtype=np.int64)
        for start in range(0, len(matrix), CHUNK):
            chunk = matrix[start : start + CHUNK]
            out[start : start + len(chunk)] = np.argmin(self._sq_norms - 2 * (chunk @ self.centroids.T), axis=1)
        return out

    def probe(self, target: np.ndarray) -> np.ndarray:
        """The ``probes`` lists whose centroids have the highest dot product with ``target``."""
        scores = self.centroids @ np.asarray(target, dtype=np.float32)
        if self.probes >= len(scores):
            return np.arange(len(scores))
        return np.argpartition(scores, len(scores) - self.probes)[len(scores) - self.probes :]


def rebuild(store: VectorStore, lists: int, probes: int, seed: int | None = None) -> tuple[VectorStore, IVFIndex]:
    """A new store holding ``store``'s vectors in the lists of an index trained on them (``store`` is only read)."""
    live = [block for _, block in store.live_blocks()]
    matrix = np.concatenate([b.matrix[: b.n] for b in live]) if live else np.empty((0, store.features), np.float32)
    ids = store.table.as_arrow(store.live_nums())
    index = IVFIndex.train(matrix, lists or default_lists(len(matrix)), probes, seed)
    fresh = VectorStore(store.features, index.lists, index.assign, store.order)
    fresh.fill(ids, matrix)
    fresh.recent = set(store.recent)
    return fresh, index
