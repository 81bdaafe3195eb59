"""The batch layer as a process: generations on its timer, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from oryxpy.config import Config
from tests.batch.helpers import interactions, model_dirs, send_input
from tests.conftest import embedded_config_at

ROOT = Path(__file__).resolve().parents[2]


def test_layer_runs_generations_and_stops_on_sigterm(tmp_path: Path):
    state = tmp_path / "state"
    sets = [f"oryx.embedded.state-dir={state}", "oryx.batch.streaming.generation-interval-sec=1", "oryx.id=layer",
            "oryx.als.hyperparams.features=3", "oryx.als.iterations=2"]
    config: Config = embedded_config_at(state)
    process = subprocess.Popen([sys.executable, "-m", "batch", *[a for s in sets for a in ("--set", s)]], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not model_dirs(config) and time.monotonic() < deadline:
            send_input(config, interactions(10, 8, 40))
            time.sleep(1.5)
        assert model_dirs(config), "no model within 60 s"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "batch layer stopped" in output
