"""One bucket's vectors: a contiguous float32 matrix with the rows' norms and the ID number each row holds (see
``serving.vectors.vectors``)."""

from __future__ import annotations

import numpy as np

GROWTH = 1.5  # capacity grows geometrically (amortized O(1) appends) but wastes at most a third
MIN_CAPACITY = 16
NORM_CHUNK = 65536
TRANSPOSE_ROWS = 8192


def row_norms(matrix: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows, accumulated in double precision chunk by chunk, as float32."""
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), NORM_CHUNK):
        chunk = matrix[start : start + NORM_CHUNK].astype(np.float64)
        out[start : start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
    return out


def column_major(matrix: np.ndarray) -> np.ndarray:
    """A float32 copy of ``matrix`` in column-major layout, transposed a cache-sized band of rows at a time (1M x 50:
    0.1 s, against 0.9 s for numpy's own copy to Fortran order)."""
    out = np.empty((matrix.shape[1], len(matrix)), dtype=np.float32)
    for start in range(0, len(matrix), TRANSPOSE_ROWS):
        out[:, start : start + TRANSPOSE_ROWS] = matrix[start : start + TRANSPOSE_ROWS].T
    return out.T


class Block:
    """The vectors of one bucket: rows [0, n) of ``matrix`` are live; ``norms`` and ``nums`` (ID numbers) parallel them.
    ``norms`` is None in a store that never ranks by cosine (users). ``nums`` is None while each row holds the number
    of its position (a store of one block filled by a bulk load, or by IDs given vectors in the order they were
    numbered); :meth:`number_rows` makes the array when that stops holding.

    ``order`` is the matrix's memory layout: "C" keeps each vector contiguous (fast to gather a few rows, as a graph's
    candidates are); "F" keeps each feature contiguous over the rows, which makes a scan of every row 25-35 % faster
    (``serving.vectors.batch``) and writing one vector slower (50 strided values)."""

    __slots__ = ("matrix", "norms", "nums", "n", "order")

    def __init__(self, features: int, capacity: int = 0, order: str = "C", numbered_by_position: bool = False,
                 with_norms: bool = True):
        self.order = order
        self.matrix: np.ndarray = np.empty((capacity, features), dtype=np.float32, order=order)  # type: ignore[call-overload]
        self.norms: np.ndarray | None = np.empty(capacity, dtype=np.float32) if with_norms else None
        self.nums: np.ndarray | None = None if numbered_by_position else np.empty(capacity, dtype=np.int32)
        self.n = 0

    def _grow(self, needed: int) -> None:
        capacity = max(MIN_CAPACITY, int(len(self.matrix) * GROWTH), needed)
        for name in ("matrix", "norms", "nums"):
            old = getattr(self, name)
            if old is None:
                continue
            new = np.empty((capacity, *old.shape[1:]), dtype=old.dtype, order=self.order)  # type: ignore[call-overload]
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def take(self, matrix: np.ndarray, norms: np.ndarray | None, nums: np.ndarray | None) -> None:
        """Hold these rows (``matrix`` is kept if it has this block's layout: a read-only view is copied on first
        write; otherwise it is copied into that layout now); ``nums`` None: each row holds the number of its position."""
        if self.order == "F" and not matrix.flags.f_contiguous:
            self.matrix = column_major(matrix)
        else:
            self.matrix = np.asarray(matrix, dtype=np.float32, order=self.order)  # type: ignore[call-overload]
        self.norms, self.nums, self.n = norms, nums, len(matrix)

    def append(self, num: int, vector: np.ndarray) -> int:
        if self.n == len(self.matrix):
            self._grow(self.n + 1)
        pos = self.n
        if self.nums is None and num != pos:
            self.number_rows()
        self.matrix[pos] = vector
        if self.norms is not None:
            self.norms[pos] = np.linalg.norm(vector.astype(np.float64))
        if self.nums is not None:
            self.nums[pos] = num
        self.n += 1
        return pos

    def number_rows(self) -> None:
        """Give the rows an explicit array of ID numbers (until now, each row's was its position)."""
        if self.nums is None:
            self.nums = np.arange(len(self.matrix), dtype=np.int32)

    def num_at(self, pos: int) -> int:
        return pos if self.nums is None else int(self.nums[pos])

    def nums_at(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The ID numbers of the live rows (or of ``rows``)."""
        if self.nums is None:
            return np.arange(self.n, dtype=np.int32) if rows is None else np.asarray(rows)
        return self.nums[: self.n] if rows is None else self.nums[rows]

    def norms_at(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The norms of the live rows (or of ``rows``), for a ranking by cosine."""
        if self.norms is None:
            raise ValueError("this store keeps no norms")
        return self.norms[: self.n] if rows is None else self.norms[rows]

    def writable(self) -> np.ndarray:
        """The matrix, made writable: a bulk load's read-only view of Arrow memory is copied (then swapped in) once."""
        if not self.matrix.flags.writeable:
            self.matrix = self.matrix.copy(order="K")
        return self.matrix

    def write(self, pos: int, vector: np.ndarray) -> None:
        self.writable()[pos] = vector
        if self.norms is not None:
            self.norms[pos] = np.linalg.norm(vector.astype(np.float64))

    def write_rows(self, positions: np.ndarray, vectors: np.ndarray) -> None:
        """Overwrite rows one at a time (each row copy is atomic under the GIL, for readers that copy rows unlocked),
        with their norms computed at once."""
        matrix, norms = self.writable(), self.norms
        new_norms = row_norms(vectors).tolist() if norms is not None else None
        for i, (pos, vector) in enumerate(zip(positions.tolist(), vectors, strict=True)):
            matrix[pos] = vector
            if new_norms is not None:
                norms[pos] = new_norms[i]  # type: ignore[index]

    def nbytes(self) -> int:
        return int(self.matrix.nbytes + sum(a.nbytes for a in (self.norms, self.nums) if a is not None))
