"""A compact table of ID strings numbered 0..n-1: one Arrow string array (the IDs of a bulk load) with an open-addressing
hash index in a numpy int32 array, plus a small Python overlay for IDs added one at a time after it (UP messages).

A million IDs of 7 characters take about 15 MB (bytes, offsets and the index), against about 150 MB as Python strings
in a dict. Numbers are never reused or moved: a store that drops IDs builds a new table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_LOAD = 0.7  # slots at most 70 % full: linear probing then needs about 2 probes per hit, 6 per miss


def _string_array(ids: Sequence[str] | pa.Array | pa.ChunkedArray, any_offset: bool = False) -> pa.StringArray:
    """``ids`` as one Arrow string array without nulls; starting at offset 0 of its buffers unless ``any_offset``."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks != 1 else ids.chunk(0)
    array = ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.string())
    if array.type != pa.string():
        array = array.cast(pa.string())
    if array.null_count:
        raise ValueError("an ID is null")
    return pa.concat_arrays([array]) if array.offset and not any_offset else array


class IdTable:
    """ID <-> number. Not synchronized for writers; readers may run alongside one writer (the overlay is a dict and a
    list, whose single operations are atomic under the GIL, and the base never changes)."""

    def __init__(self, ids: Sequence[str] | pa.Array | pa.ChunkedArray = ()) -> None:
        """A table of ``ids`` in their order; they must be distinct (see :func:`last_occurrences`)."""
        self._base = _string_array(ids)
        self._base_n = len(self._base)
        buffers = self._base.buffers()
        self._offsets = np.frombuffer(buffers[1], dtype=np.int32, count=self._base_n + 1) if self._base_n else \
            np.zeros(1, dtype=np.int32)
        self._bytes = memoryview(buffers[2]).cast("B").toreadonly() if self._base_n and buffers[2] is not None else memoryview(b"")
        capacity = max(16, int(self._base_n / MAX_LOAD) + 1)
        self._capacity = capacity
        self._slots = np.full(capacity, -1, dtype=np.int32)
        if self._base_n:
            hashes = np.fromiter(map(hash, self._base.to_pylist()), dtype=np.int64, count=self._base_n)
            self._place(hashes)
        # memoryviews index to Python ints several times faster than numpy scalars (lookups are per request)
        self._slot_view, self._offset_view = self._slots.data, self._offsets.data
        self._extra: list[str] = []
        self._extra_index: dict[str, int] = {}

    def _place(self, hashes: np.ndarray) -> None:
        """Insert numbers 0..n-1 by linear probing, all at once: each round the pending numbers whose slot is free
        claim it (one wins per slot), the others move to the next slot."""
        pending = np.arange(len(hashes), dtype=np.int32)
        capacity = self._capacity
        slot = hashes % capacity
        slots = self._slots
        while len(pending):
            taken = slots[slot] >= 0
            slot[taken] = (slot[taken] + 1) % capacity
            free = ~taken
            slots[slot[free]] = pending[free]
            won = np.zeros(len(pending), dtype=bool)
            won[free] = slots[slot[free]] == pending[free]
            pending, slot = pending[~won], slot[~won]

    def __len__(self) -> int:
        return self._base_n + len(self._extra)

    def find(self, id_: str) -> int:
        """The number of ``id_``, or -1."""
        if self._base_n:
            key = id_.encode()
            slots, offsets, data, capacity = self._slot_view, self._offset_view, self._bytes, self._capacity
            slot = hash(id_) % capacity
            while True:
                num = slots[slot]
                if num < 0:
                    break
                if data[offsets[num] : offsets[num + 1]] == key:
                    return num
                slot = slot + 1 if slot + 1 < capacity else 0
        return self._extra_index.get(id_, -1)

    def add(self, id_: str) -> int:
        """The number of ``id_``, appended if new (by the only writer)."""
        num = self.find(id_)
        if num < 0:
            num = len(self)
            self._extra.append(id_)
            self._extra_index[id_] = num
        return num

    def find_many(self, ids: Sequence[str] | pa.Array | pa.ChunkedArray) -> np.ndarray:
        """int64 numbers of many IDs (-1 where absent): a hash join in Arrow for the base, the overlay by dict."""
        values = _string_array(ids, any_offset=True)
        found: np.ndarray
        if self._base_n:
            found = pc.index_in(values, value_set=self._base).fill_null(-1).to_numpy(zero_copy_only=False)
            found = found.astype(np.int64)
        else:
            found = np.full(len(values), -1, dtype=np.int64)
        if self._extra and (found < 0).any():
            missing = np.flatnonzero(found < 0)
            get = self._extra_index.get
            found[missing] = [get(i, -1) for i in values.take(pa.array(missing)).to_pylist()]
        return found

    def id_of(self, num: int) -> str:
        if num < self._base_n:
            offsets = self._offset_view
            return str(self._bytes[offsets[num] : offsets[num + 1]], "utf-8")
        return self._extra[num - self._base_n]

    def holds_all(self, nums: list[int], ids: list[str]) -> bool:
        """Whether every ID of ``ids`` is among the IDs of ``nums``."""
        base_n, data, offsets, extra = self._base_n, self._bytes, self._offset_view, self._extra
        present = {str(data[offsets[n] : offsets[n + 1]], "utf-8") if n < base_n else extra[n - base_n] for n in nums}
        return present.issuperset(ids)

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
        return int(self._base.nbytes + self._slots.nbytes + 100 * len(self._extra))


def last_occurrences(ids: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Sorted positions of the last occurrence of each distinct ID, or None when the IDs are already distinct."""
    array = _string_array(ids)
    encoded = array.dictionary_encode()
    if len(encoded.dictionary) == len(array):
        return None
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    _, first_from_end = np.unique(codes[::-1], return_index=True)
    return np.sort(len(codes) - 1 - first_from_end)
