"""Models published on the update topic (embedded and real Kafka; MODEL + UPs and MODEL-REF with Parquet) are served."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.messages import ModelRefMessage, encode
from oryxpy.modelfiles import write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.storage import storage_for
from oryxpy.topics import open_producer
from serving.app import create_app
from serving.layer import server_config
from tests.serving import golden

EXPECTED_U0 = "I1,0.4653969090284935\nI5,0.38524912941109696\n"  # the golden model, values checked in test_endpoints


def publish_golden(config: Config, users: list[str] = golden.USERS) -> None:
    with open_producer(config, "update") as producer:
        producer.send("UP", '["Y","I0",[1.0,2.0]]')  # before any MODEL: dropped (replay starts at the latest model)
        producer.send_all([encode(m) for m in golden.messages(users)])  # type: ignore[arg-type]
        producer.send("BAD", "junk")  # a bad message is logged and skipped
        producer.send("UP", "not json")


def wait_ready(get: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while get("/ready").status_code != 200:  # type: ignore[operator]
        assert time.monotonic() < deadline, "model not loaded in time"
        time.sleep(0.05)


def check_golden(client: TestClient) -> None:
    wait_ready(client.get)
    deadline = time.monotonic() + 10
    while client.get("/user/allIDs").text.count("\n") < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/recommend/U0?howMany=2").text == EXPECTED_U0
    consumer = client.app.state.oryx.extras["update_consumer"]  # type: ignore[attr-defined]
    while consumer.errors < 2 and time.monotonic() < deadline:  # the bad messages are logged and skipped
        time.sleep(0.05)
    assert consumer.errors == 2 and consumer.alive
    assert client.app.state.oryx.extras["update_lag"]() >= 0  # type: ignore[attr-defined]


def publish_model_ref(config: Config, model_dir: str, known: dict[str, list[str]] | None = None) -> None:
    storage = storage_for(model_dir, config)
    if known is None:
        known = {u: [golden.ITEMS[j] for j in golden.KNOWN[u]] for u in golden.USERS}
    info = ALSModelInfo(2, True, golden.USERS, golden.ITEMS)
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(info))
    write_vectors(storage, f"{model_dir}/Y", golden.ITEMS, golden.Y)
    write_vectors(storage, f"{model_dir}/X", golden.USERS, golden.X,
                  [known[u] for u in golden.USERS])
    with open_producer(config, "update") as producer:
        producer.send(*encode(ModelRefMessage(f"{model_dir}/gone/model.pmml")))  # missing: skipped
        producer.send(*encode(ModelRefMessage(storage.qualify(f"{model_dir}/model.pmml"))))


def test_embedded_update_topic_is_consumed(embedded_config: Config) -> None:
    publish_golden(embedded_config)
    with TestClient(create_app(embedded_config)) as client:
        check_golden(client)
        assert client.app.state.oryx.producer is not None  # type: ignore[attr-defined]


@pytest.mark.integration
def test_kafka_model_and_ups_are_served(kafka_config: Config) -> None:
    publish_golden(kafka_config)
    with TestClient(create_app(kafka_config)) as client:
        check_golden(client)


@pytest.mark.integration
def test_kafka_model_ref_with_parquet_is_served(kafka_config: Config, tmp_path: Path) -> None:
    publish_model_ref(kafka_config, f"file:{tmp_path}/model/1700000000000")
    with TestClient(create_app(kafka_config)) as client:
        wait_ready(client.get)
        assert client.get("/recommend/U0?howMany=2").text == EXPECTED_U0
        assert client.get("/knownItems/U0").text == "I0\nI4\nI7\n"


def test_deleted_pair_leaves_known_items_and_is_recommended_again(embedded_config: Config, tmp_path: Path) -> None:
    publish_model_ref(embedded_config, f"file:{tmp_path}/model/1")
    with TestClient(create_app(embedded_config)) as client:
        wait_ready(client.get)
        assert client.get("/knownItems/U0").text == "I0\nI4\nI7\n"
        assert "I4" not in client.get("/recommend/U0?howMany=9").text
        with open_producer(embedded_config, "update") as producer:  # the speed layer adds (U0, I2)
            producer.send("UP", '["X","U0",[-0.35837504,0.60391283],["I2"]]')
        deadline = time.monotonic() + 20
        while client.get("/knownItems/U0").text != "I0\nI4\nI7\nI2\n":
            assert time.monotonic() < deadline, "UP not applied"
            time.sleep(0.05)
        known = {u: [golden.ITEMS[j] for j in golden.KNOWN[u]] for u in golden.USERS}
        known["U0"] = ["I0", "I7"]  # (U0, I4) was deleted upstream
        publish_model_ref(embedded_config, f"file:{tmp_path}/model/2", known)
        while client.get("/knownItems/U0").text != "I0\nI7\nI2\n":  # the model's pairs, plus those since
            assert time.monotonic() < deadline, f"new model not applied: {client.get('/knownItems/U0').text!r}"
            time.sleep(0.05)
        recommended = [line.split(",")[0] for line in client.get("/recommend/U0?howMany=9").text.split()]
        assert "I4" in recommended and not {"I0", "I7", "I2"} & set(recommended)
        assert client.get("/knownItems/U1").text == "I1\nI4\nI5\nI7\nI8\n"


@pytest.mark.integration
def test_model_ref_on_hdfs_is_served(hdfs_config: Config) -> None:
    publish_model_ref(hdfs_config, hdfs_config["oryx.batch.storage.model-dir"] + "/1700000000000")
    with TestClient(create_app(hdfs_config)) as client:
        wait_ready(client.get)
        assert client.get("/recommend/U0?howMany=2").text == EXPECTED_U0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_uvicorn_keeps_encoded_slashes_and_context_path(embedded_config: Config) -> None:
    users = ["a/b", "c d", "é/☃", "U3", "U4", "U5", "U6"]
    publish_golden(embedded_config, users)
    config = embedded_config.with_overrides({"oryx.serving.api.port": free_port(), "oryx.serving.api.context-path": "/ctx"})
    server = uvicorn.Server(server_config(config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{config['oryx.serving.api.port']}/ctx", timeout=10) as http:
            deadline = time.monotonic() + 20
            while not server.started:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            wait_ready(http.get)
            while "é/☃" not in http.get("/user/allIDs").text and time.monotonic() < deadline:
                time.sleep(0.05)
            assert http.get("/recommend/a%2Fb?howMany=2").text == EXPECTED_U0
            assert http.get("/knownItems/%C3%A9%2F%E2%98%83").text == "I2\nI5\nI6\nI7\nI8\n"
            assert http.get("/estimate/c%20d/I1").status_code == 200
            assert http.get("/recommend/a/b").status_code == 404
    finally:
        server.should_exit = True
        thread.join(15)
    assert not thread.is_alive()
    np.testing.assert_equal(server.started, True)
