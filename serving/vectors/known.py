"""Known items as numbers: user ID number -> item ID numbers (the numbers of the model's ``X`` and ``Y`` ID tables).

A bulk load (MODEL-REF) gives a CSR: ``indptr`` by user number (int32 up to 2**31 pairs) and the item numbers
bit-packed (``entries``, ``serving.vectors.packed``: 20 bits each for 1M items); UP messages add pairs to a small
overlay of tuples (``extra``, never repeating the CSR row). ``added`` holds the pairs added since the last MODEL,
which the next MODEL keeps (spec 5.2). A store rebuilt with new numbers is followed by :meth:`renumber`.
Not synchronized: one writer; readers copy a row at once (a replaced tuple or array is atomic under the GIL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from serving.vectors.packed import PackedInts

Row = tuple[int, ...]


class KnownItems:
    def __init__(self, indptr: np.ndarray | None = None, indices: np.ndarray | None = None) -> None:
        indptr = np.zeros(1, dtype=np.int64) if indptr is None else indptr
        self.indptr = indptr.astype(np.int32 if indptr[-1] < 2**31 else np.int64, copy=False)
        self.entries = PackedInts(indices)
        self.extra: dict[int, Row] = {}
        self.added: dict[int, Row] = {}

    @property
    def csr_users(self) -> int:
        return len(self.indptr) - 1

    def base_row(self, user: int) -> np.ndarray:
        indptr = self.indptr
        if 0 <= user < len(indptr) - 1:
            return self.entries[indptr[user] : indptr[user + 1]]
        return self.entries[:0]

    def row(self, user: int) -> list[int]:
        """The user's item numbers: the bulk-loaded ones, then those added since, in order."""
        base: list[int] = self.base_row(user).tolist()
        return base + list(self.extra.get(user, ()))

    def holds_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Per (user, item) number pair, whether the item is known to the user (False where either is < 0); the CSR
        rows are searched at once, the overlay per pair."""
        users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
        held = np.zeros(len(users), dtype=bool)
        valid = (users >= 0) & (items >= 0)
        in_csr = valid & (users < self.csr_users)
        if in_csr.any():
            rows = np.sort(users[in_csr])
            rows = rows[np.concatenate([[True], rows[1:] != rows[:-1]])]
            starts = self.indptr[rows].astype(np.int64)
            lengths = self.indptr[rows + 1] - starts
            first = np.cumsum(lengths) - lengths
            entries = np.repeat(starts - first, lengths) + np.arange(int(lengths.sum()))
            known_keys = np.sort((np.repeat(rows, lengths) << 32) | self.entries[entries].astype(np.int64))
            pair_keys = (users[in_csr] << 32) | items[in_csr]
            at = np.minimum(np.searchsorted(known_keys, pair_keys), max(len(known_keys) - 1, 0))
            held[in_csr] = known_keys[at] == pair_keys if len(known_keys) else False
        extra = self.extra
        if extra:
            for pos in np.flatnonzero(valid & ~held).tolist():
                held[pos] = int(items[pos]) in extra.get(int(users[pos]), ())
        return held

    def add(self, user: int, items: Iterable[int]) -> bool:
        """Add the pairs not yet known; True if any was new."""
        base = set(self.base_row(user).tolist()) if self.indptr[-1] else set()
        present = base.union(self.extra.get(user, ()))
        new = tuple(i for i in dict.fromkeys(items) if i not in present)
        if not new:
            return False
        self.add_unknown(user, new)
        return True

    def add_unknown(self, user: int, new: Row) -> None:
        """Add pairs the caller proved unknown (e.g. by ``holds_pairs``), each item once, without checking again."""
        old_extra = self.extra.get(user, ())
        new_extra = old_extra + new
        self.extra[user] = new_extra
        old_added = self.added.get(user)
        # share the tuple when every pair of it is new (a MODEL followed by its UPs): stored once
        whole = old_added is old_extra if old_added is not None else not old_extra
        self.added[user] = new_extra if whole else (old_added or ()) + new

    def counts_per_user(self, users: int) -> np.ndarray:
        """Number of known items of each user number below ``users``."""
        counts = np.zeros(users, dtype=np.int64)
        n = min(users, self.csr_users)
        counts[:n] = np.diff(self.indptr)[:n]
        for user, extra in self.extra.items():
            if user < users:
                counts[user] += len(extra)
        return counts

    def counts_per_item(self, items: int) -> np.ndarray:
        """Number of users knowing each item number below ``items``."""
        counts = np.bincount(self.entries.to_numpy(), minlength=items)[:items].astype(np.int64)
        for extra in self.extra.values():
            for item in extra:
                if item < items:
                    counts[item] += 1
        return counts

    def renumbered(self, users: np.ndarray | None, items: np.ndarray | None) -> KnownItems:
        """The same pairs under new numbers: ``users[old]`` / ``items[old]`` is the new number of an old one (every
        referenced one must be mapped, i.e. >= 0); None keeps that side's numbers."""
        indptr, indices = self.indptr, self.entries.to_numpy()
        if items is not None and len(indices):
            indices = items[indices]
        if users is not None and self.csr_users:
            entry_user = np.repeat(users[: self.csr_users], np.diff(indptr))
            indices = indices[np.argsort(entry_user, kind="stable")]
            lengths = np.bincount(entry_user, minlength=int(users.max(initial=-1)) + 1)
            indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        fresh = KnownItems(indptr, indices)

        def user_of(u: int) -> int:
            return u if users is None else int(users[u])

        def items_of(row: Row) -> Row:
            return row if items is None else tuple(int(items[i]) for i in row)

        fresh.extra = {user_of(u): items_of(r) for u, r in self.extra.items()}
        shared = {id(r): fresh.extra[user_of(u)] for u, r in self.extra.items()}
        fresh.added = {user_of(u): shared.get(id(r)) or items_of(r) for u, r in self.added.items()}
        return fresh

    def referenced_users(self) -> np.ndarray:
        users = np.flatnonzero(np.diff(self.indptr) > 0)
        return np.union1d(users, np.fromiter(set(self.extra) | set(self.added), dtype=np.int64))

    def referenced_items(self) -> np.ndarray:
        overlay = {i for rows in (self.extra, self.added) for row in rows.values() for i in row}
        return np.union1d(np.unique(self.entries.to_numpy()), np.fromiter(overlay, dtype=np.int64))

    def nbytes(self) -> int:
        """The CSR arrays, and the overlay estimated at 64 B a tuple plus 8 B an entry."""
        overlay = sum(64 + 8 * len(r) for rows in (self.extra, self.added) for r in rows.values())
        return int(self.indptr.nbytes + self.entries.nbytes + overlay)


