"""The three layers together under `oryxpy run`: ingest, a model, recommendations, fresh users via the speed layer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oryxpy.config import Config
from tests.integration.system import RunningSystem, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYSTEM_SETTINGS = {
    "oryx.id": "e2e",
    "oryx.batch.streaming.generation-interval-sec": 20,
    "oryx.ml.eval.candidates": 1,
    "oryx.als.iterations": 5,
    "oryx.speed.min-model-load-fraction": 0.8,
    # /ready then means every vector has arrived: at Oryx's default 0.8 a user whose UP is still on its way is a 503
    # (the Spark engine's executors send the UPs in no particular order), and the assertions below ask for user 196
    "oryx.serving.min-model-load-fraction": 1.0,
}


def movielens_csv(path: Path, limit: int | None = None) -> bytes:
    lines = path.read_text().splitlines()[:limit]
    return ("\n".join(line.replace("\t", ",") for line in lines) + "\n").encode()


def system_config(base: Config, **more: object) -> Config:
    return base.with_overrides({**SYSTEM_SETTINGS, "oryx.serving.api.port": free_port(), **more})


def run_first_minute(system: RunningSystem, data: bytes) -> None:
    """Ingest, wait for a model, ask for recommendations, then fold a brand-new user in through the speed layer."""
    response = system.client.post("/ingest", content=data, headers={"Content-Type": "text/csv"})
    assert response.status_code == 204, response.text
    system.wait_for(lambda: system.get("/ready").status_code == 200, 240, "a model to be published and loaded")
    recommended = system.get("/recommend/196")
    assert recommended.status_code == 200
    lines = recommended.text.strip().splitlines()
    assert len(lines) == 10 and all(len(line.split(",")) == 2 for line in lines)
    known = set(system.get("/knownItems/196").text.split())
    assert known and not known & {line.split(",")[0] for line in lines}
    assert_exact_top(system, "196", known)

    models_before = system.model_count()
    assert system.get("/recommend/brand-new-user").status_code == 404
    for item in ("50", "172", "181"):  # Star Wars, Empire Strikes Back, Return of the Jedi
        assert system.client.post(f"/pref/brand-new-user/{item}", content=b"5").status_code == 204
    started = time.monotonic()
    system.wait_for(lambda: system.get("/recommend/brand-new-user").status_code == 200, 30,
                    "the speed layer to fold the new user in")
    freshness = time.monotonic() - started
    assert system.model_count() == models_before, "answered by a new batch model, not the speed layer"
    fresh = system.get("/recommend/brand-new-user?howMany=5").text.strip().splitlines()
    assert len(fresh) == 5
    print(f"new user recommendable {freshness:.2f} s after the third /pref")  # noqa: T201


def assert_exact_top(system: RunningSystem, user: str, known: set[str]) -> None:
    """/recommend is the top 10 of the served model's own scores (/estimate) over every item the user does not know:
    the same values, and each item's value its /estimate (IDs may only differ between equal float32 scores)."""
    items = system.get("/item/allIDs").text.split()
    scores: dict[str, float] = {}
    for start in range(0, len(items), 200):
        chunk = items[start : start + 200]
        scores.update(zip(chunk, (float(v) for v in system.get(f"/estimate/{user}/{'/'.join(chunk)}").text.split()),
                          strict=True))
    best = sorted((v for i, v in scores.items() if i not in known), reverse=True)[:10]
    served = [(i, float(v)) for i, v in (line.split(",") for line in system.get(f"/recommend/{user}").text.split())]
    assert [v for _, v in served] == pytest.approx(best, rel=1e-6), (served, best)
    assert all(v == pytest.approx(scores[i], rel=1e-9) for i, v in served)


def test_embedded_first_minute(embedded_config, shared_data, tmp_path):
    system = RunningSystem(system_config(embedded_config), tmp_path / "run.log").start()
    try:
        run_first_minute(system, movielens_csv(shared_data("ml-100k/u.data")))
    finally:
        system.stop()


def on_kafka_and_hdfs(kafka_config: Config, hdfs_base: str, **more: object) -> Config:
    """The system on real Kafka (fresh topics) with data-dir and model-dir on real HDFS."""
    from tests.conftest import WEBHDFS_URL

    run = f"{hdfs_base}/e2e-{kafka_config['oryx.input-topic.message.topic']}"
    return system_config(kafka_config, **{
        "oryx.batch.storage.data-dir": f"{run}/data",
        "oryx.batch.storage.model-dir": f"{run}/model",
        "oryx.storage.hdfs.webhdfs-url": WEBHDFS_URL,
        **more,
    })


def test_kafka_and_hdfs_local_engine(kafka_config, hdfs_base, shared_data, tmp_path):
    system = RunningSystem(on_kafka_and_hdfs(kafka_config, hdfs_base), tmp_path / "run.log").start()
    try:
        run_first_minute(system, movielens_csv(shared_data("ml-100k/u.data"), limit=30000))
    finally:
        system.stop()


def test_kafka_and_hdfs_spark_engine(kafka_config, hdfs_base, shared_data, tmp_path):
    config = on_kafka_and_hdfs(kafka_config, hdfs_base, **{
        "oryx.batch.engine": "spark",
        "oryx.batch.streaming.starting-offsets": "earliest",  # the Spark job may start after the ingest
        "oryx.batch.streaming.generation-interval-sec": 30,
    })
    system = RunningSystem(config, tmp_path / "run.log").start()
    try:
        run_first_minute(system, movielens_csv(shared_data("ml-100k/u.data"), limit=30000))
    finally:
        system.stop()
