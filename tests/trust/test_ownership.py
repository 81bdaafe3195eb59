"""One owner per state directory, layers that die with their supervisor, a busy port and a crash loop (issue 11)."""

from __future__ import annotations

import socket
import time

import pytest

from tests.integration.system import RunningSystem
from tests.trust.helpers import alive, kill_process_group, oryxpy, trust_config, wait_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_second_run_is_refused_and_layers_die_with_a_killed_supervisor(embedded_config, tmp_path):
    config = trust_config(embedded_config)
    system = RunningSystem(config, tmp_path / "run.log").start()
    try:
        layers = {layer: system.layer_pid(layer) for layer in ("batch", "speed", "serving")}
        identity = (config.state_dir / "identity").read_text().strip()
        assert identity.startswith("state-") and f"identity {identity}" in system.log_path.read_text()

        second = oryxpy(trust_config(embedded_config), "run", timeout_s=60)  # same state directory, another port
        assert second.returncode == 1, second.stderr
        assert f"in use by another `oryxpy run` (pid {system.process.pid}" in second.stderr
        assert {layer: system.layer_pid(layer) for layer in layers} == layers  # pid files untouched
        assert system.get("/").status_code == 200

        kill_process_group(system)  # the supervisor only: each layer runs in a session of its own
        left = wait_gone(list(layers.values()), 60)
        assert not left, f"layers still running 60 s after their supervisor was killed: {left}"
    finally:
        system.stop()

    again = RunningSystem(config, tmp_path / "run2.log").start()  # the state directory is free again, same identity
    try:
        assert (config.state_dir / "identity").read_text().strip() == identity
        assert all(not alive(pid) for pid in layers.values())
    finally:
        again.stop()


def test_busy_port_fails_fast_naming_the_address(embedded_config):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = trust_config(embedded_config, **{"oryx.serving.api.port": port})
        started = time.monotonic()
        result = oryxpy(config, "run", timeout_s=60)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "already in use" in result.stderr
    assert time.monotonic() - started < 30
    assert not list((config.state_dir / "run").glob("*.pid"))  # no layer was started


def test_a_layer_that_keeps_dying_at_start_stops_everything_with_the_reason(embedded_config, tmp_path):
    # a model manager class that does not exist: only the serving layer loads it, and fails at every start
    config = trust_config(embedded_config, **{"oryx.serving.model-manager-class": "serving.nowhere.Manager"})
    result = oryxpy(config, "run", timeout_s=120)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "serving layer keeps dying at start (3 times in a row" in result.stderr
    assert "not restarting it" in result.stderr
    assert result.stderr.count("started serving layer") == 3


def test_supervisor_survives_pid_file_write_errors(embedded_config, tmp_path):
    config = trust_config(embedded_config)
    (config.state_dir / "run" / "serving.pid").mkdir(parents=True)  # a pid file that cannot be written
    system = RunningSystem(config, tmp_path / "run.log").start()
    try:
        assert system.get("/ready").status_code == 503
        assert "cannot write" in system.log_path.read_text()
    finally:
        system.stop()
    assert system.process.returncode == 0, system.log_tail()
