"""The batch and speed layers' own Prometheus endpoints, and the dashboard reading them (issue 17)."""

from __future__ import annotations

import socket

import httpx

from batch.runner import BatchRunner
from oryxpy.analytics import layer_metrics
from oryxpy.config import Config
from serving.dashboard_data import scrape_layers
from speed.runner import SpeedLayer
from tests.batch.helpers import FAST, interactions, send_input
from tests.conftest import embedded_config_at


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unset_port_serves_nothing(embedded_config: Config) -> None:
    assert layer_metrics.serve(embedded_config, "speed", SpeedLayer(embedded_config)) is None


def test_speed_and_batch_endpoints(tmp_path) -> None:  # type: ignore[no-untyped-def]
    speed_port, batch_port = free_port(), free_port()
    config = embedded_config_at(tmp_path / "state", **FAST, **{"oryx.speed.metrics-port": speed_port,
                                                               "oryx.batch.metrics-port": batch_port})
    speed = SpeedLayer(config)
    speed_server = layer_metrics.serve(config, "speed", speed)
    runner = BatchRunner(config)
    batch_server = layer_metrics.serve(config, "batch", runner)
    try:
        speed.manager.build_updates(["u1,i1,1,1000", "u2,i2,1,1000"])  # no model yet: nothing, but timed
        speed.counters.input_records += 2
        runner.start()
        send_input(config, interactions(20, 10, 200))
        assert runner.run_generation()
        runner.close()
        text = httpx.get(f"http://127.0.0.1:{speed_port}/metrics").text
        assert "oryx_speed_fold_in_batch_seconds_count 1.0" in text
        assert "oryx_speed_fold_in_record_seconds_count 1.0" in text and "oryx_speed_input_records_total 2.0" in text
        batch = httpx.get(f"http://127.0.0.1:{batch_port}/metrics").text
        assert "oryx_batch_generation_seconds_count 1.0" in batch and "oryx_batch_generations_total 1.0" in batch
        shown = scrape_layers([f"http://127.0.0.1:{speed_port}/metrics", f"http://127.0.0.1:{batch_port}/metrics",
                               "http://127.0.0.1:1/metrics"])
        assert shown[f"http://127.0.0.1:{speed_port}/metrics"]["oryx_speed_input_records_total"] == 2.0
        assert shown[f"http://127.0.0.1:{batch_port}/metrics"]["oryx_batch_generations_total"] == 1.0
        assert "error" in shown["http://127.0.0.1:1/metrics"]
    finally:
        speed_server.shutdown()
        batch_server.shutdown()
