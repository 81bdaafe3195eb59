"""A compact table of ID strings numbered 0..n-1: one Arrow string array (the IDs of a bulk load) with a linear-probing
hash index in a numpy int32 array, plus a small Python overlay for IDs added one at a time after it (UP messages).

The index is built without a per-ID Python loop: an ID's home slot grows with its 64-bit ``hash``, so after sorting the
hashes each ID's slot is ``max(home, slot of the one before + 1)``, a cumulative maximum (the table does not wrap: it
ends past the last occupied slot with an empty one). Each number keeps 8 bits of its hash (one byte), so a bulk lookup
compares strings only where those match: for one probe of another ID in 256. A million IDs of 7 characters take about
17 MB (bytes, offsets, index and hash bits), against about 150 MB as Python strings in a dict. Numbers are never
reused or moved: a store that drops IDs builds a new table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_LOAD = 0.7  # slots at most 70 % full: linear probing then needs about 2 probes per hit, 6 per miss
HASH_MASK = (1 << 64) - 1
TAG_MASK = (1 << 8) - 1
FEW = 16  # IDs looked up one by one rather than probed in bulk
PROBE_ROUNDS = 8  # bulk probing rounds; a value still probing after them is looked up alone

IdArray: TypeAlias = Sequence[str] | pa.Array | pa.ChunkedArray


def _string_array(ids: IdArray, any_offset: bool = False) -> pa.StringArray:
    """``ids`` as one Arrow string array without nulls; starting at offset 0 of its buffers unless ``any_offset``."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    array = ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.string())
    if array.type != pa.string():
        array = array.cast(pa.string())
    if array.null_count:
        raise ValueError("an ID is null")
    return pa.concat_arrays([array]) if array.offset and not any_offset else array


def hashes_of(ids: Sequence[str] | pa.Array) -> np.ndarray:
    """Python's ``hash`` of each ID as uint64 (one C-level pass; no Python loop)."""
    strings = ids.to_pylist() if isinstance(ids, pa.Array) else ids
    return np.fromiter(map(hash, strings), dtype=np.int64, count=len(strings)).view(np.uint64)


def home_slots(hashes: np.ndarray, capacity: int) -> np.ndarray:
    """Home slots in [0, capacity), growing with the hash (the top 32 bits scaled to the capacity)."""
    return ((hashes >> np.uint64(32)) * np.uint64(capacity) >> np.uint64(32)).astype(np.int64)


def _home(id_: str, capacity: int) -> int:
    return (((hash(id_) & HASH_MASK) >> 32) * capacity) >> 32


