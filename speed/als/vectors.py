"""Feature vectors by ID in one contiguous, growable float32 array, with their Gram matrix V'V kept up to date."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

import numpy as np

from oryxpy.als import gram
from oryxpy.errors import InvalidInput

_MIN_CAPACITY = 1024


class FeatureVectors:
    """Vectors of one side (users X or items Y): row ``index[id]`` of ``matrix``; thread-safe.

    IDs inserted (not overwritten) since the last :meth:`retain_recent_and` are "recent" and survive it.
    V'V is updated with each write (old rows out, new rows in: O(k^2) per vector), so a solver needs no pass over
    all vectors; it is recomputed from scratch when vectors are removed. Rows past the end are always zero.
    """

    def __init__(self, features: int, capacity: int = _MIN_CAPACITY):
        self.features = features
        self._matrix = np.zeros((max(capacity, _MIN_CAPACITY), features), dtype=np.float32)
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self._recent: set[str] = set()
        self._gram = np.zeros((features, features), dtype=np.float64)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._index

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def get(self, id_: str) -> np.ndarray | None:
        """A copy of one vector, or None."""
        with self._lock:
            row = self._index.get(id_)
            return None if row is None else self._matrix[row].copy()

    def vectors(self) -> np.ndarray:
        """All vectors (n x k) as a view; rows written later may or may not show."""
        with self._lock:
            return self._matrix[: len(self._ids)]

    def gram(self) -> np.ndarray | None:
        """V'V (k x k, float64), None when there are no vectors."""
        with self._lock:
            return self._gram.copy() if self._ids else None

    def gather(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the vectors of ``ids`` (zeros where unknown) and a mask of those that are known."""
        with self._lock:
            rows = np.fromiter((self._index.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
            known = rows >= 0
            out = self._matrix[np.where(known, rows, 0)]
        out[~known] = 0.0
        return out, known

    def set(self, id_: str, vector: np.ndarray) -> None:
        """Store one vector (a new ID becomes recent)."""
        if len(vector) != self.features:
            raise InvalidInput(f"expected a vector of {self.features} features, got {len(vector)}")
        with self._lock:
            row = self._index.get(id_)
            if row is None:
                row = self._add(id_)
                self._reserve(row + 1)
            old = self._matrix[row].astype(np.float64)
            self._matrix[row] = vector
            new = self._matrix[row].astype(np.float64)
            self._gram += np.outer(new, new) - np.outer(old, old)

    def _add(self, id_: str) -> int:
        row = len(self._ids)
        self._index[id_] = row
        self._ids.append(id_)
        self._recent.add(id_)
        return row

    def set_many(self, ids: Sequence[str], matrix: np.ndarray) -> None:
        """Store many vectors at once."""
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.features or matrix.shape[0] != len(ids):
            raise InvalidInput(f"expected {len(ids)} vectors of {self.features} features, got shape {matrix.shape}")
        with self._lock:
            rows = np.empty(len(ids), dtype=np.int64)
            for n, id_ in enumerate(ids):
                row = self._index.get(id_)
                rows[n] = self._add(id_) if row is None else row
            self._reserve(len(self._ids))
            touched = np.unique(rows)
            old = self._matrix[touched].astype(np.float64)
            self._matrix[rows] = matrix
            new = self._matrix[touched].astype(np.float64)
            self._gram += new.T @ new - old.T @ old

    def _reserve(self, size: int) -> None:
        if size > len(self._matrix):
            grown = np.zeros((max(size, 2 * len(self._matrix)), self.features), dtype=np.float32)
            grown[: len(self._matrix)] = self._matrix
            self._matrix = grown

    def retain_recent_and(self, keep: Collection[str]) -> int:
        """Delete vectors whose ID is neither in ``keep`` nor recent, then forget the recent IDs; returns how many went."""
        with self._lock:
            kept = [n for n, id_ in enumerate(self._ids) if id_ in keep or id_ in self._recent]
            removed = len(self._ids) - len(kept)
            if removed:
                rows = np.asarray(kept, dtype=np.int64)
                matrix = np.zeros((max(len(kept), _MIN_CAPACITY), self.features), dtype=np.float32)
                matrix[: len(kept)] = self._matrix[rows]
                self._matrix = matrix
                self._ids = [self._ids[n] for n in kept]
                self._index = {id_: n for n, id_ in enumerate(self._ids)}
                self._gram = gram(self._matrix[: len(kept)])
            self._recent.clear()
            return removed
