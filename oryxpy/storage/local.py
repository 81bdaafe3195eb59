"""Local files: ``file:`` URIs and plain paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from oryxpy.errors import NotFound, StorageError
from oryxpy.storage.base import Storage


def local_path(uri: str) -> Path:
    """The path of a ``file:`` URI (``file:/a``, ``file:///a``) or of a plain path."""
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        return Path(unquote(parsed.path))
    return Path(uri)


class LocalStorage(Storage):
    """Storage on the local file system; writes go to a temporary file first, then are renamed into place."""

    def exists(self, uri: str) -> bool:
        return local_path(uri).exists()

    def is_dir(self, uri: str) -> bool:
        return local_path(uri).is_dir()

    def list(self, uri: str) -> list[str]:
        path = local_path(uri)
        if not path.is_dir():
            return []
        base = uri.rstrip("/")
        return [f"{base}/{name}" for name in sorted(os.listdir(path))]

    def read_bytes(self, uri: str) -> bytes:
        try:
            return local_path(uri).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"{uri} does not exist") from None
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc}") from exc

    def write_bytes(self, uri: str, data: bytes) -> None:
        path = local_path(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            with open(temporary, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            raise StorageError(f"cannot write {uri}: {exc}") from exc

    def makedirs(self, uri: str) -> None:
        try:
            local_path(uri).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create directory {uri}: {exc}") from exc

    def rename(self, source: str, target: str) -> None:
        src, dst = local_path(source), local_path(target)
        if not src.exists():
            raise NotFound(f"{source} does not exist")
        if dst.exists():
            raise StorageError(f"cannot rename {source} to {target}: the target exists")
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.rename(src, dst)
        except OSError as exc:
            raise StorageError(f"cannot rename {source} to {target}: {exc}") from exc

    def delete(self, uri: str) -> None:
        path = local_path(uri)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        except OSError as exc:
            raise StorageError(f"cannot delete {uri}: {exc}") from exc

    def qualify(self, uri: str) -> str:
        return local_path(uri).resolve().as_uri()
