"""No acknowledged write lost across restarts, no half-loaded answers, bounded logs: embedded and Kafka (issue 11)."""

from __future__ import annotations

import time

import pytest

from tests.integration.system import RunningSystem
from tests.integration.test_faults import PrefStream
from tests.trust.helpers import (
    demo_csv,
    ingest,
    kill_process_group,
    model_users,
    oryxpy,
    trust_config,
    wait_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(params=["embedded", "kafka"])
def base(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(f"{request.param}_config")


def test_restart_before_the_first_generation_loses_nothing(base, tmp_path):
    """Ingest, stop before any generation (as the README suggests, to restart with a shorter interval), start again."""
    data, users = demo_csv()
    first = RunningSystem(trust_config(base, **{"oryx.batch.streaming.generation-interval-sec": 600}),
                          tmp_path / "run.log").start()
    try:
        ingest(first, data)
        assert first.model_count() == 0
    finally:
        first.stop()
    before = (tmp_path / "run.log").stat().st_size
    second = RunningSystem(trust_config(base, **{"oryx.batch.streaming.generation-interval-sec": 5}),
                           tmp_path / "run.log").start()
    try:
        wait_ready(second, "a model built from the input sent before the restart")
        lines = (tmp_path / "run.log").read_bytes()[before:].decode(errors="replace").splitlines()
        generations = [line for line in lines if "[batch.runner] stored" in line or "No data in current generation" in line]
        sent = data.count(b"\n")
        assert generations and f"stored {sent} input records" in generations[0], generations  # all, at the first one
        second.wait_for(lambda: users <= model_users(second), 60, "every ingested user in the model")
    finally:
        second.stop()


def test_kill_minus_9_of_the_process_group_during_a_pref_stream_loses_no_acknowledged_write(base, tmp_path):
    config = trust_config(base)
    data, _ = demo_csv()
    system = RunningSystem(config, tmp_path / "run.log").start()
    stream = PrefStream(system.url)
    try:
        ingest(system, data)
        wait_ready(system, "the first model")
        stream.start()
        time.sleep(4)
        kill_process_group(system)
        time.sleep(0.5)
    finally:
        stream.stop.set()
        stream.join(timeout=30)
        system.stop()
    acknowledged = dict(stream.acknowledged)  # every stream user is new, with one item
    assert len(acknowledged) > 20, f"only {len(acknowledged)} writes were acknowledged"
    again = RunningSystem(config, tmp_path / "run.log").start()
    try:
        again.wait_for(lambda: set(acknowledged) <= model_users(again), 180,
                       f"all {len(acknowledged)} acknowledged new users in the model")
        for user in list(acknowledged)[-5:]:
            assert acknowledged[user] in again.get(f"/knownItems/{user}").text.split()
    finally:
        again.stop()


def answers(system: RunningSystem, users: list[str]) -> dict[str, str]:
    return {u: system.get(f"/recommend/{u}").text + "|" + system.get(f"/knownItems/{u}").text for u in users}


def tail_topics(config) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The keys of every message now in each topic, through `oryxpy kafka-tail --from-beginning`."""
    result = oryxpy(config, "kafka-tail", "--from-beginning", "--idle-timeout-sec", "2")
    assert result.returncode == 0, result.stderr
    keys: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():  # a PMML value spans lines: only a message's first line has the topic
        topic, _, rest = line.partition("\t")
        if topic in (config["oryx.input-topic.message.topic"], config["oryx.update-topic.message.topic"]) and rest:
            keys.setdefault(topic, []).append(rest.split("\t", 1)[0])
    return keys


def test_bounded_logs_and_answers_right_after_ready_equal_answers_later(base, tmp_path):
    """Replay starts at the latest model (embedded: the log is cut; Kafka: a seek), stored embedded input expires, and
    a restart serves no partial model."""
    embedded = base["oryx.input-topic.broker"] == "embedded"
    config = trust_config(base, **{"oryx.batch.streaming.generation-interval-sec": 4,
                                   "oryx.embedded.input-retention-ms": 1000})
    input_topic, update_topic = config["oryx.input-topic.message.topic"], config["oryx.update-topic.message.topic"]
    data, users = demo_csv()
    sample = sorted(users)[:8]
    system = RunningSystem(config, tmp_path / "run.log").start()
    try:
        ingest(system, data)
        wait_ready(system, "the first model")
        for n in range(30):  # new input, so that a second generation publishes a second model
            assert system.client.post(f"/pref/{sample[n % 8]}/g{n % 5}-item{n}", content=b"2").status_code == 204
        system.wait_for(lambda: system.model_count() >= 2, 120, "a second model")
        updates = tail_topics(config)[update_topic]
        models = [n for n, key in enumerate(updates) if key in ("MODEL", "MODEL-REF")]
        if embedded:
            assert models == [0], f"models at {models} of {len(updates)} update messages: the log was not cut"
            partitions = config["oryx.input-topic.partitions"]  # the retention runs after each generation and keeps
            system.wait_for(lambda: len(tail_topics(config).get(input_topic, [])) <= partitions, 90,  # the newest
                            "the stored input to expire from the input log")
        else:
            assert len(models) >= 2  # Kafka keeps the topic (its retention applies); consumers seek instead
    finally:
        system.stop()

    before = (tmp_path / "run.log").stat().st_size
    again = RunningSystem(config, tmp_path / "run.log")
    again.start()
    try:
        deadline = time.monotonic() + 120
        while again.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, again.log_tail()
            time.sleep(0.01)
        first = answers(again, sample)
        time.sleep(3)
        assert answers(again, sample) == first
        assert all(text.count(",") >= 1 for text in first.values())
        if not embedded:
            log = (tmp_path / "run.log").read_bytes()[before:].decode(errors="replace")
            assert f"replaying {update_topic}[0] from the latest model at offset {models[-1]}" in log
    finally:
        again.stop()


def test_ready_503_says_why_before_a_model(embedded_config, tmp_path):
    system = RunningSystem(trust_config(embedded_config, **{"oryx.batch.streaming.generation-interval-sec": 300}),
                           tmp_path / "run.log").start()
    try:
        system.wait_for(lambda: "next generation in" in system.get("/ready").text, 30, "the batch layer's schedule")
        response = system.get("/ready")
        assert response.status_code == 503 and "no model yet; next generation in " in response.text
        seconds = int(response.text.split("next generation in ")[1].split(" s")[0])
        assert 200 < seconds <= 300
    finally:
        system.stop()
