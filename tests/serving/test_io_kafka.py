"""Against real Kafka: /ingest and /pref records arrive on the input topic exactly once, in order per partition."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.topics import input_message_key
from tests.serving.io_support import io_app, read_input, split_ts

pytestmark = pytest.mark.integration


def test_ingest_and_pref_arrive_exactly_once_in_order(kafka_config: Config) -> None:
    lines = [f"u{i},i{i % 97},{i % 5 + 1},{1420070400000 + i}" for i in range(12_000)]  # more than one send chunk
    expected = [f"u{i},i{i % 97},{float(i % 5 + 1)},{1420070400000 + i}" for i in range(12_000)]
    with TestClient(io_app(kafka_config)) as client:
        response = client.post("/ingest", content="\n".join(lines).encode(), headers={"Content-Type": "text/csv"})
        assert response.status_code == 204, response.text
        assert client.post("/pref/a%2Fb/c", content=b"2").status_code == 204
        assert client.delete("/pref/a%2Fb/c").status_code == 204
        bad = client.post("/ingest", content=b"x,y\nbroken\n", headers={"Content-Type": "text/csv"})
        assert bad.status_code == 400
    records = read_input(kafka_config, len(expected) + 2, timeout_s=60.0, settle_s=2.0)
    assert len(records) == len(expected) + 2
    assert all(r.key == input_message_key(r.value) for r in records)
    ingested = [r for r in records if not r.value.startswith("a/b,")]
    assert Counter(r.value for r in ingested) == Counter(expected)  # exactly once, nothing of the bad request
    position = {value: n for n, value in enumerate(expected)}
    by_partition: dict[int, list[int]] = defaultdict(list)
    for r in sorted(ingested, key=lambda r: (r.partition, r.offset)):
        by_partition[r.partition].append(position[r.value])
    assert all(seq == sorted(seq) for seq in by_partition.values())  # in request order within each partition
    assert sorted(split_ts(r.value)[0] for r in records if r.value.startswith("a/b,")) == ["a/b,c,", "a/b,c,2.0"]
