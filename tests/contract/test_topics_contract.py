"""One contract for topics, run against the embedded log and a real Kafka broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.topics import Record, TopicConsumer, open_consumer, open_producer

CHILD = Path(__file__).with_name("_producer_proc.py")


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.integration)])
def config(request: pytest.FixtureRequest) -> Config:
    name = "embedded_config" if request.param == "embedded" else "kafka_config"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def drain(consumer: TopicConsumer, expected: int, timeout_s: float = 30.0) -> list[Record]:
    """Poll until ``expected`` records arrived (or the timeout), then a little longer to catch extras."""
    import time

    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < expected and time.monotonic() < deadline:
        records.extend(consumer.poll(timeout_s=0.5))
    records.extend(consumer.poll(timeout_s=0.5))
    return records


def sets_of(config: Config) -> list[str]:
    keys = ["oryx.embedded.state-dir", "oryx.input-topic.broker", "oryx.input-topic.message.topic"]
    return [f"{k}={config[k]}" for k in keys]


def test_order_is_kept_per_partition_and_per_key(config):
    with open_producer(config, "input") as producer:
        producer.send_all([(f"k{i % 5}", f"k{i % 5}:{i}") for i in range(200)])
    with open_consumer(config, "input", None, "earliest") as consumer:
        records = drain(consumer, 200)
    assert len(records) == 200
    by_partition: dict[int, list[int]] = defaultdict(list)
    by_key: dict[str, list[int]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    for r in records:
        by_partition[r.partition].append(r.offset)
        by_key[r.key].append(int(r.value.split(":")[1]))
        partitions_of_key[r.key].add(r.partition)
    assert all(offsets == sorted(offsets) for offsets in by_partition.values())
    assert all(seqs == sorted(seqs) for seqs in by_key.values())
    assert all(len(p) == 1 for p in partitions_of_key.values())


def test_consumer_group_resumes_after_restart(config):
    group = "OryxGroup-Test-resume"
    with open_producer(config, "input") as producer:
        producer.send_all([("k", f"first-{i}") for i in range(10)])
        with open_consumer(config, "input", group, "earliest") as consumer:
            first = drain(consumer, 10)
            consumer.commit()
        producer.send_all([("k", f"second-{i}") for i in range(5)])
    with open_consumer(config, "input", group, "earliest") as consumer:
        second = drain(consumer, 5)
    assert [r.value for r in first] == [f"first-{i}" for i in range(10)]
    assert [r.value for r in second] == [f"second-{i}" for i in range(5)]


def test_uncommitted_records_are_read_again(config):
    group = "OryxGroup-Test-uncommitted"
    with open_producer(config, "input") as producer:
        producer.send_all([("k", f"v{i}") for i in range(4)])
    with open_consumer(config, "input", group, "earliest") as consumer:
        assert len(drain(consumer, 4)) == 4  # no commit
    with open_consumer(config, "input", group, "earliest") as consumer:
        assert [r.value for r in drain(consumer, 4)] == [f"v{i}" for i in range(4)]


def test_earliest_and_latest_start(config):
    with open_producer(config, "input") as producer:
        producer.send_all([("k", "old-1"), ("k", "old-2"), ("k", "old-3")])
        latest = open_consumer(config, "input", None, "latest")
        latest.wait_ready()
        producer.send_all([("k", "new-1"), ("k", "new-2")])
    with latest, open_consumer(config, "input", None, "earliest") as earliest:
        assert [r.value for r in drain(latest, 2)] == ["new-1", "new-2"]
        assert [r.value for r in drain(earliest, 5)] == ["old-1", "old-2", "old-3", "new-1", "new-2"]
        assert latest.lag() == 0


def test_large_messages_up_to_the_configured_max_size(config):
    max_size = config["oryx.update-topic.message.max-size"]
    big = "x" * (max_size - 10) + "0123456789"
    with open_producer(config, "update") as producer:
        producer.send("MODEL", big)
        with pytest.raises(InvalidInput, match="larger than the topic's maximum"):
            producer.send("MODEL", big + "!")
    with open_consumer(config, "update", None, "earliest") as consumer:
        records = drain(consumer, 1, timeout_s=60)
    assert len(records) == 1 and records[0].value == big and records[0].key == "MODEL"


def test_concurrent_producers_in_two_processes(config):
    children = [
        subprocess.Popen([sys.executable, str(CHILD), json.dumps(sets_of(config)), name, "300"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name in ("p1", "p2")
    ]
    for child in children:
        _, err = child.communicate(timeout=180)
        assert child.returncode == 0, err
    with open_consumer(config, "input", None, "earliest") as consumer:
        records = drain(consumer, 600)
    for name in ("p1", "p2"):
        seqs = [int(r.value.split(",")[1]) for r in records if r.key == name]
        assert seqs == list(range(300))


def test_nothing_acknowledged_is_lost_when_the_producer_is_killed(config):
    child = subprocess.Popen([sys.executable, str(CHILD), json.dumps(sets_of(config)), "victim", "100000"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged = []
    assert child.stdout is not None
    for line in child.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 50:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=30)
    acknowledged.extend(int(line) for line in child.stdout.read().split())  # printed before the kill landed
    with open_consumer(config, "input", None, "earliest") as consumer:
        received = {int(r.value.split(",")[1]) for r in drain(consumer, len(acknowledged))}
    assert set(acknowledged) <= received
