"""Faults: kill -9 each layer during a stream of writes, and restart the Kafka broker under running layers."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from oryxpy.demo import demo_interactions
from tests.integration.system import RunningSystem
from tests.integration.test_end_to_end import system_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


class PrefStream(threading.Thread):
    """Sends /pref writes as fast as the server takes them; remembers which were acknowledged (204)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.acknowledged: list[tuple[str, str]] = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            n = 0
            while not self.stop.is_set():
                user, item = f"stream{n}", f"g{n % 5}-item{n % 300}"
                n += 1
                try:
                    if client.post(f"/pref/{user}/{item}", content=b"2").status_code == 204:
                        self.acknowledged.append((user, item))
                        continue
                except httpx.TransportError:
                    pass
                self.failed += 1
                time.sleep(0.1)


def start_with_model(system: RunningSystem) -> None:
    system.start()
    data = ("\n".join(demo_interactions(users=300, items=300)) + "\n").encode()
    assert system.client.post("/ingest", content=data, headers={"Content-Type": "text/csv"}).status_code == 204
    system.wait_for(lambda: system.get("/ready").status_code == 200, 240, "the first model")


def test_kill_minus_9_each_layer_loses_no_acknowledged_write(embedded_config, tmp_path):
    system = RunningSystem(system_config(embedded_config, **{"oryx.batch.streaming.generation-interval-sec": 15}),
                           tmp_path / "run.log")
    start_with_model(system)
    stream = PrefStream(system.url)
    try:
        stream.start()
        for layer in ("serving", "speed", "batch"):
            time.sleep(4)
            old = system.kill_layer(layer)
            system.wait_for(lambda layer=layer, old=old: system.layer_pid(layer) != old, 60, f"{layer} to be restarted")
            system.wait_for(lambda: system.get("/").status_code == 200, 120, "serving to answer again")
        time.sleep(3)
        stream.stop.set()
        stream.join(timeout=30)
        acked = set(stream.acknowledged)
        assert len(acked) > 50, f"only {len(acked)} writes were acknowledged"

        def all_stored() -> bool:
            stored = {tuple(v.split(",")[:2]) for v in system.stored_values()}
            return acked <= stored

        system.wait_for(all_stored, 180, f"all {len(acked)} acknowledged writes in the data directory")
        system.wait_for(lambda: system.get("/ready").status_code == 200, 120, "serving to reload the model")
        user = stream.acknowledged[-1][0]
        system.wait_for(lambda: system.get(f"/recommend/{user}").status_code == 200, 120,
                        "the last streamed user to be recommendable")
    finally:
        stream.stop.set()
        system.stop()


def test_layers_survive_a_kafka_broker_restart(kafka_config, tmp_path):
    system = RunningSystem(system_config(kafka_config), tmp_path / "run.log")
    start_with_model(system)
    try:
        subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "stop", "kafka"], check=True, timeout=120)
        time.sleep(3)
        subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "start", "kafka"], check=True, timeout=300)

        def pref_accepted() -> bool:
            return system.client.post("/pref/after-restart/g1-item1", content=b"3").status_code == 204

        system.wait_for(pref_accepted, 120, "serving to write to the restarted broker")
        for item in ("g1-item6", "g1-item11"):
            assert system.client.post(f"/pref/after-restart/{item}", content=b"3").status_code == 204
        system.wait_for(lambda: system.get("/recommend/after-restart").status_code == 200, 120,
                        "the speed layer to fold in input after the broker restart")
    finally:
        system.stop()
        subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "start", "kafka"], check=False, timeout=300)
