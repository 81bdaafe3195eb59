"""POST and DELETE /pref: the exact input-topic text, strength rules and IDs holding slashes."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.topics import input_message_key
from tests.conftest import embedded_config_at
from tests.serving.io_support import io_app, read_input, split_ts


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **{"oryx.input-topic.partitions": 1})


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(io_app(config)) as c:
        yield c


def only_record(config: Config) -> tuple[str, int]:
    records = read_input(config, 1, timeout_s=5.0, settle_s=0.1)
    assert len(records) == 1
    assert records[0].key == input_message_key(records[0].value)
    return split_ts(records[0].value)


@pytest.mark.parametrize("body, strength", [
    (b"", "1.0"), (b"  \n", "1.0"), (b"5", "5.0"), (b"2.5\nignored", "2.5"), (b"-1", "-1.0"), (b"1e10", "1.0E10"),
])
def test_post_sends_normalized_strength(client: TestClient, config: Config, body: bytes, strength: str) -> None:
    before = int(time.time() * 1000)
    response = client.post("/pref/u/i", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 204 and response.content == b""
    head, ts = only_record(config)
    assert head == f"u,i,{strength}"
    assert before <= ts <= int(time.time() * 1000)


def test_post_gzip_body(client: TestClient, config: Config) -> None:
    assert client.post("/pref/u/i", content=gzip.compress(b"3\n"), headers={"Content-Encoding": "gzip"}).status_code == 204
    assert only_record(config)[0] == "u,i,3.0"


@pytest.mark.parametrize("body", [b"NaN", b"Infinity", b"-Infinity", b"abc", b"1e39", b"1,2"])
def test_post_bad_strength_is_400(client: TestClient, config: Config, body: bytes) -> None:
    assert client.post("/pref/u/i", content=body).status_code == 400
    assert read_input(config, 0, settle_s=0.1) == []


def test_delete_sends_empty_strength(client: TestClient, config: Config) -> None:
    before = int(time.time() * 1000)
    assert client.delete("/pref/u/i").status_code == 204
    head, ts = only_record(config)
    assert head == "u,i,"
    assert before <= ts <= int(time.time() * 1000)


@pytest.mark.parametrize("path, head", [
    ("/pref/a%2Fb/c%2Fd", "a/b,c/d"),
    ("/pref/u%2F/%2Fi", "u/,/i"),
    ("/pref/caf%C3%A9/x%2Cy", 'café,"x,y"'),
    ("/pref/pref/x", "pref,x"),
])
def test_ids_with_slashes_and_specials(client: TestClient, config: Config, path: str, head: str) -> None:
    assert client.post(path, content=b"2").status_code == 204
    assert only_record(config)[0] == f"{head},2.0"


@pytest.mark.parametrize("path", ["/pref/a%2Fb/c%2Fd", "/pref/x%2F%2Fy/z"])
def test_delete_with_slashes(client: TestClient, config: Config, path: str) -> None:
    assert client.delete(path).status_code == 204
    user, item = (s.replace("%2F", "/") for s in path.split("/")[2:])
    assert only_record(config)[0] == f"{user},{item},"


@pytest.mark.parametrize("path, status", [
    ("/pref/u", 404), ("/pref/a%2Fb", 404), ("/pref/a/b/c", 404), ("/pref//i", 400), ("/pref/%FF/i", 400),
])
def test_wrong_segments(client: TestClient, config: Config, path: str, status: int) -> None:
    assert client.post(path, content=b"1").status_code == status
    assert client.delete(path).status_code == status
    assert read_input(config, 0, settle_s=0.1) == []
