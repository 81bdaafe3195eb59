"""HDFS through WebHDFS (the ``hdfs`` package): ``hdfs://namenode:port/path`` URIs."""

from __future__ import annotations

import getpass
import posixpath
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from hdfs import InsecureClient
from hdfs.util import HdfsError

from oryxpy.errors import NotFound, ServiceUnavailable, StorageError
from oryxpy.storage.base import Storage

ResultT = TypeVar("ResultT")


class HdfsStorage(Storage):
    """Storage on HDFS; URIs keep their ``hdfs://host:port`` authority, WebHDFS is reached at ``webhdfs_url``."""

    def __init__(self, authority: str, webhdfs_url: str, user: str | None = None):
        self._authority = authority
        self._url = webhdfs_url
        self._user = user or getpass.getuser()
        self._client: InsecureClient | None = None

    def _hdfs(self) -> InsecureClient:
        if self._client is None:
            self._client = InsecureClient(self._url, user=self._user, timeout=60)
        return self._client

    def _path(self, uri: str) -> str:
        parsed = urlparse(uri)
        if parsed.scheme != "hdfs":
            raise StorageError(f"{uri} is not an hdfs:// URI")
        return posixpath.normpath(parsed.path or "/")

    def _call(self, uri: str, action: Callable[..., ResultT], *args: Any, **kwargs: Any) -> ResultT:
        try:
            return action(*args, **kwargs)
        except requests.ConnectionError as exc:
            raise ServiceUnavailable(
                f"HDFS (WebHDFS at {self._url}) cannot be reached for {uri}; start it (scripts/services.sh start hdfs) "
                "or set oryx.storage.hdfs.webhdfs-url"
            ) from exc
        except HdfsError as exc:
            if "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
                raise NotFound(f"{uri} does not exist") from exc
            raise StorageError(f"HDFS error on {uri}: {exc}") from exc

    def _status(self, uri: str) -> dict[str, Any] | None:
        status: dict[str, Any] | None = self._call(uri, self._hdfs().status, self._path(uri), strict=False)
        return status

    def exists(self, uri: str) -> bool:
        return self._status(uri) is not None

    def is_dir(self, uri: str) -> bool:
        status = self._status(uri)
        return status is not None and status["type"] == "DIRECTORY"

    def list(self, uri: str) -> list[str]:
        if not self.is_dir(uri):
            return []
        base = uri.rstrip("/")
        return [f"{base}/{name}" for name in sorted(self._call(uri, self._hdfs().list, self._path(uri)))]

    def read_bytes(self, uri: str) -> bytes:
        def read() -> bytes:
            with self._hdfs().read(self._path(uri)) as reader:
                data: bytes = reader.read()
                return data

        return self._call(uri, read)

    def write_bytes(self, uri: str, data: bytes) -> None:
        self._call(uri, self._hdfs().write, self._path(uri), data=data, overwrite=True)

    def makedirs(self, uri: str) -> None:
        self._call(uri, self._hdfs().makedirs, self._path(uri))

    def rename(self, source: str, target: str) -> None:
        if not self.exists(source):
            raise NotFound(f"{source} does not exist")
        if self.exists(target):
            raise StorageError(f"cannot rename {source} to {target}: the target exists")
        self.makedirs(target.rstrip("/").rsplit("/", 1)[0])
        self._call(source, self._hdfs().rename, self._path(source), self._path(target))

    def delete(self, uri: str) -> None:
        self._call(uri, self._hdfs().delete, self._path(uri), recursive=True)

    def qualify(self, uri: str) -> str:
        return f"hdfs://{self._authority}{self._path(uri)}"
