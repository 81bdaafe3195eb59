"""One shared system for the interop tests: ml-100k built by our batch, served by Oryx 2.8.0 and by us.

Setup (about a minute): unique Kafka topics; a standalone ZooKeeper holding their nodes; ml-100k sent to the input
topic; one batch generation of ours (model and vectors published on the update topic); then, side by side, the
released Oryx 2.8.0 serving layer, our serving layer and our speed layer as subprocesses on that topic pair.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from batch.runner import BatchRunner
from oryxpy.bulk import send_input_file
from oryxpy.config import Config, load_config
from oryxpy.topics import setup_topics
from tests.conftest import DATA, require_service
from tests.interop.oryx_process import OryxServing, ensure_oryx, free_port, start_zookeeper

#: Settings of our layers: a small, exact model (sample-rate 1: no LSH on either side); test-fraction 0 trains on all.
MODEL_SETTINGS = {
    "oryx.als.hyperparams.features": 10,
    "oryx.als.iterations": 5,
    "oryx.als.seed": 7,
    "oryx.ml.eval.test-fraction": 0.0,
    "oryx.als.sample-rate": 1.0,
    "oryx.speed.min-model-load-fraction": 1.0,
}


@dataclass
class Layer:
    """One of our layers as ``python -m oryxpy.cli <layer>``."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self, what: str) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"{what} exited ({self.process.returncode}); log:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_layer(name: str, config: Config, work: Path) -> Layer:
    args = [sys.executable, "-m", "oryxpy.cli", name]
    for key, value in config.items():
        if value is not None:
            args += ["--set", f"{key}={'true' if value is True else 'false' if value is False else value}"]
    log_path = work / f"oryxpy-{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    return Layer(process, log_path)


@dataclass
class Interop:
    """What the interop tests use: both serving layers' clients, our config and batch, and the test folder."""

    config: Config
    oryx: httpx.Client
    ours: httpx.Client
    runner: BatchRunner
    work: Path
    user_ids: list[str]
    item_ids: list[str]
    setup_s: float
    layer_logs: dict[str, Path]


def wait_until(condition, timeout_s: float, what: str, alive=()) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for check, name in alive:
            check(name)
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def interop(kafka_bootstrap: str) -> Iterator[Interop]:
    started = time.monotonic()
    data = DATA / "ml-100k" / "u.data"
    require_service(f"data file {data}", data.exists())
    require_service("Maven and a JDK (to fetch Oryx 2.8.0)", bool(shutil.which("mvn") and shutil.which("javac")))
    ensure_oryx()
    # not under pytest's basetemp, which parallel pytest runs rotate away; ORYXPY_INTEROP_KEEP=1 keeps the logs
    work = Path(tempfile.mkdtemp(prefix="oryxpy-interop-"))
    suffix = uuid.uuid4().hex[:10]
    input_topic, update_topic = f"OryxInput-interop-{suffix}", f"OryxUpdate-interop-{suffix}"
    config = load_config(environ={}, sets=[f"oryx.embedded.state-dir={work / 'state'}"]).with_overrides({
        **MODEL_SETTINGS,
        "oryx.id": f"interop-{suffix}",
        "oryx.input-topic.broker": kafka_bootstrap,
        "oryx.update-topic.broker": kafka_bootstrap,
        "oryx.input-topic.message.topic": input_topic,
        "oryx.update-topic.message.topic": update_topic,
        "oryx.serving.api.port": free_port(),
    })
    setup_topics(config)
    stops: list = []
    try:
        zk, zk_address = start_zookeeper([input_topic, update_topic], work)
        stops.append(zk.stop)
        runner = BatchRunner(config)
        runner.start()  # the batch's input group starts where the topic ends: send after it started
        stops.append(runner.close)
        send_input_file(config, str(data), tsv=True, seconds=True)
        assert runner.run_generation(), "our batch built no model from ml-100k"
        ours_layer = start_layer("serving", config, work)
        stops.append(ours_layer.stop)
        speed = start_layer("speed", config, work)
        stops.append(speed.stop)
        oryx = OryxServing(kafka_bootstrap, zk_address, input_topic, update_topic, work)
        stops.append(oryx.stop)
        ours = httpx.Client(base_url=f"http://127.0.0.1:{config['oryx.serving.api.port']}", timeout=30)
        stops.append(ours.close)
        alive = [(ours_layer.check_alive, "our serving layer"), (speed.check_alive, "our speed layer"),
                 (oryx.java.check_alive, "Oryx 2.8.0 serving")]
        oryx.wait_ready()
        wait_until(lambda: ours.get("/ready").status_code == 200, 180, "our serving layer", alive)
        # the speed layer reads input from the latest offset: it must have joined before a test sends any
        wait_until(lambda: "Speed layer started" in speed.log_text(), 120, "our speed layer", alive)
        users = sorted(ours.get("/user/allIDs", headers={"Accept": "application/json"}).json(), key=int)
        items = sorted(ours.get("/item/allIDs", headers={"Accept": "application/json"}).json(), key=int)

        def oryx_has_all() -> bool:  # Oryx's /ready can say 200 for a moment while a new model is being set up
            r = oryx.client.get("/user/allIDs", headers={"Accept": "application/json"})
            return r.status_code == 200 and len(r.json()) == len(users)

        wait_until(oryx_has_all, 180, "every user vector in Oryx 2.8.0", alive)
        logs = {"serving": ours_layer.log_path, "speed": speed.log_path, "oryx": oryx.java.log_path}
        yield Interop(config, oryx.client, ours, runner, work, users, items, time.monotonic() - started, logs)
    finally:
        for stop in reversed(stops):
            stop()
        if os.environ.get("ORYXPY_INTEROP_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
