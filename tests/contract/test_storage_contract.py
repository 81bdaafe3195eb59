"""One contract for storage, run against local files and a real HDFS."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest

from oryxpy.config import Config, default_config
from oryxpy.errors import NotFound, StorageError
from oryxpy.modelfiles import read_vectors, write_vectors
from oryxpy.storage import Storage, join_uri, name_of, storage_for


@pytest.fixture(params=["file", pytest.param("hdfs", marks=pytest.mark.integration)])
def base(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "file":
        return (tmp_path / "store").as_uri()
    return f"{request.getfixturevalue('hdfs_base')}/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def config() -> Config:
    from tests.conftest import WEBHDFS_URL

    return default_config().with_overrides({"oryx.storage.hdfs.webhdfs-url": WEBHDFS_URL})


@pytest.fixture
def storage(base: str, config: Config) -> Storage:
    return storage_for(base, config)


def test_write_read_exists_and_list(storage, base):
    assert not storage.exists(base) and storage.list(base) == []
    storage.write_bytes(join_uri(base, "b", "two.bin"), b"\x00\x01two")
    storage.write_text(join_uri(base, "a.txt"), "héllo")
    assert storage.exists(base) and storage.is_dir(base)
    assert storage.read_text(join_uri(base, "a.txt")) == "héllo"
    assert storage.read_bytes(join_uri(base, "b", "two.bin")) == b"\x00\x01two"
    assert [name_of(u) for u in storage.list(base)] == ["a.txt", "b"]
    assert storage.is_dir(join_uri(base, "b")) and not storage.is_dir(join_uri(base, "a.txt"))
    storage.write_text(join_uri(base, "a.txt"), "replaced")
    assert storage.read_text(join_uri(base, "a.txt")) == "replaced"


def test_missing_file_is_not_found(storage, base):
    with pytest.raises(NotFound, match="does not exist"):
        storage.read_bytes(join_uri(base, "nope"))


def test_rename_moves_and_refuses_to_overwrite(storage, base):
    storage.write_text(join_uri(base, "tmp", "x", "f"), "1")
    storage.write_text(join_uri(base, "other"), "2")
    storage.rename(join_uri(base, "tmp", "x"), join_uri(base, "final", "x"))
    assert storage.read_text(join_uri(base, "final", "x", "f")) == "1"
    assert not storage.exists(join_uri(base, "tmp", "x"))
    with pytest.raises(StorageError, match="target exists"):
        storage.rename(join_uri(base, "other"), join_uri(base, "final", "x"))
    with pytest.raises(NotFound):
        storage.rename(join_uri(base, "missing"), join_uri(base, "z"))


def test_delete_tree_and_missing(storage, base):
    storage.write_text(join_uri(base, "d", "e", "f"), "1")
    storage.delete(join_uri(base, "d"))
    assert not storage.exists(join_uri(base, "d"))
    storage.delete(join_uri(base, "never-there"))
    storage.makedirs(join_uri(base, "empty", "dir"))
    assert storage.is_dir(join_uri(base, "empty", "dir"))


def test_parquet_round_trip_file_and_directory(storage, base):
    table = pa.table({"key": ["k1", None, "k3"], "value": ["u,i,1.0,5", "ü,日本,,6", '"a,b",i,2.0,7']})
    storage.write_parquet(join_uri(base, "one.parquet"), table)
    assert storage.read_parquet(join_uri(base, "one.parquet")).equals(table)
    storage.write_parquet(join_uri(base, "dir", "part-00000.parquet"), table.slice(0, 2))
    storage.write_parquet(join_uri(base, "dir", "part-00001.parquet"), table.slice(2))
    storage.write_text(join_uri(base, "dir", "_SUCCESS"), "")
    assert storage.read_parquet(join_uri(base, "dir")).equals(table)
    storage.write_text(join_uri(base, "bad.parquet"), "not parquet")
    with pytest.raises(StorageError, match="not a valid Parquet file"):
        storage.read_parquet(join_uri(base, "bad.parquet"))


def test_model_vectors_round_trip(storage, base):
    ids = ["u1", "with space", "日本"]
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    known = [["i1"], [], ["i2", "i 3"]]
    write_vectors(storage, join_uri(base, "X"), ids, matrix, known)
    got_ids, got_matrix, got_known = read_vectors(storage, join_uri(base, "X"))
    assert got_ids == ids and np.array_equal(got_matrix, matrix) and got_known == known


def test_qualify_gives_a_full_uri(storage, base):
    qualified = storage.qualify(join_uri(base, "m", "model.pmml"))
    assert qualified.startswith(("file:///", "hdfs://")) and qualified.endswith("/m/model.pmml")
