"""Shared pieces of the trust tests (issue 11): a system config without oryx.id, the CLI, REST look-ups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from oryxpy.config import Config
from oryxpy.demo import demo_interactions
from tests.integration.system import RunningSystem, _text, free_port

TRUST_SETTINGS = {
    "oryx.batch.streaming.generation-interval-sec": 8,
    "oryx.ml.eval.candidates": 1,
    "oryx.als.iterations": 5,
}


def trust_config(base: Config, **more: object) -> Config:
    """Short generations, a free port and, unlike the end-to-end tests, no oryx.id: the default identity is tested."""
    return base.with_overrides({**TRUST_SETTINGS, "oryx.serving.api.port": free_port(), **more})


def cli_sets(config: Config) -> list[str]:
    args: list[str] = []
    for key, value in config.items():
        if value is not None:
            args += ["--set", f"{key}={_text(value)}"]
    return args


def oryxpy(config: Config, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``oryxpy`` command (as a user would) with every set key of ``config``."""
    command = [sys.executable, "-m", "oryxpy.cli", *args[:1], *cli_sets(config), *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)


def demo_csv(users: int = 150, items: int = 100) -> tuple[bytes, set[str]]:
    lines = demo_interactions(users=users, items=items, per_user=12)
    return ("\n".join(lines) + "\n").encode(), {line.split(",")[0] for line in lines}


def ingest(system: RunningSystem, data: bytes) -> None:
    response = system.client.post("/ingest", content=data, headers={"Content-Type": "text/csv"})
    assert response.status_code == 204, response.text


def model_users(system: RunningSystem) -> set[str]:
    response = system.get("/user/allIDs")
    return set(response.text.split()) if response.status_code == 200 else set()


def wait_ready(system: RunningSystem, what: str, timeout_s: float = 180) -> None:
    system.wait_for(lambda: system.get("/ready").status_code == 200, timeout_s, what)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


def kill_process_group(system: RunningSystem) -> None:
    """kill -9 of the whole process group of ``oryxpy run`` (what a crash or an OOM kill of the supervisor does)."""
    assert system.process is not None
    os.killpg(system.process.pid, 9)
    system.process.wait(timeout=10)
