"""``python -m speed`` runs until SIGTERM, then stops cleanly with what it processed committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from oryxpy.config import Config
from oryxpy.topics import open_consumer
from tests.speed.fixtures import model_messages
from tests.speed.test_layer import publish, record, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_the_layer_gracefully(embedded_config: Config) -> None:
    publish(embedded_config, "update", model_messages())
    reader = open_consumer(embedded_config, "update", None, "latest")
    reader.wait_ready()
    group = embedded_config.with_overrides({"oryx.id": "entry-test"}).group_id("SpeedLayer")
    committed = open_consumer(embedded_config, "input", group, "latest")
    process = subprocess.Popen(
        [sys.executable, "-m", "speed", "--set", f"oryx.embedded.state-dir={embedded_config.state_dir}",
         "--set", "oryx.id=entry-test", "--set", "oryx.speed.max-batch-wait-ms=0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # input sent before the layer's consumer is positioned would be skipped
            publish(embedded_config, "input", [record("W1", "B1")])
            if [m for m in reader.poll(1.0, 100) if m.key == "UP"]:
                break
        else:
            raise AssertionError("the layer produced no UP")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        reader.close()
    assert process.returncode == 0, output
    assert "Speed layer stopped" in output
    wait_for(lambda: committed.lag() == 0, "every input record to be committed", 5)
    committed.close()
