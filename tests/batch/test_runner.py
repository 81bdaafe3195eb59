"""Batch generations on the embedded backends: storage, publishing, restarts, retention, thresholds, plug-ins."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from batch.runner import BatchRunner
from oryxpy.config import Config
from oryxpy.interfaces import BatchLayerUpdate
from oryxpy.messages import ModelMessage, ModelRefMessage, VectorUpdate
from oryxpy.modelfiles import read_vectors
from oryxpy.storage import LocalStorage, join_uri
from tests.batch.helpers import (
    FAST,
    T0,
    check_model_dir,
    check_published,
    interactions,
    model_dirs,
    read_updates,
    send_input,
)


def make_runner(config: Config) -> BatchRunner:
    runner = BatchRunner(config)
    runner.start()
    return runner


@pytest.fixture
def config(embedded_config: Config) -> Config:
    return embedded_config.with_overrides({**FAST, "oryx.id": "test"})


def data_generations(config: Config) -> list[pa.Table]:
    storage = LocalStorage()
    return [storage.read_parquet(join_uri(g, "part-00000.parquet")) for g in storage.list(config.data_dir)
            if g.rsplit("/", 1)[-1].startswith("oryx-")]


def test_generation_stores_input_builds_and_publishes(config: Config, caplog: pytest.LogCaptureFixture):
    runner = make_runner(config)
    good = interactions(30, 20, 400) + [f"user1,item1,,{T0 + 200_500}"]  # a trailing delete
    send_input(config, good + ["only,two", "u,i,notanumber,5"])
    with caplog.at_level(logging.WARNING):
        assert runner.run_generation(T0 + 10**9)
    assert "2 bad record(s) skipped" in caplog.text  # each bad record is counted (oryxpy.validation logs its kind)
    stored = data_generations(config)
    assert len(stored) == 1 and stored[0].schema.names == ["key", "value"] and stored[0].num_rows == 403
    [model] = model_dirs(config)
    check_model_dir(config, model)
    assert not LocalStorage().list(join_uri(config.model_dir, ".temporary"))
    info = check_published(config, read_updates(config))
    ids, _, known = read_vectors(LocalStorage(), join_uri(model, "X"))
    assert sorted(ids) == sorted(info.x_ids) and known is not None
    assert "item1" not in known[ids.index("user1")]
    metrics = json.loads(LocalStorage().read_text(join_uri(model, "metrics.json")))
    chosen = metrics["hyperparams"]  # from the default staged search (a 3 x 3 log grid first), then refit on all data
    assert chosen["features"] == 4 and metrics["refit"] is True and len(metrics["candidates"]) >= 9
    assert 0.05 <= chosen["lambda"] <= 0.5 and 0.25 <= chosen["alpha"] <= 32
    assert 0 <= metrics["metrics"]["auc"] <= 1 and "ndcg@10" in metrics["metrics"]
    runner.close()


def test_known_items_published_with_users(config: Config):
    runner = make_runner(config)
    send_input(config, [f"u1,a,1,{T0}", f"u1,b,1,{T0 + 1}", f"u1,a,,{T0 + 2}", f"u2,a,1,{T0}", f"u2,b,2,{T0 + 3}"])
    runner.run_generation()
    xs = {m.id: m.known for m in read_updates(config) if isinstance(m, VectorUpdate) and m.matrix == "X"}
    assert xs == {"u1": ("b",), "u2": ("a", "b")}
    runner.close()


def test_second_generation_trains_on_past_and_new_data(config: Config):
    config = config.with_overrides({"oryx.ml.eval.test-fraction": 0.0})
    runner = make_runner(config)
    send_input(config, [f"old{n},item{n % 5},1,{T0 + n}" for n in range(20)])
    runner.run_generation(T0 + 10**6)
    send_input(config, [f"new{n},item{n % 5},1,{T0 + 10**5 + n}" for n in range(20)])
    runner.run_generation(T0 + 2 * 10**6)
    assert [t.num_rows for t in data_generations(config)] == [20, 20]
    models = [m for m in read_updates(config) if isinstance(m, ModelMessage)]
    assert len(models) == 1  # the embedded update log is cut back to the latest model (issue 11)
    from oryxpy.pmml import pmml_to_als_model

    assert {f"old{n}" for n in range(20)} | {f"new{n}" for n in range(20)} <= set(pmml_to_als_model(models[0].pmml).x_ids)
    runner.close()


def test_no_new_data_no_model(config: Config, caplog: pytest.LogCaptureFixture):
    runner = make_runner(config)
    with caplog.at_level(logging.INFO):
        assert not runner.run_generation()
    assert "No data in current generation" in caplog.text
    assert model_dirs(config) == [] and data_generations(config) == []
    runner.close()


def test_large_model_is_published_as_model_ref(config: Config):
    config = config.with_overrides({"oryx.update-topic.message.max-size": 1024})
    runner = make_runner(config)
    send_input(config, interactions(200, 50, 600))
    runner.run_generation()
    messages = read_updates(config)
    assert isinstance(messages[0], ModelRefMessage) and messages[0].uri.endswith("/model.pmml")
    assert LocalStorage().exists(messages[0].uri)
    check_published(config, messages)
    runner.close()


def test_crash_before_storing_loses_no_input(config: Config):
    lines = interactions(10, 10, 50)
    first = make_runner(config)
    send_input(config, lines)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed")

    first.store_generation = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        first.run_generation()
    first.close()
    second = make_runner(config)  # same oryx.id: resumes from the committed offsets
    assert second.run_generation()
    assert sorted(data_generations(config)[0].column("value").to_pylist()) == sorted(lines)
    second.close()


def test_crash_after_storing_before_commit_stores_nothing_twice(config: Config):
    lines = interactions(10, 10, 50)
    first = make_runner(config)
    send_input(config, lines)

    def crash() -> None:
        raise KeyboardInterrupt("killed")

    first.consumer.commit = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        first.run_generation()
    first.close()
    second = make_runner(config)
    send_input(config, ["late,item1,1,1600000999999"])
    second.run_generation()
    assert sorted(v for t in data_generations(config) for v in t.column("value").to_pylist()) == sorted(lines + ["late,item1,1,1600000999999"])
    second.close()


def test_without_oryx_id_input_sent_before_start_is_not_read(embedded_config: Config):
    config = embedded_config.with_overrides(FAST)
    send_input(config, interactions(5, 5, 10))
    runner = make_runner(config)
    assert not runner.run_generation()
    runner.close()


def test_old_data_and_models_are_deleted(config: Config, tmp_path: Path):
    config = config.with_overrides({"oryx.batch.storage.max-age-data-hours": 1, "oryx.batch.storage.max-age-model-hours": 2})
    runner = make_runner(config)
    storage, now = LocalStorage(), T0 + 100 * 3_600_000
    for name in (f"oryx-{T0}.data", f"oryx-{now - 1_800_000}.data"):
        storage.write_text(join_uri(config.data_dir, name, "part-00000.parquet"), "x")
    for name in (str(T0), str(now - 3_600_000), ".temporary"):
        storage.makedirs(join_uri(config.model_dir, name))
    runner.delete_old(now)
    assert [u.rsplit("/", 1)[-1] for u in storage.list(config.data_dir)] == [f"oryx-{now - 1_800_000}.data"]
    assert sorted(u.rsplit("/", 1)[-1] for u in storage.list(config.model_dir)) == sorted([".temporary", str(now - 3_600_000)])
    runner.close()


def test_threshold_without_test_data_keeps_the_model(config: Config):
    config = config.with_overrides({"oryx.ml.eval.test-fraction": 0.0, "oryx.ml.eval.threshold": 0.99})
    runner = make_runner(config)
    send_input(config, interactions(20, 10, 100))
    runner.run_generation()
    assert len(model_dirs(config)) == 1
    runner.close()


def test_threshold_above_every_score_discards_the_model(config: Config):
    config = config.with_overrides({"oryx.ml.eval.threshold": 1.5})
    runner = make_runner(config)
    send_input(config, interactions(20, 10, 200))
    runner.run_generation()
    assert model_dirs(config) == [] and read_updates(config, idle_s=0.5) == []
    runner.close()


def test_publish_vectors_off_sends_only_the_model(config: Config):
    runner = make_runner(config.with_overrides({"oryx.batch.publish-vectors": False}))
    send_input(config, interactions(20, 10, 100))
    runner.run_generation()
    assert [type(m) for m in read_updates(config)] == [ModelMessage]
    runner.close()


class RecordingUpdate(BatchLayerUpdate):
    """A stand-in model: records what the runner hands it."""

    calls: list[tuple[int, int, int | None]] = []

    def run_update(self, timestamp_ms, new_data, past_data, model_dir, update_producer) -> None:  # type: ignore[no-untyped-def]
        RecordingUpdate.calls.append((timestamp_ms, new_data.num_rows, None if past_data is None else past_data.num_rows))


def test_update_class_is_chosen_by_config(config: Config):
    runner = make_runner(config.with_overrides({"oryx.batch.update-class": "tests.batch.test_runner.RecordingUpdate"}))
    send_input(config, ["a,b,1,5", "c,d,1,6"])
    runner.run_generation(77)
    send_input(config, ["e,f,1,7"])
    runner.run_generation(78)
    assert RecordingUpdate.calls == [(77, 2, None), (78, 1, 2)]
    runner.close()


def test_input_of_a_failed_store_goes_into_the_next_generation(config: Config):
    from oryxpy.errors import StorageError

    runner = make_runner(config)
    lines = interactions(10, 10, 30)
    send_input(config, lines)
    store = runner.store_generation

    def unavailable(*args: object) -> str:
        runner.store_generation = store  # type: ignore[method-assign]
        raise StorageError("HDFS is down")

    runner.store_generation = unavailable  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        runner.run_generation()
    send_input(config, ["late,item1,1,1600000999999"])
    assert runner.run_generation()
    assert sorted(data_generations(config)[0].column("value").to_pylist()) == sorted(lines + ["late,item1,1,1600000999999"])
    runner.close()


def test_a_generation_ends_under_a_steady_stream_of_input(config: Config):
    import threading
    import time

    from oryxpy.topics import open_producer

    runner = make_runner(config.with_overrides({"oryx.batch.streaming.generation-interval-sec": 10}))
    stop = threading.Event()

    def stream() -> None:
        with open_producer(config, "input") as producer:
            n = 0
            while not stop.is_set():
                producer.send(None, f"u{n % 20},i{n % 30},1,{T0 + n}")
                n += 1
                time.sleep(0.002)

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert runner.run_generation()  # reading stops after interval / 10 = 1 s, even though input keeps coming
        assert time.monotonic() - started < 30
    finally:
        stop.set()
        sender.join(timeout=10)
        runner.close()
    assert len(data_generations(config)) == 1 and data_generations(config)[0].num_rows > 0
