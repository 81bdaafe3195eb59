"""UP messages applied per second by a running serving process, measured from outside: they are published to its update
topic while HTTP clients load it, and counted as applied through its /metrics (``oryx_serving_update_messages_consumed``,
which counts a message once the model holds it). Used by ``bench_ann.py``."""

from __future__ import annotations

import threading
import time
import urllib.request
from typing import Any

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from oryxpy.messages import UP, up_value
from oryxpy.topics import open_producer

CONSUMED = "oryx_serving_update_messages_consumed"
PUBLISH_BATCH = 5000


def consumed(base: str) -> float:
    """The serving process's count of update messages applied, from its /metrics."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        families = text_string_to_metric_families(response.read().decode())
        counts = [sample.value for family in families for sample in family.samples
                  if sample.name in (CONSUMED, f"{CONSUMED}_total")]
    if not counts:
        raise RuntimeError(f"{CONSUMED} is missing from {base}/metrics")
    return float(counts[0])


def user_ups(count: int, users: int, items: int, features: int, seed: int = 11) -> list[str]:
    """New vectors of existing users, each with one known item: what the speed layer publishes for a /pref."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, features), dtype=np.float32)
    return [up_value("X", f"U{u}", vectors[k], [f"I{i}"])
            for k, (u, i) in enumerate(zip(rng.integers(users, size=count).tolist(),
                                           rng.integers(items, size=count).tolist(), strict=True))]


def item_ups(count: int, items: int, features: int, seed: int = 12) -> list[str]:
    """New vectors of existing items."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, features), dtype=np.float32)
    return [up_value("Y", f"I{i}", vectors[k]) for k, i in enumerate(rng.integers(items, size=count).tolist())]


class TopicUps(threading.Thread):
    """Publishes ``values`` as UP messages to the update topic of ``config``, then waits until the server at ``base``
    has applied them all: ``rate`` is messages per second from the first publication to the last one applied."""

    def __init__(self, config: Any, base: str, values: list[str], timeout_s: float = 300.0):
        super().__init__(daemon=True)
        self.config, self.base, self.values, self.timeout_s = config, base, values, timeout_s
        self.rate: float | None = None
        self.seconds = self.publish_seconds = 0.0

    def run(self) -> None:
        start_count = consumed(self.base)
        started = time.perf_counter()
        with open_producer(self.config, "update") as producer:
            for start in range(0, len(self.values), PUBLISH_BATCH):
                producer.send_all([(UP, v) for v in self.values[start : start + PUBLISH_BATCH]])
        self.publish_seconds = time.perf_counter() - started
        target = start_count + len(self.values)
        while time.perf_counter() - started < self.timeout_s:
            if consumed(self.base) >= target:
                self.seconds = time.perf_counter() - started
                self.rate = len(self.values) / self.seconds
                return
            time.sleep(0.1)
