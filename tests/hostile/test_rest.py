"""Hostile requests to the serving layer on the embedded log: each refused with a clear 4xx, nothing left behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.records import parse_interaction
from serving.app import create_app
from tests.conftest import embedded_config_at
from tests.hostile.rest_support import gzipped, multipart, sent, zipped
from tests.serving.io_support import small_model_manager


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **{"oryx.input-topic.partitions": 1})


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(config, small_model_manager(config), consume_updates=False)) as c:
        yield c


def refused(response, status: int, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    for fragment in fragments:
        assert fragment in response.text, response.text


def test_poison_timestamp_is_400_and_not_stored(client: TestClient, config: Config) -> None:
    refused(client.post("/ingest", content="u,50,1,99999999999999999999999"), 400, "line 1", "timestamp", "nothing was sent")
    assert sent(config) == []


def test_huge_ids_are_400(client: TestClient, config: Config) -> None:
    refused(client.post("/ingest", content=b"x" * (16 << 20) + b",50\n"), 400, "line 1", "more than the 1024 allowed")
    refused(client.post(f"/pref/{'u' * 8000}/50"), 400, "8000 bytes long")
    refused(client.post(f"/item/{'i' * 2000}", json={"title": "t"}), 400, "2000 bytes long")
    assert sent(config) == []


def test_ids_starting_like_json_round_trip_through_the_topic(client: TestClient, config: Config) -> None:
    assert client.post("/ingest", content="[x,i1,2\n{y,i2\n").status_code == 400  # '[x,...' is taken for broken JSON
    assert client.post("/ingest", content='"[x",i1,2\n{y,i2\n').status_code == 204
    assert client.post("/pref/%5Bz/i3").status_code == 204
    users = [parse_interaction(v).user for v in sent(config, 3)]
    assert users == ["[x", "{y", "[z"]


def test_a_bad_record_after_many_good_ones_sends_nothing(client: TestClient, config: Config) -> None:
    body = "".join(f"u{n},i{n % 7},1\n" for n in range(15000)) + '["x\\ud800","i","5"]\n'
    refused(client.post("/ingest", content=body), 400, "line 15001", "lone surrogate", "nothing was sent")
    assert sent(config) == []
    assert client.post("/ingest", content=body.rsplit("[", 1)[0]).status_code == 204
    assert len(sent(config, 15000)) == 15000  # all 15,000 in one go once the request is good


def test_more_than_four_fields_names_the_line(client: TestClient) -> None:
    refused(client.post("/ingest", content="u,i\nu,i,1,2,3\n"), 400, "line 2", "5 fields, at most 4")


def test_deep_json_is_400(client: TestClient, config: Config) -> None:
    refused(client.post("/ingest", content="[" * 1000 + "]" * 1000), 400, "line 1", "flat array")
    refused(client.post("/item/i1", content='{"a":' * 1000 + "1" + "}" * 1000,
                        headers={"Content-Type": "application/json"}), 400, "nested too deeply")
    refused(client.post("/item/i1", content="[" * 20000 + "]" * 20000), 413, "JSON objects and arrays")
    assert sent(config) == []


def test_gzip_of_empty_objects_is_refused_before_parsing(client: TestClient, config: Config) -> None:
    bomb = gzipped(b"[" + b"{}," * 2_000_000 + b"{}]")
    assert len(bomb) < 50_000
    refused(client.post("/item/i1", content=bomb, headers={"Content-Encoding": "gzip"}), 413, "JSON objects and arrays")
    assert sent(config) == []


def test_one_decompression_budget_across_every_stage(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "s", **{"oryx.serving.api.max-body-bytes": 1 << 20})
    inner = zipped({"a.csv": b"u,i\n" * 200_000, "b.csv": b"u,i\n" * 200_000})  # 1.6 MB unzipped, < 1 MiB each
    body, ctype = multipart([("f", "application/zip", inner)])
    with TestClient(create_app(config, small_model_manager(config), consume_updates=False)) as c:
        # gzip (Content-Encoding) of a multipart holding a zip: the stages share one 1 MiB budget
        refused(c.post("/ingest", content=gzipped(body), headers={"Content-Type": ctype, "Content-Encoding": "gzip"}),
                413, "decompresses to more than 1048576 bytes")
        many, ctype2 = multipart([(f"p{n}", "text/plain", b"u,i\n") for n in range(1001)])
        refused(c.post("/ingest", content=many, headers={"Content-Type": ctype2}), 413, "more than 1000 parts")
    assert sent(config) == []


def test_records_per_request_are_limited(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "s", **{"oryx.serving.api.max-records": 1000})
    with TestClient(create_app(config, small_model_manager(config), consume_updates=False)) as c:
        bomb = gzipped(b"u,i\n" * 4_000_000)  # 16 MB of lines from about 16 KB of gzip
        refused(c.post("/ingest", content=bomb, headers={"Content-Encoding": "gzip"}), 413, "more than 1000 records",
                "kafka-input")
        assert c.post("/ingest", content=b"u,i\n" * 1000).status_code == 204
    assert len(sent(config, 1000)) == 1000


@pytest.mark.parametrize("value", ["1_000", " 5 ", "\u0665", "5.0", "0x5", "99999999999999999999"])
def test_integers_are_ascii_digits_only(client: TestClient, value: str) -> None:
    refused(client.get("/recommend/u1", params={"howMany": value}), 400, "howMany must be an integer")


def test_pref_strength_in_java_grammar_only(client: TestClient, config: Config) -> None:
    refused(client.post("/pref/u1/i1", content="1_0"), 400, "strength '1_0' is not a number")
    refused(client.post("/pref/u1/i1", content="inf"), 400, "finite")
    assert client.post("/pref/u1/i1", content="2.5f").status_code == 204
    assert [v.rsplit(",", 1)[0] for v in sent(config, 1)] == ["u1,i1,2.5"]


def test_pref_content_type(client: TestClient) -> None:
    assert client.post("/pref/u1/i1", content="2", headers={"Content-Type": "text/plain"}).status_code == 204
    assert client.post("/pref/u1/i1", content="2",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 204  # curl -d
    body, ctype = multipart([("f", "text/plain", b"2")])
    refused(client.post("/pref/u1/i1", content=body, headers={"Content-Type": ctype}), 415, "text/plain")
    refused(client.post("/pref/u1/i1", content=gzipped(b"2"), headers={"Content-Type": "application/gzip"}), 415)


def test_empty_path_segments_are_404(client: TestClient) -> None:
    refused(client.get("/estimate//i1"), 404, "empty path segment")
    refused(client.get("/recommendToMany/u1//u2"), 404)
    assert client.get("/estimate/u1/i1").status_code == 200


def test_oryx_status_codes(client: TestClient) -> None:
    refused(client.get("/estimate/u1"), 404, "no item ID given")
    refused(client.get("/recommendToAnonymous"), 404)
    refused(client.get("/recommendToAnonymous/"), 404)
    zero = client.get("/mostPopularItems", params={"howMany": "0"})
    assert (zero.status_code, zero.text) == (200, "")
    refused(client.get("/recommend/nobody"), 404, "unknown user 'nobody'")
    refused(client.get("/similarity/nothing"), 404, "unknown item 'nothing'")


def test_no_redirect_uses_the_host_header(client: TestClient) -> None:
    for path in ("/ready/", "/recommend/u1/"):
        r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert r.status_code < 300 or r.status_code >= 400, r.headers
        assert "evil.example" not in r.headers.get("location", "")


def test_one_error_body_format_for_every_status(client: TestClient) -> None:
    as_json = {"Accept": "application/json"}
    cases = [("GET", "/nowhere", 404), ("PUT", "/ingest", 405), ("GET", "/recommend/nobody", 404),
             ("GET", "/recommend/u1?howMany=x", 400), ("POST", "/ingest", 415)]
    for method, path, status in cases:
        headers = dict(as_json, **({"Content-Type": "image/png"} if status == 415 else {}))
        r = client.request(method, path, headers=headers, content=b"x" if method == "POST" else None)
        assert r.status_code == status and r.headers["content-type"].startswith("application/json"), (path, r.text)
        body = json.loads(r.text)
        assert body["status"] == status and body["message"], body
        plain = client.request(method, path, headers={"Content-Type": "image/png"} if status == 415 else {},
                               content=b"x" if method == "POST" else None)
        assert plain.headers["content-type"].startswith("text/plain") and plain.text == body["message"], plain.text


def test_ndjson_style_flood_of_parts_and_zip_entries(client: TestClient, config: Config) -> None:
    entries = {f"e{n}": b"" for n in range(10_001)}
    body, ctype = multipart([("f", "application/zip", zipped(entries))])
    refused(client.post("/ingest", content=body, headers={"Content-Type": ctype}), 413, "more than 10000 entries")
    assert sent(config) == []


def test_503_before_a_model_says_why_in_every_format(config: Config) -> None:
    from serving.als.manager import ALSServingModelManager

    with TestClient(create_app(config, ALSServingModelManager(config), consume_updates=False)) as c:
        for path in ("/ready", "/recommend/u1", "/mostPopularItems"):
            plain = c.get(path)
            assert plain.status_code == 503 and plain.text.startswith("no model yet"), (path, plain.text)
            as_json = c.get(path, headers={"Accept": "application/json"}).json()
            assert as_json == {"status": 503, "message": plain.text}


def test_item_values_in_paths_use_java_float_grammar(client: TestClient) -> None:
    for value in ("1_0", "inf", "nan", "\u0665", ""):
        refused(client.get(f"/recommendToAnonymous/i1={value}"), 400, "not a number")
    assert client.get("/recommendToAnonymous/i1=2.5f").status_code == 200


def test_default_body_limit_is_64_mib(client: TestClient, config: Config) -> None:
    assert config["oryx.serving.api.max-body-bytes"] == 64 << 20
    refused(client.post("/ingest", content=b"u,i\n" * (16 << 20) + b"u,i\n"), 413, "larger than 67108864 bytes",
            "kafka-input")
    assert sent(config) == []
