"""Storage of data-dir and model-dir: local files (``file:``) or HDFS (``hdfs://``), chosen by the URI."""

from __future__ import annotations

from urllib.parse import urlparse

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.storage.base import Storage, join_uri, name_of
from oryxpy.storage.local import LocalStorage, local_path

__all__ = ["Storage", "LocalStorage", "join_uri", "name_of", "local_path", "storage_for"]


def storage_for(uri: str, config: Config) -> Storage:
    """The storage backend that serves ``uri``."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return LocalStorage()
    if parsed.scheme == "hdfs":
        from oryxpy.storage.hdfs import HdfsStorage

        if not parsed.hostname:
            raise ConfigError(f"{uri} names no NameNode; write hdfs://host:port/path")
        hdfs = config.settings.storage.hdfs
        webhdfs = hdfs.webhdfs_url or f"http://{parsed.hostname}:9870"
        return HdfsStorage(parsed.netloc, webhdfs, hdfs.user)
    raise ConfigError(f"unsupported storage URI {uri}: use file:/path or hdfs://host:port/path")
