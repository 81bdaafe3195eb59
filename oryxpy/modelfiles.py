"""The vectors of a model directory: ``X/`` (users) and ``Y/`` (items) as Parquet files.

Schema: ``id`` (string), ``vector`` (list<float32>), and for X an optional ``known`` (list<string>) holding the
user's known items, so a consumer of MODEL-REF can load everything without the UP stream.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from oryxpy.errors import InvalidInput
from oryxpy.storage import Storage, join_uri

PART_ROWS = 1_000_000


def vectors_table(ids: list[str], matrix: np.ndarray, known: list[list[str]] | None = None) -> pa.Table:
    """A table of ids and float32 vectors (and known items)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, k = matrix.shape if matrix.ndim == 2 else (0, 0)
    if n != len(ids):
        raise ValueError(f"{len(ids)} IDs but {n} vectors")
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32) if n else np.zeros(1, dtype=np.int32))
    columns = {"id": pa.array(ids, type=pa.string()), "vector": pa.ListArray.from_arrays(offsets, pa.array(matrix.ravel()))}
    if known is not None:
        columns["known"] = pa.array(known, type=pa.list_(pa.string()))
    return pa.table(columns)


def write_vectors(storage: Storage, dir_uri: str, ids: list[str], matrix: np.ndarray,
                  known: list[list[str]] | None = None) -> None:
    """Write vectors as ``part-NNNNN.parquet`` files under ``dir_uri``."""
    storage.makedirs(dir_uri)
    table = vectors_table(ids, matrix, known)
    for part, start in enumerate(range(0, max(1, table.num_rows), PART_ROWS)):
        storage.write_parquet(join_uri(dir_uri, f"part-{part:05d}.parquet"), table.slice(start, PART_ROWS))


def read_vectors(storage: Storage, dir_uri: str) -> tuple[list[str], np.ndarray, list[list[str]] | None]:
    """Read ``(ids, matrix n x k float32, known or None)`` from a vectors directory."""
    table = storage.read_parquet(dir_uri)
    if "id" not in table.column_names or "vector" not in table.column_names:
        raise InvalidInput(f"{dir_uri} does not hold id/vector columns")
    ids = table.column("id").to_pylist()
    vectors = table.column("vector").combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    n = len(ids)
    k = len(flat) // n if n else 0
    if n and len(flat) != n * k:
        raise InvalidInput(f"{dir_uri} holds vectors of different lengths")
    known = table.column("known").to_pylist() if "known" in table.column_names else None
    return ids, flat.reshape(n, k), known
