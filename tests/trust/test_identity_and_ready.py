"""A stable default identity, and /ready only after the update topic is replayed (issue 11)."""

from __future__ import annotations

import logging
import time

import numpy as np
from fastapi.testclient import TestClient

from oryxpy.identity import derived_identity, resolve_identity
from oryxpy.messages import MODEL, UP, up_value
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.topics import open_producer
from serving.app import create_app
from tests.conftest import embedded_config_at


def test_embedded_identity_is_kept_in_the_state_directory(tmp_path, caplog):
    config = embedded_config_at(tmp_path / "a")
    with caplog.at_level(logging.INFO):
        first = resolve_identity(config)["oryx.id"]
    assert f"identity {first}" in caplog.text
    assert resolve_identity(config)["oryx.id"] == first == (tmp_path / "a" / "identity").read_text().strip()
    assert resolve_identity(config).group_id("BatchLayer") == f"OryxGroup-BatchLayer-{first}"
    assert resolve_identity(embedded_config_at(tmp_path / "b"))["oryx.id"] != first
    assert resolve_identity(config.with_overrides({"oryx.id": "mine"}))["oryx.id"] == "mine"


def test_kafka_identity_is_derived_from_brokers_and_topic(tmp_path, caplog):
    def kafka(brokers: str, topic: str = "In"):  # type: ignore[no-untyped-def]
        return embedded_config_at(tmp_path / brokers.replace(":", "_").replace(",", "-")).with_overrides(
            {"oryx.input-topic.broker": brokers, "oryx.input-topic.message.topic": topic})

    with caplog.at_level(logging.INFO):
        identity = resolve_identity(kafka("h1:9092,h2:9092"))["oryx.id"]
    assert identity == derived_identity(kafka("h2:9092,h1:9092")) and identity.startswith("auto-")
    assert f"using {identity}, derived from the input topic In" in caplog.text
    assert derived_identity(kafka("h1:9092,h2:9092", "Other")) != identity
    assert not list(tmp_path.rglob("identity"))  # nothing written: another machine derives the same


def test_ready_only_after_the_update_topic_is_replayed(tmp_path):
    """With min-model-load-fraction 0.5, the model is 'loaded enough' long before the replay ends: /ready waits."""
    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.min-model-load-fraction": 0.5})
    users, items = [f"u{i}" for i in range(6000)], [f"i{j}" for j in range(50)]
    rng = np.random.default_rng(3)
    messages = [(MODEL, als_model_to_pmml(ALSModelInfo(4, True, users, items)))]
    messages += [(UP, up_value("Y", item, rng.normal(size=4), None)) for item in items]
    messages += [(UP, up_value("X", user, rng.normal(size=4), (items[n % 50],))) for n, user in enumerate(users)]
    with open_producer(config, "update") as producer:
        producer.send_all(messages)
    with TestClient(create_app(config)) as client:
        reasons = set()
        deadline = time.monotonic() + 60
        while (response := client.get("/ready")).status_code != 200:
            assert response.status_code == 503 and time.monotonic() < deadline
            reasons.add(response.text)
        assert len(client.get("/user/allIDs").text.split()) == len(users)  # everything, at the first 200
        assert client.get(f"/knownItems/{users[-1]}").text.split() == [items[(len(users) - 1) % 50]]
    assert all("loading model: " in reason for reason in reasons), reasons
