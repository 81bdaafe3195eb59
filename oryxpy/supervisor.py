"""``oryxpy run``: start the batch, speed and serving layers as child processes and keep them running.

One ``oryxpy run`` owns a state directory (a lock on ``<state-dir>/run/lock``); the layers die with it (a parent-death
signal), so a crashed supervisor leaves nothing behind; a layer that keeps dying right after its start is not
restarted forever: everything stops with the reason.
"""

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
from oryxpy.errors import OryxError
from oryxpy.experiment_run import variant_layers
from oryxpy.runlock import StateLock, check_port_free, die_with_parent, reap_previous_layers

log = logging.getLogger("oryxpy.run")

LAYERS = ("batch", "speed", "serving")
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 20.0
EARLY_DEATH_S = 20.0  # a layer that exits sooner than this after its start "died at start"
MAX_EARLY_DEATHS = 3  # ... and after this many such deaths in a row it is not restarted again


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
    early_deaths: int = 0
    started_at: float = field(default=0.0)

    def start(self, pid_dir: Path) -> None:
        # a session of its own (Ctrl-C in a terminal reaches only the supervisor, which stops the layers in order),
        # and a parent-death signal, so that the layer does not outlive a killed supervisor
        self.process = subprocess.Popen(self.command, start_new_session=True, preexec_fn=die_with_parent())
        self.started_at = time.monotonic()
        try:
            (pid_dir / f"{self.layer}.pid").write_text(f"{self.process.pid}\n")
        except OSError as exc:  # the pid file is informational: a full or read-only disk must not stop supervision
            log.warning("cannot write %s: %s", pid_dir / f"{self.layer}.pid", exc)
        log.info("started %s layer (pid %d)", self.layer, self.process.pid)


class Supervisor:
    """Starts the layers, restarts any that exits, and stops them all on SIGINT/SIGTERM."""

    def __init__(self, config: Config):
        self.config = config
        self.run_dir = config.state_dir / "run"  # effective config and one <layer>.pid per running layer
        self.conf_file = self.run_dir / "effective-config.toml"
        self.children = [Child(layer, [sys.executable, "-m", "oryxpy.cli", layer, "--conf", str(self.conf_file)])
                         for layer in LAYERS]
        self.variant_layers = variant_layers(config)  # A/B test: a batch and a speed layer per extra variant
        self.children += [Child(name, [sys.executable, "-m", "oryxpy.cli", layer, "--conf", str(self.run_dir / f"{name}.toml")])
                          for name, layer, _ in self.variant_layers]
        self._stop = threading.Event()
        self.failure: str | None = None

    def api_url(self) -> str:
        api = self.config.settings.serving.api
        host, port = self.serving_address()
        scheme = "https" if api.cert_file is not None else "http"
        path = "/" + api.context_path.strip("/")
        return f"{scheme}://{host}:{port}{path.rstrip('/')}/"

    def serving_address(self) -> tuple[str, int]:
        api = self.config.settings.serving.api
        return api.host, api.secure_port if api.cert_file is not None else api.port

    def run(self) -> None:
        """Run until a signal (returns) or until a layer keeps dying at start (raises OryxError)."""
        with StateLock(self.run_dir / "lock", self.config.state_dir):
            reap_previous_layers(self.run_dir, LAYERS, STOP_GRACE_S)
            check_port_free(*self.serving_address())
            pin_input_positions(self.config)
            write_effective_config(self.config, self.conf_file)
            for name, _, variant_config in self.variant_layers:
                pin_input_positions(variant_config)
                write_effective_config(variant_config, self.run_dir / f"{name}.toml")
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
        if self.failure is not None:
            raise OryxError(self.failure)

    def _check(self, child: Child) -> None:
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            if time.monotonic() - child.started_at > 60:
                child.backoff_s = 1.0  # it ran for a while: the next crash restarts quickly again
                child.early_deaths = 0
            return
        lived = time.monotonic() - child.started_at
        child.early_deaths = child.early_deaths + 1 if lived < EARLY_DEATH_S else 0
        if child.early_deaths >= MAX_EARLY_DEATHS:
            self.failure = (f"the {child.layer} layer keeps dying at start ({child.early_deaths} times in a row within "
                            f"{EARLY_DEATH_S:.0f} s of starting, last exit code {code}); not restarting it, stopping "
                            f"everything: see the {child.layer} layer's log above for the cause")
            log.error("%s", self.failure)
            self._stop.set()
            return
        log.error("%s layer exited with code %d after %.1f s; restarting in %.0f s", child.layer, code, lived, child.backoff_s)
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
        for child in self.children:
            try:
                (self.run_dir / f"{child.layer}.pid").unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove %s: %s", self.run_dir / f"{child.layer}.pid", exc)
        log.info("all layers stopped")


def pin_input_positions(config: Config) -> None:
    """Give the batch and speed layers' input groups a committed position before any layer (serving: /ingest) runs.

    A group without one starts at the latest input, so input accepted by serving before a layer's consumer had
    started would otherwise be skipped by that layer at the very first start.
    """
    if not config.settings.input_topic.broker:
        return
    from oryxpy.topics import pin_group_start

    for layer in ("BatchLayer", "SpeedLayer"):
        try:
            pin_group_start(config, "input", config.group_id(layer))
        except Exception as exc:  # the layer pins its own position when it starts, as it always did
            log.warning("could not fix the start position of %s before starting the layers: %s",
                        config.group_id(layer), exc)


def run(config: Config) -> None:
    """Run all three layers until SIGINT or SIGTERM."""
    supervisor = Supervisor(config)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    supervisor.run()