def from_lists(lengths: np.ndarray, codes: np.ndarray, user_nums: np.ndarray, users: int) -> KnownItems:
    """A CSR from per-row item codes (``lengths[r]`` codes of row r, in order) for the users numbered ``user_nums[r]``:
    repeats within a row dropped (first kept); a user given twice keeps its last row. Rows already numbered 0..n-1
    with no repeat (a MODEL-REF's X/) become the CSR as they are, after one sort that finds no repeat."""
    lengths = lengths.astype(np.int64, copy=False)
    codes = codes.astype(np.int64, copy=False)
    stride = int(codes.max(initial=0)) + 1
    keys = np.repeat(np.arange(len(lengths), dtype=np.int64) * stride, lengths) + codes
    ordered = np.sort(keys, kind="stable")  # rows ascending: a repeat within a row is two equal neighbours
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    keep = np.ones(len(codes), dtype=bool)
    if len(repeated):  # rare: only the rows holding a repeat are de-duplicated, one by one
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for r in np.unique(repeated // stride).tolist():
            seen: set[int] = set()
            for pos in range(int(starts[r]), int(starts[r + 1])):
                code = int(codes[pos])
                keep[pos] = code not in seen
                seen.add(code)
    if len(user_nums) == users and np.array_equal(user_nums, np.arange(users)):
        if not len(repeated):
            return KnownItems(np.concatenate([[0], np.cumsum(lengths)]), codes)
        kept_lengths = lengths - np.bincount(keys[~keep] // stride, minlength=len(lengths))
        return KnownItems(np.concatenate([[0], np.cumsum(kept_lengths)]), codes[keep])
    rows = keys // stride
    del keys
    last = np.full(users, -1, dtype=np.int64)
    np.maximum.at(last, user_nums, np.arange(len(user_nums)))  # a user given twice keeps its last row
    chosen_rows = last[user_nums] == np.arange(len(user_nums))
    keep &= chosen_rows[rows]
    kept_rows = rows[keep]
    new_lengths = np.bincount(user_nums[kept_rows], minlength=users)
    kept_codes = codes[keep]
    target = user_nums[kept_rows]
    if len(target) and (np.diff(target) < 0).any():  # rows not in user-number order: sort stably by user
        order = np.argsort(target, kind="stable")
        kept_codes = kept_codes[order]
    indptr = np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int64)
    return KnownItems(indptr, kept_codes)


def list_codes(lists: pa.Array | pa.ChunkedArray | Sequence[Sequence[str]],
               numbers_of: Callable[[pa.Array], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(lengths, codes)`` of lists of item IDs (Arrow lists of strings or of dictionary-encoded strings, chunked or
    not, or Python lists): each row's length and the number ``numbers_of`` gives each entry. Dictionary-encoded lists
    (a MODEL-REF's known items) have each distinct ID numbered once, the entries mapped through their codes."""
    if not isinstance(lists, pa.Array | pa.ChunkedArray):
        lists = pa.array(lists, pa.list_(pa.string()))
    chunks = lists.chunks if isinstance(lists, pa.ChunkedArray) else [lists]
    if not chunks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lengths = np.concatenate([pc.list_value_length(c).fill_null(0).to_numpy(zero_copy_only=False) for c in chunks])
    values = pa.chunked_array([pc.list_flatten(c) for c in chunks])
    if values.null_count:
        raise ValueError("a known item ID is null")
    if not pa.types.is_dictionary(values.type):
        flat = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
        return lengths, numbers_of(flat)
    values = values.unify_dictionaries() if values.num_chunks > 1 else values
    if not len(values):
        return lengths, np.zeros(0, dtype=np.int64)
    dictionary = values.chunk(0).dictionary
    indices = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in values.chunks])
    referenced = np.zeros(len(dictionary), dtype=bool)
    referenced[indices] = True
    if referenced.all():
        return lengths, numbers_of(dictionary)[indices]
    used = np.flatnonzero(referenced)  # an entry no list refers to gets no number
    numbers = np.full(len(dictionary), -1, dtype=np.int64)
    numbers[used] = numbers_of(dictionary.take(pa.array(used)))
    return lengths, numbers[indices]
