"""The storage interface for data-dir and model-dir; every method takes a full URI (file: or hdfs://)."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod

import pyarrow as pa
import pyarrow.parquet as pq

from oryxpy.errors import StorageError


def join_uri(base: str, *parts: str) -> str:
    """Append path parts to a URI with exactly one '/' between them."""
    out = base.rstrip("/")
    for part in parts:
        out += "/" + part.strip("/")
    return out


def name_of(uri: str) -> str:
    """Last path component of a URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


class Storage(ABC):
    """A file system reached by URI."""

    @abstractmethod
    def exists(self, uri: str) -> bool: ...

    @abstractmethod
    def is_dir(self, uri: str) -> bool: ...

    @abstractmethod
    def list(self, uri: str) -> list[str]:
        """URIs of the entries directly under a directory, sorted by name; [] if it does not exist."""

    @abstractmethod
    def read_bytes(self, uri: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a whole file (replacing it), creating parent directories."""

    @abstractmethod
    def makedirs(self, uri: str) -> None: ...

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Move a file or directory; the target must not exist."""

    @abstractmethod
    def delete(self, uri: str) -> None:
        """Delete a file or a directory tree; nothing happens if it does not exist."""

    @abstractmethod
    def qualify(self, uri: str) -> str:
        """The fully qualified form of a URI (what MODEL-REF carries)."""

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def write_text(self, uri: str, text: str) -> None:
        self.write_bytes(uri, text.encode("utf-8"))

    def write_parquet(self, uri: str, table: pa.Table) -> None:
        """Write one Parquet file."""
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        self.write_bytes(uri, buffer.getvalue())

    def read_parquet(self, uri: str) -> pa.Table:
        """Read a Parquet file, or every ``*.parquet`` file under a directory (in name order) as one table."""
        if self.is_dir(uri):
            files = [u for u in self.list(uri) if u.endswith(".parquet")]
            if not files:
                raise StorageError(f"no Parquet files under {uri}")
            return pa.concat_tables([self._read_one(u) for u in files], promote_options="default")
        return self._read_one(uri)

    def _read_one(self, uri: str) -> pa.Table:
        try:
            return pq.read_table(io.BytesIO(self.read_bytes(uri)))
        except pa.ArrowInvalid as exc:
            raise StorageError(f"{uri} is not a valid Parquet file: {exc}") from exc
