"""Fast MODEL-REF reading for the serving model: known items are matched to the loaded item IDs in Arrow (a hash
join in C++) instead of one Python dictionary lookup per known item, which dominates loading 10M known items."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from oryxpy.errors import InvalidInput
from oryxpy.storage import Storage


def read_side(storage: Storage, dir_uri: str, item_ids: np.ndarray | None
              ) -> tuple[list[str], np.ndarray, list[tuple[str, ...]] | None]:
    """``(ids, matrix n x k float32, known)`` from a vectors directory, as ``oryxpy.modelfiles.read_vectors`` reads
    it, except that known items come as de-duplicated tuples of the objects in ``item_ids`` (the model's item IDs, so
    each ID string is stored once); items not among them are interned."""
    table = storage.read_parquet(dir_uri)
    if "id" not in table.column_names or "vector" not in table.column_names:
        raise InvalidInput(f"{dir_uri} does not hold id/vector columns")
    ids = table.column("id").to_pylist()
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    n = len(ids)
    k = len(flat) // n if n else 0
    if n and len(flat) != n * k:
        raise InvalidInput(f"{dir_uri} holds vectors of different lengths")
    known = None
    if "known" in table.column_names:
        known = _known_tuples(table.column("known").combine_chunks(), item_ids)
    return ids, flat.reshape(n, k), known


def _known_tuples(lists: pa.ListArray, item_ids: np.ndarray | None) -> list[tuple[str, ...]]:
    """Each row's items in order without repeats, as the canonical objects of ``item_ids`` where present."""
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    values = lists.flatten()
    if item_ids is None or not len(item_ids):
        item_ids = np.empty(0, dtype=object)
    codes = pc.index_in(values, value_set=pa.array(item_ids, type=pa.string())).fill_null(-1)
    codes = codes.to_numpy(zero_copy_only=False).astype(np.int64)
    missing = np.flatnonzero(codes < 0)
    objects = np.empty(len(codes), dtype=object)
    objects[codes >= 0] = item_ids[codes[codes >= 0]]
    if len(missing):  # items without vectors: one interned object per ID; code them after the known ones
        names = [sys.intern(s) for s in values.take(pa.array(missing)).to_pylist()]
        objects[missing] = names
        first = {name: len(item_ids) + j for j, name in enumerate(dict.fromkeys(names))}
        codes[missing] = [first[name] for name in names]
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    keys = rows * (int(codes.max(initial=0)) + 1) + codes
    _, first_seen = np.unique(keys, return_index=True)  # first occurrence of each (row, item)
    keep = np.zeros(len(keys), dtype=bool)
    keep[first_seen] = True
    kept = objects[keep].tolist()
    bounds = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=len(lengths)))]).tolist()
    return [tuple(kept[bounds[r] : bounds[r + 1]]) for r in range(len(lengths))]
