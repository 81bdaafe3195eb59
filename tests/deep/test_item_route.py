"""POST /item/{itemID}: validated content records on the input topic after acknowledgement; 400, 403 and 413."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.content import is_content_record, parse_content_record
from oryxpy.topics import input_message_key
from tests.conftest import embedded_config_at
from tests.serving.io_support import io_app, read_input


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **{"oryx.input-topic.partitions": 1})


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(io_app(config)) as c:
        yield c


def test_post_item_sends_content_record(client: TestClient, config: Config) -> None:
    body = {"title": "Toy Story (1995)", "genres": ["Animation", "Comedy"], "year": 1995}
    response = client.post("/item/m%2F1", json=body)
    assert response.status_code == 204 and response.content == b""
    [record] = read_input(config, 1, timeout_s=5.0, settle_s=0.1)
    assert record.key == input_message_key(record.value) and is_content_record(record.value)
    content = parse_content_record(record.value)
    assert content.item == "m/1" and content.attributes["genres"] == ["Animation", "Comedy"]


@pytest.mark.parametrize("body, message", [
    (b"{not json", "content of item 'm1' is not valid JSON"),
    (b"[1, 2]", "content of item 'm1' must be a JSON object"),
    (b"{}", "content of item 'm1' has no attributes"),
    (json.dumps({"cast": {"lead": "x"}}).encode(), "content of item 'm1': attribute 'cast' must be a string, number"),
    (b"\xff\xfe", ""),
])
def test_bad_bodies_are_400_and_send_nothing(client: TestClient, config: Config, body: bytes, message: str) -> None:
    response = client.post("/item/m1", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and message in response.text
    assert read_input(config, 0, settle_s=0.1) == []


def test_read_only_is_403(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "ro", **{"oryx.serving.api.read-only": True})
    with TestClient(io_app(config)) as client:
        assert client.post("/item/m1", json={"title": "x"}).status_code == 403


def test_too_large_is_413(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "big", **{"oryx.serving.api.max-body-bytes": 1024})
    with TestClient(io_app(config)) as client:
        assert client.post("/item/m1", json={"title": "x" * 5000}).status_code == 413
