"""Vectors of one side of the model (users X or items Y) in contiguous float32 blocks, one per LSH bucket, with an id index."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator

import numpy as np

GROWTH = 1.5  # capacity grows geometrically (amortized O(1) appends) but wastes at most a third
MIN_CAPACITY = 16

BucketFn = Callable[[np.ndarray], np.ndarray]


class Block:
    """The vectors of one bucket: rows [0, n) of ``matrix`` are live; ``norms`` and ``ids`` are parallel to them."""

    __slots__ = ("matrix", "norms", "ids", "n")

    def __init__(self, features: int, capacity: int = 0):
        self.matrix = np.empty((capacity, features), dtype=np.float32)
        self.norms = np.empty(capacity, dtype=np.float32)
        self.ids = np.empty(capacity, dtype=object)
        self.n = 0

    def _grow(self, needed: int) -> None:
        capacity = max(MIN_CAPACITY, int(len(self.ids) * GROWTH), needed)
        for name in ("matrix", "norms", "ids"):
            old = getattr(self, name)
            new = np.empty((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def append(self, id_: str, vector: np.ndarray) -> int:
        if self.n == len(self.ids):
            self._grow(self.n + 1)
        pos = self.n
        self.matrix[pos] = vector
        self.norms[pos] = np.linalg.norm(vector.astype(np.float64))
        self.ids[pos] = id_
        self.n += 1
        return pos

    def write(self, pos: int, vector: np.ndarray) -> None:
        self.matrix[pos] = vector
        self.norms[pos] = np.linalg.norm(vector.astype(np.float64))

    def nbytes(self) -> int:
        return int(self.matrix.nbytes + self.norms.nbytes + self.ids.nbytes)


class VectorStore:
    """id -> float32 vector. Locations are ``pos * buckets + bucket``; deletion swaps the bucket's last row into the hole.

    Not synchronized: the model guards it with its read-write lock. ``recent`` holds IDs newly inserted since the
    last MODEL (spec 4.1 / 5.2), which a new MODEL keeps even if it does not list them.
    """

    def __init__(self, features: int, buckets: int = 1, bucket_of: BucketFn | None = None):
        if buckets > 1 and bucket_of is None:
            raise ValueError("several buckets need a bucket function")
        self.features = features
        self.buckets = buckets
        self.bucket_of = bucket_of
        self.blocks = [Block(features) for _ in range(buckets)]
        self.where: dict[str, int] = {}
        self.recent: set[str] = set()

    def __len__(self) -> int:
        return len(self.where)

    def __contains__(self, id_: object) -> bool:
        return id_ in self.where

    def ids(self) -> list[str]:
        return list(self.where)

    def _bucket(self, vector: np.ndarray) -> int:
        return 0 if self.buckets == 1 else int(self.bucket_of(vector[None, :])[0])  # type: ignore[misc]

    def locate(self, id_: str) -> tuple[int, int] | None:
        """``(bucket, row)`` of an ID, or None."""
        loc = self.where.get(id_)
        return None if loc is None else (loc % self.buckets, loc // self.buckets)

    def canonical(self, id_: str) -> str | None:
        """The stored string object equal to ``id_`` (to share one object per ID), or None."""
        loc = self.locate(id_)
        return None if loc is None else self.blocks[loc[0]].ids[loc[1]]  # type: ignore[no-any-return]

    def get(self, id_: str) -> np.ndarray | None:
        """A copy of the vector of ``id_``, or None."""
        loc = self.locate(id_)
        return None if loc is None else self.blocks[loc[0]].matrix[loc[1]].copy()

    def set(self, id_: str, vector: np.ndarray) -> None:
        """Insert or overwrite a vector (moving it to another bucket if its hash changed)."""
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.features,):
            raise ValueError(f"vector of {id_} has {vector.size} values, not {self.features}")
        bucket = self._bucket(vector)
        loc = self.locate(id_)
        if loc is not None and loc[0] == bucket:
            self.blocks[bucket].write(loc[1], vector)
            return
        if loc is not None:
            self._remove_at(*loc)
        else:
            self.recent.add(id_)
        self.where[id_] = self.blocks[bucket].append(id_, vector) * self.buckets + bucket

    def _remove_at(self, bucket: int, pos: int) -> None:
        block = self.blocks[bucket]
        last = block.n - 1
        del self.where[block.ids[pos]]
        if pos != last:
            moved = block.ids[last]
            block.matrix[pos] = block.matrix[last]
            block.norms[pos] = block.norms[last]
            block.ids[pos] = moved
            self.where[moved] = pos * self.buckets + bucket
        block.ids[last] = None
        block.n = last

    def remove(self, id_: str) -> None:
        loc = self.locate(id_)
        if loc is not None:
            self._remove_at(*loc)
            self.recent.discard(id_)

    def retain_recent_and(self, keep: Collection[str]) -> None:
        """Drop every vector whose ID is neither in ``keep`` nor recent, then forget the recent set (a new MODEL)."""
        for bucket, block in enumerate(self.blocks):
            ids = block.ids[: block.n]
            mask = np.fromiter((i in keep or i in self.recent for i in ids), dtype=bool, count=block.n)
            if mask.all():
                continue
            for i in ids[~mask]:
                del self.where[i]
            kept = int(mask.sum())
            fresh = Block(self.features, kept)
            fresh.matrix[:] = block.matrix[: block.n][mask]
            fresh.norms[:] = block.norms[: block.n][mask]
            fresh.ids[:] = ids[mask]
            fresh.n = kept
            self.blocks[bucket] = fresh
            for pos, i in enumerate(fresh.ids):
                self.where[i] = pos * self.buckets + bucket
        self.recent = set()

    def merged_with(self, ids: list[str], matrix: np.ndarray, flat: bool = False) -> VectorStore:
        """A new store holding these vectors plus every current one whose ID is not among them (a bulk load); in one
        block if ``flat`` (to be rebucketed), else bucketed as this one."""
        matrix = np.asarray(matrix, dtype=np.float32).reshape(len(ids), self.features)
        new_ids = set(ids)
        old_ids = [i for i in self.where if i not in new_ids]
        old = np.empty((len(old_ids), self.features), dtype=np.float32)
        for row, i in enumerate(old_ids):
            bucket, pos = self.locate(i)  # type: ignore[misc]
            old[row] = self.blocks[bucket].matrix[pos]
        all_ids = np.empty(len(old_ids) + len(ids), dtype=object)
        all_ids[: len(old_ids)] = old_ids
        all_ids[len(old_ids) :] = ids
        store = VectorStore(self.features) if flat else VectorStore(self.features, self.buckets, self.bucket_of)
        store._fill(all_ids, np.concatenate([old, matrix]) if len(old_ids) else matrix)
        store.recent = {i for i in self.recent if i in store.where}
        return store

    def _fill(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Fill an empty store (later rows win for duplicate IDs)."""
        last_row = {id_: row for row, id_ in enumerate(ids.tolist())}
        keep = np.sort(np.fromiter(last_row.values(), dtype=np.int64, count=len(last_row)))
        ids, matrix = ids[keep], matrix[keep]
        buckets = np.zeros(len(ids), dtype=np.int64) if self.buckets == 1 else self.bucket_of(matrix)  # type: ignore[misc]
        norms = np.linalg.norm(matrix.astype(np.float64), axis=1).astype(np.float32)
        for bucket in range(self.buckets):
            rows = np.flatnonzero(buckets == bucket)
            block = Block(self.features, len(rows))
            block.matrix[:] = matrix[rows]
            block.norms[:] = norms[rows]
            block.ids[:] = ids[rows]
            block.n = len(rows)
            self.blocks[bucket] = block
            self.where.update(zip(block.ids.tolist(), range(bucket, len(rows) * self.buckets, self.buckets), strict=True))

    def gram(self) -> np.ndarray | None:
        """V'V in double precision, accumulated block by block in chunks (no full float64 copy); None if empty."""
        if not self.where:
            return None
        total = np.zeros((self.features, self.features), dtype=np.float64)
        for block in self.blocks:
            for start in range(0, block.n, 65536):
                chunk = block.matrix[start : min(block.n, start + 65536)].astype(np.float64)
                total += chunk.T @ chunk
        return total

    def live_blocks(self, buckets: Iterable[int] | None = None) -> Iterator[tuple[int, Block]]:
        """``(bucket, block)`` of the non-empty blocks among ``buckets`` (default all)."""
        for bucket in range(self.buckets) if buckets is None else buckets:
            block = self.blocks[int(bucket)]
            if block.n:
                yield int(bucket), block

    def nbytes(self) -> int:
        """Bytes held by the arrays (not the ID strings and the index)."""
        return sum(b.nbytes() for b in self.blocks)
