"""``oryxpy run``: start the batch, speed and serving layers as child processes and keep them running."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from oryxpy.config import Config
from oryxpy.config.reference import toml_value

log = logging.getLogger("oryxpy.run")

LAYERS = ("batch", "speed", "serving")
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 20.0


def write_effective_config(config: Config, path: Path) -> None:
    """Write every set key as a TOML file the child layers load, so all three see the same configuration."""
    lines = [f'"{name}" = {toml_value(value)}' for name, value in config.items() if value is not None]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by `oryxpy run`; every layer started by it reads this file\n" + "\n".join(lines) + "\n")


@dataclass
class Child:
    """One supervised layer process."""

    layer: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    backoff_s: float = 1.0
    started_at: float = field(default=0.0)

    def start(self, pid_dir: Path) -> None:
        self.process = subprocess.Popen(self.command, start_new_session=True)
        self.started_at = time.monotonic()
        (pid_dir / f"{self.layer}.pid").write_text(f"{self.process.pid}\n")
        log.info("started %s layer (pid %d)", self.layer, self.process.pid)


class Supervisor:
    """Starts the layers, restarts any that exits, and stops them all on SIGINT/SIGTERM."""

    def __init__(self, config: Config):
        self.config = config
        self.run_dir = config.state_dir / "run"  # effective config and one <layer>.pid per running layer
        self.conf_file = self.run_dir / "effective-config.toml"
        self.children = [Child(layer, [sys.executable, "-m", "oryxpy.cli", layer, "--conf", str(self.conf_file)])
                         for layer in LAYERS]
        self._stop = threading.Event()

    def api_url(self) -> str:
        secure = self.config["oryx.serving.api.cert-file"] is not None
        scheme, port = ("https", self.config["oryx.serving.api.secure-port"]) if secure else ("http", self.config["oryx.serving.api.port"])
        path = "/" + self.config["oryx.serving.api.context-path"].strip("/")
        return f"{scheme}://{self.config['oryx.serving.api.host']}:{port}{path.rstrip('/')}/"

    def run(self) -> None:
        write_effective_config(self.config, self.conf_file)
        for child in self.children:
            child.start(self.run_dir)
        log.info("oryxpy is running: REST API and console at %s (OpenAPI docs at %sdocs); state in %s; Ctrl-C stops",
                 self.api_url(), self.api_url(), self.config.state_dir)
        try:
            while not self._stop.wait(0.5):
                for child in self.children:
                    self._check(child)
        finally:
            self.stop_all()

    def _check(self, child: Child) -> None:
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            if time.monotonic() - child.started_at > 60:
                child.backoff_s = 1.0  # it ran for a while: the next crash restarts quickly again
            return
        log.error("%s layer exited with code %d; restarting in %.0f s", child.layer, code, child.backoff_s)
        if self._stop.wait(child.backoff_s):
            return
        child.backoff_s = min(MAX_BACKOFF_S, child.backoff_s * 2)
        child.restarts += 1
        child.start(self.run_dir)

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    def stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in %.0f s; killing it", process.pid, STOP_GRACE_S)
                process.kill()
        log.info("all layers stopped")


def run(config: Config) -> None:
    """Run all three layers until SIGINT or SIGTERM."""
    supervisor = Supervisor(config)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    supervisor.run()
