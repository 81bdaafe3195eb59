"""POST /ingest: every format and encoding, whole-request validation, size limits and read-only mode."""

from __future__ import annotations

import gzip
import io
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from tests.conftest import embedded_config_at
from tests.serving.io_support import io_app, read_input, small_model_manager, split_ts, values


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **{"oryx.input-topic.partitions": 1})


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(io_app(config)) as c:
        yield c


def sent(config: Config, expect: int) -> list[str]:
    return values(read_input(config, expect, timeout_s=5.0, settle_s=0.1))


BODY = 'u1,i1,2\nu2,i2\nu3,i3,\n"u,4",i4,5.5,1420070400000\n["u5","i5",3,1420070400001]\n'
EXPECTED_HEADS = ["u1,i1,2.0", "u2,i2,1.0", "u3,i3,", '"u,4",i4,5.5', "u5,i5,3.0"]


def check_sent(config: Config, before_ms: int) -> None:
    records = sent(config, 5)
    assert [split_ts(v)[0] for v in records] == EXPECTED_HEADS
    stamps = [split_ts(v)[1] for v in records]
    assert all(before_ms <= t <= int(time.time() * 1000) for t in stamps[:3])
    assert stamps[3:] == [1420070400000, 1420070400001]


@pytest.mark.parametrize("content_type", ["text/plain", "text/csv; charset=utf-8", "application/json", None])
def test_plain_csv_and_json_lines(client: TestClient, config: Config, content_type: str | None) -> None:
    before = int(time.time() * 1000)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/ingest", content=BODY.encode(), headers=headers)
    assert response.status_code == 204, response.text
    check_sent(config, before)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_compressed_bodies(client: TestClient, config: Config, encoding: str) -> None:
    before = int(time.time() * 1000)
    if encoding == "gzip":
        data = gzip.compress(BODY.encode())
    elif encoding == "deflate":
        data = zlib.compress(BODY.encode())
    else:
        raw = zlib.compressobj(wbits=-15)
        data = raw.compress(BODY.encode()) + raw.flush()
    headers = {"Content-Type": "text/csv", "Content-Encoding": encoding.split("-")[0]}
    assert client.post("/ingest", content=data, headers=headers).status_code == 204
    check_sent(config, before)


