"""Poison records crossing a topic (embedded log and real Kafka): kafka-input refuses them naming the line, /ingest
sends nothing of a refused request, and what other producers write is skipped and counted by the batch and speed
parsers, never a crash."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from batch.interactions import parse_events
from oryxpy.cli import main
from oryxpy.config import Config
from oryxpy.topics import open_producer
from oryxpy.validation import BAD_RECORDS
from speed.als.aggregate import parse_batch
from tests.hostile.rest_support import sent
from tests.serving.io_support import io_app

POISON = [
    "u,50,1,99999999999999999999999",  # timestamp beyond int64
    "x" * 20000 + ",50,1.0,5",  # ID over the limit
    "[x,50,1.0,5",  # taken for JSON
    "{x,50,1.0,5",  # taken for item content: not an interaction, not counted
    "a,b,i,1.0,5",  # Oryx's /ingest writing the ID "a,b" unquoted
    '["x\\ud800","i","5","7"]',  # lone surrogate
    "u,i,1_0,5",  # not Java's float grammar
    "[" * 5000,  # deep JSON
]
COUNTED = len(POISON) - 1
GOOD = [f"u{n},i{n % 5},1.0,{1_700_000_000_000 + n}" for n in range(50)]


@pytest.fixture(params=["embedded", "kafka"])
def topic_config(request: pytest.FixtureRequest, embedded_config: Config) -> Config:
    if request.param == "kafka":
        return request.getfixturevalue("kafka_config")  # type: ignore[no-any-return]
    return embedded_config


def cli_sets(config: Config) -> list[str]:
    args = []
    for key in ("oryx.embedded.state-dir", "oryx.input-topic.broker", "oryx.update-topic.broker",
                "oryx.input-topic.message.topic", "oryx.update-topic.message.topic"):
        args += ["--set", f"{key}={config[key]}"]
    return args


def test_records_from_other_producers_are_skipped_and_counted(topic_config: Config) -> None:
    with open_producer(topic_config, "input") as producer:
        producer.send_all([(None, v) for v in POISON + GOOD])
    stored = sent(topic_config, len(POISON) + len(GOOD), timeout_s=60.0)
    assert len(stored) == len(POISON) + len(GOOD)
    before = BAD_RECORDS.count("batch", "fields")
    events, bad = parse_events(stored)
    assert bad == COUNTED and sorted(set(events.users)) == sorted({f"u{n}" for n in range(50)})
    assert BAD_RECORDS.count("batch", "fields") == before + 1
    rejected: list[int] = []
    before_speed = BAD_RECORDS.count("speed", "fields")
    parsed = parse_batch(stored, lambda index, exc: rejected.append(index))
    assert len(parsed) == len(GOOD) and len(rejected) == COUNTED
    assert BAD_RECORDS.count("speed", "fields") == before_speed + 1


def test_refused_ingest_leaves_nothing_on_the_topic(topic_config: Config) -> None:
    body = "".join(f"u{n},i{n % 7},1\n" for n in range(15000)) + '["x\\ud800","i","5"]\n'
    with TestClient(io_app(topic_config)) as client:
        response = client.post("/ingest", content=body)
        assert response.status_code == 400 and "line 15001" in response.text
        for line in POISON[:3] + POISON[4:]:
            assert client.post("/ingest", content=line).status_code == 400, line
        assert client.post("/ingest", content='"[x",i1\n"{y",i2\n').status_code == 204
    stored = sent(topic_config, 2, timeout_s=60.0)
    events, bad = parse_events(stored)
    assert bad == 0 and sorted(events.users) == ["[x", "{y"]


def test_kafka_input_refuses_poison_naming_the_line(topic_config: Config, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    for number, line in enumerate(POISON[:3] + POISON[4:], start=1):
        path = tmp_path / f"bad{number}.csv"
        path.write_text("u1,i1,1,1000\n" + line + "\n", encoding="utf-8", errors="surrogatepass")
        assert main(["kafka-input", "--input-file", str(path), *cli_sets(topic_config)]) == 1, line
        assert "line 2:" in capsys.readouterr().err
    assert sent(topic_config, 0, timeout_s=2.0) == []


def test_kafka_input_refuses_a_file_that_is_not_utf8(embedded_config: Config, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"u1,i1\n\xff\xfe,i2\n")
    assert main(["kafka-input", "--input-file", str(path), *cli_sets(embedded_config)]) == 1
    assert "line 2: not valid UTF-8" in capsys.readouterr().err
    assert sent(embedded_config, 0, timeout_s=1.0) == []
