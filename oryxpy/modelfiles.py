"""The vectors of a model directory: ``X/`` (users) and ``Y/`` (items) as Parquet files.

Schema: ``id`` (string), ``vector`` (list<float32>), and for X an optional ``known`` (list<string>) holding the
user's known items, so a consumer of MODEL-REF can load everything without the UP stream. This module is the one
reader of a MODEL-REF (:func:`open_model_ref`) for the speed and serving layers.

Layout, chosen for a fast start (any Parquet file with this schema reads, e.g. Spark's): vectors uncompressed and
without a dictionary (float32 factors hardly compress, and decompressing them doubled the read), IDs compressed
without a dictionary (they are distinct), known items dictionary-encoded with a dictionary page large enough for
every distinct item, so the reader gets each distinct item ID once plus int32 codes instead of one string per pair.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from oryxpy.config import Config
from oryxpy.errors import InvalidInput, StorageError
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.storage import Storage, join_uri, storage_for

log = logging.getLogger(__name__)

PART_ROWS = 1_000_000
DICTIONARY_PAGE_BYTES = 256 << 20  # room for millions of distinct item IDs before Parquet falls back to plain pages


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
    """Write vectors as ``part-NNNNN.parquet`` files under ``dir_uri`` (the layout in the module's note)."""
    storage.makedirs(dir_uri)
    table = vectors_table(ids, matrix, known)
    for part, start in enumerate(range(0, max(1, table.num_rows), PART_ROWS)):
        buffer = io.BytesIO()
        pq.write_table(table.slice(start, PART_ROWS), buffer, row_group_size=PART_ROWS,
                       compression={"id": "zstd", "vector": "none", "known": "zstd"},
                       use_dictionary=["known.list.element"], dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES)
        storage.write_bytes(join_uri(dir_uri, f"part-{part:05d}.parquet"), buffer.getvalue())


@dataclass(frozen=True)
class VectorTable:
    """One side's vectors as read: IDs as an Arrow string array, an n x k float32 matrix (possibly a read-only view of
    Arrow memory) and, for X, the known items as Arrow lists of (dictionary-encoded) strings, one chunk per file (None
    when the files have none)."""

    ids: pa.StringArray
    matrix: np.ndarray
    known: pa.ChunkedArray | None

    def id_list(self) -> list[str]:
        return self.ids.to_pylist()  # type: ignore[no-any-return]

    def known_lists(self) -> list[list[str]] | None:
        return None if self.known is None else self.known.to_pylist()


def _read_file(storage: Storage, uri: str) -> pa.Table:
    """One Parquet file's id, vector and known columns (known items read as dictionary codes), from memory."""
    try:
        data = storage.read_bytes(uri)
        schema = pq.ParquetFile(pa.BufferReader(data)).schema
        leaves = [c.path for c in schema if c.path.startswith("known.")]
        columns = [c for c in ("id", "vector", "known") if c in schema.to_arrow_schema().names]
        # ParquetFile.read: a column in one chunk per row group, at a third of read_table's cost here
        return pq.ParquetFile(pa.BufferReader(data), read_dictionary=leaves or None).read(columns=columns)
    except pa.ArrowInvalid as exc:
        raise StorageError(f"{uri} is not a valid Parquet file: {exc}") from exc


def _only_chunk(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _float_values(flat: pa.Array) -> np.ndarray:
    """A flat array of vector values as float32: without nulls, a view of its data buffer alone, so that a validity
    bitmap the reader attached (500k x 50 values: 3 MB) is freed with the Arrow array."""
    if flat.type == pa.float32() and not flat.null_count:
        values: np.ndarray = np.frombuffer(flat.buffers()[1], dtype=np.float32, count=len(flat), offset=4 * flat.offset)
        return values
    copied: np.ndarray = flat.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return copied


def read_vector_table(storage: Storage, dir_uri: str, features: int | None = None) -> VectorTable:
    """Read a vectors directory (every ``*.parquet`` under it); ``features``, when given, must be the vectors' length."""
    files = [u for u in storage.list(dir_uri) if u.endswith(".parquet")] if storage.is_dir(dir_uri) else [dir_uri]
    if not files:
        raise StorageError(f"no Parquet files under {dir_uri}")
    tables = [_read_file(storage, uri) for uri in files]
    if any("id" not in t.column_names or "vector" not in t.column_names for t in tables):
        raise InvalidInput(f"{dir_uri} does not hold id/vector columns")
    ids = _only_chunk(pa.chunked_array([c for t in tables for c in t.column("id").chunks], tables[0].schema.field("id").type))
    if not pa.types.is_string(ids.type):
        ids = ids.cast(pa.string())
    if ids.null_count:
        raise InvalidInput(f"{dir_uri} holds a vector without an ID")
    vectors = [c for t in tables for c in t.column("vector").chunks]
    flat = pa.concat_arrays([v.flatten() for v in vectors]) if len(vectors) > 1 else \
        (vectors[0].flatten() if vectors else pa.array([], pa.float32()))
    matrix = _float_values(flat)
    n = len(ids)
    k = len(matrix) // n if n else 0
    if n and len(matrix) != n * k:
        raise InvalidInput(f"{dir_uri} holds vectors of different lengths")
    if n and features is not None and k != features:
        raise InvalidInput(f"vectors under {dir_uri} have {k} features, the model says {features}")
    known = None
    with_known = [t.column("known") for t in tables if "known" in t.column_names]
    if with_known:  # a file without the column: its users have no known items
        known_type = with_known[0].type
        known = pa.chunked_array([c for t in tables for c in (t.column("known").chunks if "known" in t.column_names
                                                               else [pa.nulls(t.num_rows, known_type)])], known_type)
    return VectorTable(ids, matrix.reshape(n, k), known)


def read_vectors(storage: Storage, dir_uri: str) -> tuple[list[str], np.ndarray, list[list[str]] | None]:
    """Read ``(ids, matrix n x k float32, known or None)`` from a vectors directory, as Python lists."""
    table = read_vector_table(storage, dir_uri)
    return table.id_list(), table.matrix, table.known_lists()


@dataclass(frozen=True)
class ModelRef:
    """What a MODEL-REF points to: the model's PMML settings and where its X/ and Y/ vectors would be."""

    info: ALSModelInfo
    storage: Storage
    model_dir: str

    def side(self, name: str) -> VectorTable | None:
        """The ``X`` or ``Y`` vectors beside model.pmml; None (logged) when there are no vector files there, so the
        consumer waits for UP messages."""
        dir_uri = join_uri(self.model_dir, self.info.x_path if name == "X" else self.info.y_path)
        storage = self.storage
        if not storage.is_dir(dir_uri) or not any(u.endswith(".parquet") for u in storage.list(dir_uri)):
            log.info("No vector files under %s; waiting for UP messages", dir_uri)
            return None
        return read_vector_table(storage, dir_uri, self.info.features)


def open_model_ref(uri: str, config: Config) -> ModelRef | None:
    """Read the model.pmml a MODEL-REF names; None (with a warning) when it no longer exists or cannot be read."""
    storage = storage_for(uri, config)
    try:
        if not storage.exists(uri):
            log.warning("Unable to load model file at %s; ignoring", uri)
            return None
        info = pmml_to_als_model(storage.read_text(uri))
    except StorageError as exc:
        log.warning("Unable to load model file at %s (%s); ignoring", uri, exc)
        return None
    return ModelRef(info, storage, uri.rstrip("/").rsplit("/", 1)[0])