def zip_of(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_multipart_plain_gzip_and_zip_parts(client: TestClient, config: Config) -> None:
    files = [
        ("ingestedFile", ("a.csv", b"p1,i1,1\n", "text/csv")),
        ("ingestedFile", ("b.csv.gz", gzip.compress(b"p2,i2,2\n"), "application/gzip")),
        ("other", ("c.gz", gzip.compress(b"p3,i3,3\n"), "application/x-gzip")),
        ("ingestedFile", ("d.zip", zip_of({"one.csv": "z1,i1,4\nz2,i2,5\n", "dir/two.csv": "z3,i3,6\n"}), "application/zip")),
        ("ingestedFile", ("e.zip", zip_of({"e.csv": "z4,i4,7\n"}), "application/octet-stream")),
    ]
    assert client.post("/ingest", files=files).status_code == 204
    heads = [split_ts(v)[0] for v in sent(config, 7)]
    assert heads == ["p1,i1,1.0", "p2,i2,2.0", "p3,i3,3.0", "z1,i1,4.0", "z2,i2,5.0", "z3,i3,6.0", "z4,i4,7.0"]


def test_bad_line_in_the_middle_sends_nothing(client: TestClient, config: Config) -> None:
    response = client.post("/ingest", content=b"u1,i1,1\nu2,i2,abc\nu3,i3,1\n", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "line 2" in response.text and "abc" in response.text
    assert sent(config, 0) == []


@pytest.mark.parametrize("body, problem", [
    (b"u1,i1\n\nu2,i2\n", "line 2: blank line"),
    (b"u1,i1\nonlyone\n", "line 2"),
    (b"u1,i1,1,notatime\n", "line 1"),
    (b"u1,i1,1,-5\n", "line 1"),
    (b"u1,i1,NaN\n", "line 1"),
    (b'u1,i1\n["u2",\n', "line 2"),
    (b"u1,i1\n\xff\xfe,x\n", "not valid"),
])
def test_invalid_lines_are_rejected(client: TestClient, config: Config, body: bytes, problem: str) -> None:
    response = client.post("/ingest", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert problem in response.text
    assert sent(config, 0) == []


def test_bad_line_in_a_zip_entry_names_it(client: TestClient, config: Config) -> None:
    files = [("ingestedFile", ("a.csv", b"p1,i1,1\n", "text/csv")),
             ("ingestedFile", ("d.zip", zip_of({"ok.csv": "z1,i1\n", "bad.csv": "z2,i2\nz3\n"}), "application/zip"))]
    response = client.post("/ingest", files=files)
    assert response.status_code == 400
    assert "bad.csv" in response.text and "line 2" in response.text
    assert sent(config, 0) == []


def test_malformed_bodies(client: TestClient) -> None:
    assert client.post("/ingest", content=b"not gzip", headers={"Content-Encoding": "gzip"}).status_code == 400
    assert client.post("/ingest", content=gzip.compress(b"u,i\n")[:-6], headers={"Content-Encoding": "gzip"}).status_code == 400
    assert client.post("/ingest", content=b"u,i", headers={"Content-Encoding": "br"}).status_code == 400
    bad_zip = [("f", ("x.zip", b"PK\x03\x04garbage", "application/zip"))]
    assert client.post("/ingest", files=bad_zip).status_code == 400
    empty = client.post("/ingest", content=b"--xyz--\r\n", headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert empty.status_code == 400 and "No parts" in empty.text
    assert client.post("/ingest", content=b"u,i", headers={"Content-Type": "image/png"}).status_code == 415


def test_empty_body_sends_nothing(client: TestClient, config: Config) -> None:
    assert client.post("/ingest", content=b"", headers={"Content-Type": "text/plain"}).status_code == 204
    assert sent(config, 0) == []


@pytest.fixture
def small_client(tmp_path: Path) -> Iterator[tuple[TestClient, Config]]:
    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.api.max-body-bytes": 100_000})
    with TestClient(io_app(config)) as c:
        yield c, config


def test_oversized_body_gives_413(small_client: tuple[TestClient, Config]) -> None:
    client, config = small_client
    body = b"user,item,1\n" * 10_000
    assert client.post("/ingest", content=body, headers={"Content-Type": "text/plain"}).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while streaming
        for _ in range(20):
            yield b"user,item,1\n" * 1000

    assert client.post("/ingest", content=chunks(), headers={"Content-Type": "text/plain"}).status_code == 413
    assert sent(config, 0) == []


def test_limit_applies_per_stage_not_twice(small_client: tuple[TestClient, Config]) -> None:
    client, config = small_client
    body = b"user,item,1\n" * 6000  # 72 kB, under the 100 kB limit however many stages it passes
    files = [("f", ("a.csv", body, "text/csv"))]
    assert client.post("/ingest", files=files, headers={"Content-Encoding": "identity"}).status_code == 204
    assert client.post("/ingest", content=gzip.compress(body), headers={"Content-Encoding": "gzip"}).status_code == 204
    assert len(sent(config, 12000)) == 12000


def test_compression_bombs_give_413(small_client: tuple[TestClient, Config]) -> None:
    client, config = small_client
    bomb = gzip.compress(b"u,i\n" * 5_000_000)  # 20 MB of lines in about 20 KB
    assert len(bomb) < 100_000
    assert client.post("/ingest", content=bomb, headers={"Content-Encoding": "gzip"}).status_code == 413
    assert client.post("/ingest", files=[("f", ("b.gz", bomb, "application/gzip"))]).status_code == 413
    zip_bomb = zip_of({f"e{i}.csv": "u,i\n" * 1_000_000 for i in range(3)})
    assert len(zip_bomb) < 100_000
    assert client.post("/ingest", files=[("f", ("b.zip", zip_bomb, "application/zip"))]).status_code == 413
    assert sent(config, 0) == []


def test_read_only_refuses_writes_but_serves_reads(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.api.read-only": True})
    with TestClient(io_app(config, small_model_manager(config))) as client:
        response = client.post("/ingest", content=b"u,i\n", headers={"Content-Type": "text/plain"})
        assert response.status_code == 403 and "Serving Layer is read-only" in response.text
        assert client.post("/pref/u/i", content=b"1").status_code == 403
        assert client.delete("/pref/u/i").status_code == 403
        assert client.get("/").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/ready").status_code == 200
        assert client.get("/recommend/u1").status_code == 200
        assert client.get("/knownItems/u1").text.split() == ["i1", "i2"]


def test_line_breaks_and_record_size(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **{"oryx.input-topic.partitions": 1, "oryx.update-topic.message.max-size": 1024})
    with TestClient(io_app(config)) as client:
        huge = client.post("/ingest", content=f"u1,i1\n{'u' * 2000},i2\n".encode(), headers={"Content-Type": "text/plain"})
        assert huge.status_code == 400 and "line 2" in huge.text and "1024" in huge.text
        assert client.post("/ingest", content=b"a,1\r\nb,2\rc,3\nd,4", headers={"Content-Type": "text/plain"}).status_code == 204
    assert [split_ts(v)[0] for v in sent(config, 4)] == ["a,1,1.0", "b,2,1.0", "c,3,1.0", "d,4,1.0"]