class IdTable:
    """ID <-> number. Not synchronized for writers; readers may run alongside one writer (the overlay is a dict and a
    list, whose single operations are atomic under the GIL, and the base never changes)."""

    def __init__(self, ids: IdArray = (), hashes: np.ndarray | None = None) -> None:
        """A table of ``ids`` in their order; they must be distinct (see :func:`distinct_ids`). ``hashes``: their
        :func:`hashes_of`, when already computed."""
        self._base = _string_array(ids)
        self._base_n = n = len(self._base)
        buffers = self._base.buffers()
        self._offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1) if n else np.zeros(1, dtype=np.int32)
        self._bytes = memoryview(buffers[2]).cast("B").toreadonly() if n and buffers[2] is not None else memoryview(b"")
        self._capacity = max(16, int(n / MAX_LOAD) + 1)
        if hashes is None:
            hashes = hashes_of(self._base) if n else np.empty(0, dtype=np.uint64)
        self._slots = self._placed(hashes)
        self._tags = (hashes & np.uint64(TAG_MASK)).astype(np.uint8)  # the low hash bits: most misses skip a compare
        # memoryviews index to Python ints several times faster than numpy scalars (lookups are per request)
        self._slot_view, self._offset_view = self._slots.data, self._offsets.data
        self._extra: list[str] = []
        self._extra_index: dict[str, int] = {}

    def _placed(self, hashes: np.ndarray) -> np.ndarray:
        """The slot array: numbers 0..n-1 by linear probing in hash order, at once (see the module's note)."""
        if not len(hashes):
            return np.full(self._capacity + 1, -1, dtype=np.int32)
        order = np.argsort(hashes, kind="stable")
        homes = home_slots(hashes[order], self._capacity)
        steps = np.arange(len(order), dtype=np.int64)
        slots_at = steps + np.maximum.accumulate(homes - steps)
        slots = np.full(max(self._capacity, int(slots_at[-1]) + 1) + 1, -1, dtype=np.int32)
        slots[slots_at] = order
        return slots

    def __len__(self) -> int:
        return self._base_n + len(self._extra)

    def find(self, id_: str) -> int:
        """The number of ``id_``, or -1."""
        num = self._find_base(id_) if self._base_n else -1
        return num if num >= 0 else self._extra_index.get(id_, -1)

    def _find_base(self, id_: str) -> int:
        key = id_.encode()
        slots, offsets, data = self._slot_view, self._offset_view, self._bytes
        slot = _home(id_, self._capacity)
        while True:
            num = slots[slot]
            if num < 0:
                return -1
            if data[offsets[num] : offsets[num + 1]] == key:
                return num
            slot += 1

    def add(self, id_: str) -> int:
        """The number of ``id_``, appended if new (by the only writer)."""
        num = self.find(id_)
        if num < 0:
            num = len(self)
            self._extra.append(id_)
            self._extra_index[id_] = num
        return num

    def is_exactly(self, ids: list[str]) -> bool:
        """Whether ``ids`` are this table's IDs in its order (a model's ID list against its own files: one compare)."""
        return not self._extra and len(ids) == self._base_n and pa.array(ids, type=pa.string()).equals(self._base)

    def find_many(self, ids: IdArray) -> np.ndarray:
        """int64 numbers of many IDs (-1 where absent): the base probed for all at once, round by round, the overlay
        by dict."""
        if ids is self._base:  # the very array this table was built from (a bulk load's own IDs)
            return np.arange(self._base_n, dtype=np.int64)
        values: list[str] | pa.StringArray = ids if isinstance(ids, list) else _string_array(ids, any_offset=True)
        if len(values) <= FEW:  # one lookup each costs less than setting up the bulk probe (1 ID: 1 us against 50 us)
            listed = values if isinstance(values, list) else values.to_pylist()
            return np.fromiter(map(self.find, listed), dtype=np.int64, count=len(listed))
        found = np.full(len(values), -1, dtype=np.int64)
        if self._base_n and len(values):
            self._probe(values, found)
        if self._extra and (found < 0).any():
            missing = np.flatnonzero(found < 0)
            strings = [values[j] for j in missing.tolist()] if isinstance(values, list) else \
                values.take(pa.array(missing)).to_pylist()
            get = self._extra_index.get
            found[missing] = [get(s, -1) for s in strings]
        return found

    def _probe(self, values: list[str] | pa.StringArray, found: np.ndarray) -> None:
        """Linear probing for all ``values`` at once, in numpy: each round, a value whose slot holds a number with the
        same hash tag takes it as its candidate, the others move on until an empty slot. The candidates are then
        checked as strings in one pass; the rare tag collision, and a value still probing after a few rounds (a long
        cluster), is looked up alone."""
        hashes = hashes_of(values)
        tags = (hashes & np.uint64(TAG_MASK)).astype(np.uint8)
        candidates = np.full(len(values), -1, dtype=np.int64)
        pending = np.arange(len(values), dtype=np.int64)
        slot = home_slots(hashes, self._capacity)
        for _ in range(PROBE_ROUNDS):
            if not len(pending):
                break
            number = self._slots[slot]
            occupied = number >= 0
            pending, slot, number = pending[occupied], slot[occupied], number[occupied]
            hit = self._tags[number] == tags[pending]
            candidates[pending[hit]] = number[hit]
            pending, slot = pending[~hit], slot[~hit] + 1
        chosen = np.flatnonzero(candidates >= 0)
        array = pa.array(values, type=pa.string()) if isinstance(values, list) else values
        same = pc.equal(self._base.take(pa.array(candidates[chosen])), array.take(pa.array(chosen)))
        confirmed = same.to_numpy(zero_copy_only=False)
        found[chosen[confirmed]] = candidates[chosen[confirmed]]
        for j in np.concatenate([chosen[~confirmed], pending]).tolist():
            found[j] = self._find_base(values[j] if isinstance(values, list) else array[j].as_py())

    def id_of(self, num: int) -> str:
        if num < self._base_n:
            offsets = self._offset_view
            return str(self._bytes[offsets[num] : offsets[num + 1]], "utf-8")
        return self._extra[num - self._base_n]

    def ids_of(self, nums: Iterable[int] | np.ndarray) -> list[str]:
        """The IDs of many numbers, in order."""
        nums = np.asarray(nums if isinstance(nums, np.ndarray) else list(nums), dtype=np.int64)
        if len(nums) <= 32:
            return [self.id_of(n) for n in nums.tolist()]
        out: list[str] = self._base.take(pa.array(np.minimum(nums, max(self._base_n - 1, 0)))).to_pylist() \
            if self._base_n else [""] * len(nums)
        for pos in np.flatnonzero(nums >= self._base_n).tolist():
            out[pos] = self._extra[int(nums[pos]) - self._base_n]
        return out

    def as_arrow(self, nums: np.ndarray) -> pa.StringArray:
        """The IDs of ``nums`` as an Arrow array (for bulk hash joins)."""
        taken: pa.StringArray = self._base.take(pa.array(nums)) if not self._extra else \
            pa.array(self.ids_of(nums), type=pa.string())
        return taken

    def nbytes(self) -> int:
        """Bytes of the base strings, offsets and index (the overlay's Python objects estimated at 100 B an ID)."""
        return int(self._base.nbytes + self._slots.nbytes + self._tags.nbytes + 100 * len(self._extra))


def distinct_ids(ids: pa.Array | pa.ChunkedArray) -> tuple[IdTable, np.ndarray | None]:
    """A table of ``ids`` keeping the last occurrence of a repeated one, and the sorted positions kept (None when the
    IDs are distinct). Repeats show as equal adjacent hashes once sorted, so distinct IDs cost no more than the table."""
    array = _string_array(ids)
    hashes = hashes_of(array)
    ordered = np.sort(hashes)
    if not len(ordered) or not (ordered[1:] == ordered[:-1]).any():
        return IdTable(array, hashes), None
    keep = last_occurrences(array)
    if keep is None:  # only a 64-bit hash collision between distinct IDs
        return IdTable(array, hashes), None
    return IdTable(array.take(pa.array(keep)), hashes[keep]), keep


def last_occurrences(ids: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Sorted positions of the last occurrence of each distinct ID, or None when the IDs are already distinct."""
    array = _string_array(ids)
    encoded = array.dictionary_encode()
    if len(encoded.dictionary) == len(array):
        return None
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    _, first_from_end = np.unique(codes[::-1], return_index=True)
    return np.sort(len(codes) - 1 - first_from_end)
