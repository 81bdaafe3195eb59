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


def test_update_replay_starts_at_the_latest_full_model(config):
    """Issue 11: each MODEL / MODEL-REF lets a new update consumer skip everything before it (cut log or seek)."""
    with open_producer(config, "update") as producer:
        producer.send_all([("MODEL", "<m1/>")] + [("UP", f"old{i}") for i in range(50)])
        producer.send_all([("MODEL-REF", "file:/m2/model.pmml"), ("UP", "new0")])
        producer.send("UP", "new1")
    with open_consumer(config, "update", None, "earliest", from_latest_model=True) as consumer:
        consumer.wait_ready()
        start, ends = consumer.positions(), consumer.end_offsets()
        records = drain(consumer, 3)
        assert consumer.reached(ends)
    assert [(r.key, r.value) for r in records] == [("MODEL-REF", "file:/m2/model.pmml"), ("UP", "new0"), ("UP", "new1")]
    assert start == {0: records[0].offset} and ends == {0: records[0].offset + 3}


def test_consumer_reports_positions_and_end_offsets(config):
    with open_producer(config, "input") as producer:
        producer.send_all([(f"k{i}", str(i)) for i in range(40)])
    with open_consumer(config, "input", None, "earliest") as consumer:
        consumer.wait_ready()
        ends = consumer.end_offsets()
        assert sum(ends.values()) == 40 and not consumer.reached(ends)
        drain(consumer, 40)
        assert consumer.reached(ends) and consumer.positions() == ends


def test_embedded_update_log_is_cut_and_input_retention_keeps_unstored_input(embedded_config):
    """The embedded log is bounded: old models' messages go; input goes only once old and stored (committed)."""
    import sqlite3

    from oryxpy.topics import apply_input_retention

    config = embedded_config.with_overrides({"oryx.id": "t", "oryx.embedded.input-retention-ms": 0})
    topics = config.state_dir / "topics"
    for n in range(3):
        with open_producer(config, "update") as producer:
            producer.send_all([("MODEL", f"<m{n}/>")] + [("UP", f"v{n}-{i}") for i in range(100)])
    with sqlite3.connect(topics / "OryxUpdate.sqlite") as db:
        assert db.execute("SELECT COUNT(*), MIN(offset) FROM records").fetchone() == (101, 202)
        assert db.execute("SELECT key, value FROM records ORDER BY offset LIMIT 1").fetchone() == ("MODEL", "<m2/>")
    with open_producer(config, "input") as producer:
        producer.send_all([(None, f"u{i},i,1") for i in range(40)])
    assert apply_input_retention(config) == 0  # the batch layer has stored nothing yet
    with open_consumer(config, "input", config.group_id("BatchLayer"), "earliest") as consumer:
        drain(consumer, 20)
        consumer.commit()
        committed = consumer.positions()
    deleted = apply_input_retention(config)
    with sqlite3.connect(topics / "OryxInput.sqlite") as db:
        rows = db.execute("SELECT partition, offset FROM records").fetchall()
    assert deleted == 40 - len(rows) and 0 < deleted <= 40
    assert all(offset >= committed[p] or offset == max(o for q, o in rows if q == p) for p, offset in rows)
    with open_producer(config, "input") as producer:  # offsets keep growing after the deletion
        producer.send(None, "late,i,1")
    with open_consumer(config, "input", config.group_id("BatchLayer"), "earliest") as consumer:
        assert "late,i,1" in {r.value for r in drain(consumer, 41 - deleted, 5)}


def test_a_pinned_group_reads_what_was_written_before_its_consumer_started(config):
    from oryxpy.topics import pin_group_start

    with open_producer(config, "input") as producer:
        producer.send_all([(f"k{i}", f"before-{i}") for i in range(10)])
    pin_group_start(config, "input", "pinned")
    with open_producer(config, "input") as producer:
        producer.send_all([(f"k{i}", f"after-{i}") for i in range(10)])
    pin_group_start(config, "input", "pinned")  # a second pin keeps the committed position
    with open_consumer(config, "input", "pinned", "latest") as consumer:
        consumer.wait_ready()
        values = {r.value for r in drain(consumer, 10)}
    assert values == {f"after-{i}" for i in range(10)}


@pytest.mark.integration
def test_a_layer_keeps_waiting_for_a_topic_until_it_exists_or_is_stopped(kafka_config, caplog):
    """A long-running layer does not give up when partitions take longer than one round to arrive (a slow group
    join on a busy broker stopped the speed layer for good): it warns each round, and stops when told to."""
    import threading

    from oryxpy.topics import setup_topics

    missing = kafka_config.with_overrides({"oryx.update-topic.message.topic": f"{kafka_config['oryx.update-topic.message.topic']}-later"})
    stop = threading.Event()
    threading.Timer(2.5, stop.set).start()
    with open_consumer(missing, "update", None, "earliest") as consumer:
        assert consumer.wait_assigned(stop, round_s=1.0) is False
    assert any("still waiting" in r.getMessage() and "-later" in r.getMessage() for r in caplog.records)

    stop.clear()
    threading.Timer(1.5, setup_topics, args=(missing,)).start()
    with open_consumer(missing, "update", None, "earliest") as consumer:
        assert consumer.wait_assigned(stop, round_s=1.0) is True
        assert consumer.end_offsets() == {0: 0}


@pytest.mark.integration
def test_a_group_join_that_runs_out_of_time_starts_over_and_loses_nothing(kafka_config):
    """A group consumer whose join did not finish within one round joins again with a fresh client (a join can hang
    in the client); the start position pinned for the group holds, so every record is read, once."""
    from oryxpy.errors import ServiceUnavailable
    from oryxpy.topics import pin_group_start

    pin_group_start(kafka_config, "input", "rejoined")
    with open_producer(kafka_config, "input") as producer:
        producer.send_all([(f"k{i}", f"v{i}") for i in range(20)])
    with open_consumer(kafka_config, "input", "rejoined", "latest") as consumer:
        with pytest.raises(ServiceUnavailable, match="rejoined: joining again"):
            consumer.wait_ready(timeout_s=0.0)
        consumer.wait_ready()
        values = [r.value for r in drain(consumer, 20)]
    assert sorted(values) == sorted(f"v{i}" for i in range(20))
