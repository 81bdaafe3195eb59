"""GET /metrics: Prometheus text with requests and latency per route template, model size and update lag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from oryxpy.messages import ModelMessage, VectorUpdate
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from serving.als.manager import ALSServingModelManager
from tests.conftest import embedded_config_at
from tests.serving.io_support import io_app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_latency_and_model_gauges(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state")
    manager = ALSServingModelManager(config)
    app = io_app(config, manager)
    app.state.oryx.extras["update_lag"] = 7
    with TestClient(app) as client:
        before = samples(client.get("/metrics").text)
        assert before[("oryx_serving_model_present", ())] == 0.0
        assert before[("oryx_serving_update_topic_lag", ())] == 7.0
        manager.consume(ModelMessage(als_model_to_pmml(ALSModelInfo(2, True, ["u1", "u2"], ["i1", "i2", "i3"]))))
        manager.consume(VectorUpdate("X", "u1", np.array([0.5, 1.0], dtype=np.float32), ("i1",)))
        manager.consume(VectorUpdate("Y", "i1", np.array([1.0, 0.0], dtype=np.float32)))
        for path in ("/pref/a/b", "/pref/c%2Fd/e", "/pref/x/y/z"):
            client.delete(path)
        client.post("/ingest", content=b"bad\n", headers={"Content-Type": "text/plain"})
        client.get("/no/such/path")
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)
    assert after[("oryx_serving_requests_total", (("method", "DELETE"), ("route", "/pref/{userID}/{itemID}"), ("status", "204")))] == 1
    assert after[("oryx_serving_requests_total", (("method", "DELETE"), ("route", "/pref/{tail:path}"), ("status", "204")))] == 1
    assert after[("oryx_serving_requests_total", (("method", "DELETE"), ("route", "/pref/{tail:path}"), ("status", "404")))] == 1
    assert after[("oryx_serving_requests_total", (("method", "POST"), ("route", "/ingest"), ("status", "400")))] == 1
    assert after[("oryx_serving_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] == 1
    assert after[("oryx_serving_request_duration_seconds_count", (("method", "GET"), ("route", "/metrics")))] == 1
    assert not any("c%2Fd" in str(key) or "/pref/a/b" in str(key) for key in after)
    assert after[("oryx_serving_model_present", ())] == 1.0
    assert after[("oryx_serving_model_features", ())] == 2.0
    assert after[("oryx_serving_model_users", ())] == 1.0
    assert after[("oryx_serving_model_items", ())] == 1.0
    assert after[("oryx_serving_model_loaded_fraction", ())] == 2 / 5


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state")
    with TestClient(io_app(config)) as first, TestClient(io_app(config)) as second:
        first.get("/")
        text = second.get("/metrics").text
    assert 'route="/"' not in text
