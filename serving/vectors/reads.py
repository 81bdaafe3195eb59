"""The lookups of VectorServingModel, each under the model's read lock: vectors, IDs, known items and their counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

from serving.vectors.known import KnownItems
from serving.vectors.rwlock import RWLock
from serving.vectors.vectors import VectorStore


class ModelReads:
    """Reads of user (X) and item (Y) vectors and known items; the model (its subclass) owns and writes the state."""

    X: VectorStore
    Y: VectorStore
    known: KnownItems
    lock: RWLock
    version: int
    _counts_cache: dict[str, tuple[int, Counter[str]]]

    def user_vector(self, user: str) -> np.ndarray | None:
        with self.lock.read():
            return self.X.get(user)

    def item_vector(self, item: str) -> np.ndarray | None:
        with self.lock.read():
            return self.Y.get(item)

    def item_vectors(self, items: Iterable[str]) -> list[np.ndarray | None]:
        with self.lock.read():
            return [self.Y.get(i) for i in items]

    def known_items(self, user: str) -> tuple[str, ...]:
        with self.lock.read():
            user_num = self.X.num_of(user)
            return tuple(self.Y.table.ids_of(self.known.row(user_num))) if user_num >= 0 else ()

    def known_item_vectors(self, user: str) -> list[tuple[str, np.ndarray]]:
        """(item, vector) for the user's known items that have vectors."""
        with self.lock.read():
            user_num = self.X.num_of(user)
            nums = self.known.row(user_num) if user_num >= 0 else []
            pairs = []
            for num, item in zip(nums, self.Y.table.ids_of(nums), strict=True):
                loc = self.Y.locate_num(num)
                if loc is not None:
                    pairs.append((item, self.Y.blocks[loc[0]].matrix[loc[1]].copy()))
        return pairs

    def user_ids(self) -> list[str]:
        with self.lock.read():
            return self.X.ids()

    def item_ids(self) -> list[str]:
        with self.lock.read():
            return self.Y.ids()

    def user_counts(self) -> Counter[str]:
        """User -> number of known items."""
        return self._counts("users", lambda: self.X.counter(self.known.counts_per_user(len(self.X.table))))

    def item_counts(self) -> Counter[str]:
        """Item -> number of users that know it."""
        return self._counts("items", lambda: self.Y.counter(self.known.counts_per_item(len(self.Y.table))))

    def _counts(self, name: str, compute: Callable[[], Counter[str]]) -> Counter[str]:
        with self.lock.read():
            cached = self._counts_cache.get(name)
            if cached is not None and cached[0] == self.version:
                return cached[1]
            version, counts = self.version, compute()
        self._counts_cache[name] = (version, counts)
        return counts
