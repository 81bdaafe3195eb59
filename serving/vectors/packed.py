"""Non-negative int32 numbers bit-packed at the width of the largest: the item numbers of a catalogue of 1M items take
20 bits each, not 32.

Number k starts at bit ``k * width`` of ``data`` (little-endian). Eight numbers fill exactly ``width`` bytes (at most
32, four 64-bit words), so the whole array packs and unpacks a group per row of words, in a few operations per place in
the group; a slice or a gather reads each number from the 8 bytes around it (``data`` ends with 8 spare bytes, so that
every such read stays inside it).
"""

from __future__ import annotations

import numpy as np

GROUP = 8  # numbers a group of ``width`` bytes holds
WORDS = 4  # 64-bit words a group takes at most (8 numbers of up to 32 bits)
WINDOW = 8  # bytes read around one number: enough for a width up to 57 bits at any bit shift


class PackedInts:
    """An immutable array of numbers in [0, 2**31), ``width`` bits each."""

    __slots__ = ("data", "width", "size")

    def __init__(self, values: np.ndarray | None = None):
        values = np.zeros(0, dtype=np.int64) if values is None else np.asarray(values)
        if len(values) and (int(values.min()) < 0 or int(values.max()) >= 2**31):
            raise ValueError("packed numbers must lie in [0, 2**31)")
        self.size = len(values)
        self.width = width = max(1, int(values.max(initial=0)).bit_length())
        groups = -(-self.size // GROUP)
        if self.size % GROUP or values.dtype != np.int64:
            values = np.concatenate([values, np.zeros(groups * GROUP - self.size, dtype=np.int64)])
        unsigned = values.view(np.uint64)  # no copy: every number is >= 0
        words = np.zeros((groups, WORDS), dtype="<u8")
        for place, word, shift in self._places():
            number = unsigned[place::GROUP]
            words[:, word] |= number << np.uint64(shift)
            if shift + width > 64:  # it runs into the next word
                words[:, word + 1] |= number >> np.uint64(64 - shift)
        self.data = np.zeros(groups * width + WINDOW, dtype=np.uint8)
        self.data[: groups * width].reshape(groups, width)[:] = words.view(np.uint8)[:, :width]

    def _places(self) -> list[tuple[int, int, int]]:
        """``(place, word, shift)`` of each place in a group: the 64-bit word its number starts in, and the bit."""
        return [(place, *divmod(place * self.width, 64)) for place in range(GROUP)]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        """The numbers of a slice (step 1) or of an index array, as int32."""
        positions = np.arange(*key.indices(self.size)) if isinstance(key, slice) else np.asarray(key, dtype=np.int64)
        bits = positions.astype(np.int64) * self.width
        windows = self.data[(bits >> 3)[:, None] + np.arange(WINDOW)]
        raw = windows.view("<u8").reshape(-1) >> (bits & 7).astype(np.uint64)
        numbers: np.ndarray = (raw & np.uint64((1 << self.width) - 1)).astype(np.int32)
        return numbers

    def to_numpy(self) -> np.ndarray:
        """Every number, as int32, a place of the groups at a time."""
        width, groups = self.width, -(-self.size // GROUP)
        words = np.zeros((groups, WORDS * 8), dtype=np.uint8)
        words[:, :width] = self.data[: groups * width].reshape(groups, width)
        words = words.view("<u8")
        out = np.empty(groups * GROUP, dtype=np.int32)
        mask = np.uint64((1 << width) - 1)
        for place, word, shift in self._places():
            number = words[:, word] >> np.uint64(shift)
            if shift + width > 64:
                number |= words[:, word + 1] << np.uint64(64 - shift)
            out[place::GROUP] = number & mask
        return out[: self.size]

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)
