"""A whole oryxpy system (`oryxpy run`) in a subprocess, for end-to-end and fault tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from oryxpy.config import Config
from oryxpy.storage import storage_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningSystem:
    """``oryxpy run`` with a given configuration; the three layers are its children."""

    def __init__(self, config: Config, log_path: Path):
        self.config = config
        self.port = config["oryx.serving.api.port"]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def start(self) -> RunningSystem:
        sets = [f"{k}={_text(v)}" for k, v in self.config.items() if v is not None]
        args = [sys.executable, "-m", "oryxpy.cli", "run"]
        for s in sets:
            args += ["--set", s]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(lambda: self.get("/").status_code == 200, 120, "the serving layer to answer")
        return self

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        try:
            return self.client.get(path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:
            return httpx.Response(599)

    def wait_for(self, condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"oryxpy run exited ({self.process.returncode}); log:\n{self.log_tail()}")
            try:
                if condition():
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def layer_pid(self, layer: str) -> int:
        return int((self.config.state_dir / "run" / f"{layer}.pid").read_text())

    def kill_layer(self, layer: str) -> int:
        pid = self.layer_pid(layer)
        os.kill(pid, signal.SIGKILL)
        return pid

    def model_count(self) -> int:
        storage = storage_for(self.config.model_dir, self.config)
        return sum(1 for uri in storage.list(self.config.model_dir) if uri.rsplit("/", 1)[-1].isdigit())

    def stored_values(self) -> list[str]:
        """Every input value stored in the data directory so far."""
        storage = storage_for(self.config.data_dir, self.config)
        values: list[str] = []
        for generation in storage.list(self.config.data_dir):
            if generation.rsplit("/", 1)[-1].startswith("oryx-"):
                values += storage.read_parquet(generation).column("value").to_pylist()
        return values

    def stop(self) -> None:
        self.client.close()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


__all__ = ["RunningSystem", "free_port", "pq"]
