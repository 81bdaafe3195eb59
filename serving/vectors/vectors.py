"""Vectors of one side of the model (users X or items Y) in contiguous float32 blocks, one per LSH bucket or IVF list,
with a compact ID table (``serving.vectors.ids``): each ID has a number, each block row holds the number of its ID, and one
int array maps ID numbers to ``pos * buckets + bucket`` (-1: the ID is known but has no vector, e.g. a known item).

A store of one block whose row r holds ID number r, for every number below its count and no other (after a bulk load,
and while IDs get vectors in the order they are numbered), keeps neither array: 8 bytes an ID (1M items and 500k users:
11 MB). The first change that breaks that order makes both (``_number_rows``)."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from oryxpy.als.solver import gram
from serving.vectors.block import GROWTH, MIN_CAPACITY, Block, row_norms
from serving.vectors.ids import IdTable, distinct_ids

BucketFn = Callable[[np.ndarray], np.ndarray]
IdList: TypeAlias = Sequence[str] | pa.Array | pa.ChunkedArray


class VectorStore:
    """id -> float32 vector; deletion swaps the bucket's last row into the hole.

    Not synchronized: the model guards it with its read-write lock (a reader reads ``loc`` once, so a writer replacing
    it with a larger copy, or making it, is safe; None: number r is row r of the one block, below ``count``).
    ``recent`` holds IDs newly given a vector since the last MODEL (spec 4.1 / 5.2), which a new MODEL keeps even if
    it does not list them. ``order`` is the blocks' layout (``Block``).
    """

    def __init__(self, features: int, buckets: int = 1, bucket_of: BucketFn | None = None, order: str = "C",
                 with_norms: bool = True):
        if buckets > 1 and bucket_of is None:
            raise ValueError("several buckets need a bucket function")
        self.features = features
        self.buckets = buckets
        self.bucket_of = bucket_of
        self.order, self.with_norms = order, with_norms
        self.blocks = [Block(features, order=order, numbered_by_position=buckets == 1, with_norms=with_norms)
                       for _ in range(buckets)]
        self.table = IdTable()
        self.loc_dtype = np.int32 if buckets == 1 else np.int64  # pos * buckets + bucket must fit
        self.loc: np.ndarray | None = None if buckets == 1 else np.full(MIN_CAPACITY, -1, dtype=self.loc_dtype)
        self.count = 0
        self.recent: set[str] = set()

    def __len__(self) -> int:
        return self.count

    def __contains__(self, id_: object) -> bool:
        return isinstance(id_, str) and self.locate(id_) is not None

    def ids(self) -> list[str]:
        """Every ID with a vector, in block order."""
        return self.table.ids_of(self.live_nums())

    def live_nums(self) -> np.ndarray:
        """ID numbers of every vector, in block order."""
        live = [block.nums_at() for _, block in self.live_blocks()]
        return np.concatenate(live) if live else np.empty(0, dtype=np.int32)

    def _bucket(self, vector: np.ndarray) -> int:
        return 0 if self.buckets == 1 else int(self.bucket_of(vector[None, :])[0])  # type: ignore[misc]

    def num_of(self, id_: str) -> int:
        """The number of ``id_`` in the ID table (it may have no vector), or -1."""
        return self.table.find(id_)

    def locate_num(self, num: int) -> tuple[int, int] | None:
        loc = self.loc
        if loc is None:
            return (0, num) if 0 <= num < self.count else None
        if num < 0 or num >= len(loc) or loc[num] < 0:
            return None
        where = int(loc[num])
        return where % self.buckets, where // self.buckets

    def locate(self, id_: str) -> tuple[int, int] | None:
        """``(bucket, row)`` of an ID's vector, or None."""
        return self.locate_num(self.table.find(id_))

    def rows_of(self, nums: np.ndarray) -> np.ndarray:
        """``pos * buckets + bucket`` of many ID numbers (-1 where absent)."""
        loc = self.loc
        nums = np.asarray(nums, dtype=np.int64)
        if loc is None:
            return np.where((nums >= 0) & (nums < self.count), nums, -1)
        inside = (nums >= 0) & (nums < len(loc))
        out = np.full(len(nums), -1, dtype=np.int64)
        out[inside] = loc[nums[inside]]
        return out

    def write_rows(self, nums: np.ndarray, vectors: np.ndarray) -> None:
        """Overwrite the vectors of ID numbers that have one, each in its place (one block: no bucket moves)."""
        if self.buckets != 1:
            raise ValueError("rows are written in place only in a store of one block")
        self.blocks[0].write_rows(self.rows_of(nums), np.asarray(vectors, dtype=np.float32))

    def id_at(self, bucket: int, pos: int) -> str:
        return self.table.id_of(self.blocks[bucket].num_at(pos))

    def block_ids(self, block: Block, rows: np.ndarray | None = None) -> list[str]:
        """The IDs of a block's live rows (or of ``rows`` of it)."""
        return self.table.ids_of(block.nums_at(rows))

    def numbers_adding(self, ids: pa.Array) -> np.ndarray:
        """The numbers of many IDs; those not in the table are added without a vector (by the only writer)."""
        nums = self.table.find_many(ids)
        for pos in np.flatnonzero(nums < 0).tolist():
            nums[pos] = self.add_id(ids[pos].as_py())
        return nums

    def holds(self, id_: str, vector: np.ndarray) -> bool:
        """Whether this exact vector is stored for ``id_`` (bytes: cheaper than array_equal; a -0.0 / 0.0 or NaN
        difference only costs a write of an equal value)."""
        loc = self.locate(id_)
        if loc is None:
            return False
        return bool(self.blocks[loc[0]].matrix[loc[1]].tobytes() == np.asarray(vector, dtype=np.float32).tobytes())

    def equal_rows(self, nums: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Per ID number, whether its stored vector is bit for bit ``vectors[i]`` (False where it has none)."""
        rows = self.rows_of(nums)
        equal = np.zeros(len(rows), dtype=bool)
        present = np.flatnonzero(rows >= 0)
        buckets = rows[present] % self.buckets
        for bucket in range(self.buckets) if self.buckets <= 64 else np.unique(buckets).tolist():
            chosen = present[buckets == bucket] if self.buckets > 1 else present
            if not len(chosen):
                continue
            stored = self.blocks[bucket].matrix[rows[chosen] // self.buckets]
            equal[chosen] = (stored.view(np.uint32) == vectors[chosen].view(np.uint32)).all(axis=1)
        return equal

    def counter(self, counts: np.ndarray) -> Counter[str]:
        """``{ID: count}`` of the ID numbers whose count (``counts[number]``) is not 0."""
        nonzero = np.flatnonzero(counts)
        return Counter(dict(zip(self.table.ids_of(nonzero), counts[nonzero].tolist(), strict=True)))

    def get(self, id_: str) -> np.ndarray | None:
        """A copy of the vector of ``id_``, or None."""
        loc = self.locate(id_)
        return None if loc is None else self.blocks[loc[0]].matrix[loc[1]].copy()

    def _reserve(self, size: int) -> None:
        if self.loc is not None and size > len(self.loc):
            grown = np.full(max(size, int(len(self.loc) * GROWTH)), -1, dtype=self.loc_dtype)
            grown[: len(self.loc)] = self.loc
            self.loc = grown

    def add_id(self, id_: str) -> int:
        """The number of ``id_``, added (without a vector) if new; for IDs that only known items name."""
        num = self.table.add(id_)
        self._reserve(num + 1)
        return num

    def set(self, id_: str, vector: np.ndarray) -> None:
        """Insert or overwrite a vector (moving it to another bucket if its hash changed)."""
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.features,):
            raise ValueError(f"vector of {id_} has {vector.size} values, not {self.features}")
        bucket = self._bucket(vector)
        num = self.add_id(id_)
        loc = self.locate_num(num)
        if loc is not None and loc[0] == bucket:
            self.blocks[bucket].write(loc[1], vector)
            return
        if loc is not None:
            self._remove_at(*loc)
        else:
            self.recent.add(id_)
        if self.loc is None and num != self.count:
            self._number_rows()
        pos = self.blocks[bucket].append(num, vector)
        if self.loc is not None:
            self.loc[num] = pos * self.buckets + bucket
        self.count += 1

    def _number_rows(self) -> None:
        """Make the arrays of a store whose numbers were its rows, before a change breaks that (module's note)."""
        loc = np.full(max(len(self.table), MIN_CAPACITY), -1, dtype=self.loc_dtype)
        loc[: self.count] = np.arange(self.count)
        self.blocks[0].number_rows()
        self.loc = loc

    def _remove_at(self, bucket: int, pos: int) -> None:
        block = self.blocks[bucket]
        last = block.n - 1
        if self.loc is None:
            if pos == last:  # the last number goes: the numbers below it are still their rows
                block.n = last
                self.count -= 1
                return
            self._number_rows()
        assert self.loc is not None and block.nums is not None
        self.loc[block.nums[pos]] = -1
        if pos != last:
            moved = int(block.nums[last])
            block.writable()[pos] = block.matrix[last]
            if block.norms is not None:
                block.norms[pos] = block.norms[last]
            block.nums[pos] = moved
            self.loc[moved] = pos * self.buckets + bucket
        block.n = last
        self.count -= 1

    def remove(self, id_: str) -> None:
        loc = self.locate(id_)
        if loc is not None:
            self._remove_at(*loc)
            self.recent.discard(id_)

    def retain_recent_and(self, keep: Collection[str]) -> VectorStore:
        """A store without the vectors whose ID is neither in ``keep`` nor recent, and with no recent IDs (a new MODEL);
        this store itself when nothing goes (its ID numbers then stay valid)."""
        nums = self.live_nums()
        ids = self.table.ids_of(nums)
        recent = self.recent
        mask = np.fromiter((i in keep or i in recent for i in ids), dtype=bool, count=len(ids))
        if mask.all():
            self.recent = set()
            return self
        rows = self.rows_of(nums[mask])
        matrix = np.empty((len(rows), self.features), dtype=np.float32)
        for bucket, block in self.live_blocks():
            chosen = np.flatnonzero(rows % self.buckets == bucket)
            matrix[chosen] = block.matrix[rows[chosen] // self.buckets]
        fresh = VectorStore(self.features, self.buckets, self.bucket_of, self.order, self.with_norms)
        fresh.fill(pa.array([i for i, kept in zip(ids, mask.tolist(), strict=True) if kept], type=pa.string()), matrix)
        return fresh

    def merged_with(self, ids: IdList, matrix: np.ndarray, flat: bool = False) -> VectorStore:
        """A new store holding these vectors plus every current one whose ID is not among them (a bulk load); in one
        block if ``flat`` (to be rebucketed), else bucketed as this one. ID numbers are not kept."""
        new_ids = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(ids, type=pa.string())
        matrix = np.asarray(matrix, dtype=np.float32).reshape(len(new_ids), self.features)
        if flat:
            store = VectorStore(self.features, order=self.order, with_norms=self.with_norms)
        else:
            store = VectorStore(self.features, self.buckets, self.bucket_of, self.order, self.with_norms)
        if self.count:
            old_nums = self.live_nums()
            old_ids = self.table.as_arrow(old_nums)
            kept = np.flatnonzero(~pc.is_in(old_ids, value_set=new_ids).to_numpy(zero_copy_only=False))
            old_ids, rows = old_ids.take(pa.array(kept)), self.rows_of(old_nums[kept])
            old = np.empty((len(kept), self.features), dtype=np.float32)
            for bucket, block in self.live_blocks():
                chosen = np.flatnonzero(rows % self.buckets == bucket)
                old[chosen] = block.matrix[rows[chosen] // self.buckets]
            if len(kept):
                new_ids = pa.concat_arrays([old_ids, _chunk(new_ids)])
                matrix = np.concatenate([old, matrix])
        store.fill(new_ids, matrix)
        store.recent = {i for i in self.recent if i in store}
        return store

    def fill(self, ids: IdList, matrix: np.ndarray) -> None:
        """Fill an empty store (later rows win for duplicate IDs); ``matrix`` may be kept as the store's own block."""
        id_array = _chunk(ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(ids, type=pa.string()))
        self.table, keep = distinct_ids(id_array)
        if keep is not None:
            matrix = matrix[keep]
        matrix = np.asarray(matrix, dtype=np.float32)  # may be a read-only view: kept, or copied on first write
        n = len(self.table)
        norms = row_norms(matrix) if self.with_norms else None
        if self.buckets == 1:
            block = Block(self.features, order=self.order)
            block.take(matrix, norms, None)
            self.blocks, self.loc = [block], None
        else:
            self.loc = np.full(max(n, MIN_CAPACITY), -1, dtype=self.loc_dtype)
            buckets = self.bucket_of(matrix)  # type: ignore[misc]
            for bucket in range(self.buckets):
                rows = np.flatnonzero(buckets == bucket)
                block = Block(self.features, order=self.order)
                block.take(matrix[rows], None if norms is None else norms[rows], rows.astype(np.int32))
                self.blocks[bucket] = block
                self.loc[rows] = np.arange(len(rows), dtype=np.int64) * self.buckets + bucket
        self.count = n

    def absent(self, ids: Collection[str]) -> builtins.set[str]:
        """The IDs among ``ids`` without a vector here, as a new set (looked up in bulk)."""
        if not ids:
            return set()
        listed = ids if isinstance(ids, list) else list(ids)
        if not self.count:
            return set(listed)
        if self.count == len(self.table) and self.table.is_exactly(listed):
            return set()  # every ID has a vector, and these are those IDs
        missing = np.flatnonzero(self.rows_of(self.table.find_many(listed)) < 0)
        return {listed[j] for j in missing.tolist()}

    def gram(self) -> np.ndarray | None:
        """V'V in double precision, accumulated block by block in chunks (no full float64 copy); None if empty."""
        if not self.count:
            return None
        total = np.zeros((self.features, self.features), dtype=np.float64)
        for block in self.blocks:
            if block.n:
                total += gram(block.matrix[: block.n])
        return total

    def live_blocks(self, buckets: Iterable[int] | None = None) -> Iterator[tuple[int, Block]]:
        """``(bucket, block)`` of the non-empty blocks among ``buckets`` (default all)."""
        for bucket in range(self.buckets) if buckets is None else buckets:
            block = self.blocks[int(bucket)]
            if block.n:
                yield int(bucket), block

    def nbytes(self) -> int:
        """Bytes held: the blocks' arrays, the location array and the ID table."""
        return sum(b.nbytes() for b in self.blocks) + (0 if self.loc is None else int(self.loc.nbytes)) + \
            self.table.nbytes()


def renumbering(old: VectorStore, new: VectorStore, referenced: np.ndarray) -> np.ndarray | None:
    """``mapping[old number] = new number`` for the ``referenced`` ID numbers of ``old`` (an ID that ``new`` lacks is
    added to it without a vector); None when ``new`` is ``old`` or nothing is referenced."""
    if new is old or not len(referenced):
        return None
    mapping = np.full(len(old.table), -1, dtype=np.int64)
    found = new.table.find_many(old.table.as_arrow(referenced))
    for pos in np.flatnonzero(found < 0).tolist():
        found[pos] = new.add_id(old.table.id_of(int(referenced[pos])))
    mapping[referenced] = found
    return mapping


def _chunk(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        return ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    return ids
