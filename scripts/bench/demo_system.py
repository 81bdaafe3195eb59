"""A whole oryxpy system on demo data, for the system benchmarks (freshness, sustained load)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from oryxpy.config import load_config  # noqa: E402
from oryxpy.demo import demo_interactions  # noqa: E402
from oryxpy.topics import setup_topics  # noqa: E402
from tests.integration.system import RunningSystem, free_port  # noqa: E402


def start_demo_system(name: str, kafka: str | None, interval_s: int, users: int = 1000, items: int = 1000) -> RunningSystem:
    """``oryxpy run`` (embedded, or on Kafka with fresh topics) with demo interactions ingested and a model loaded."""
    state = Path(tempfile.mkdtemp(prefix=f"oryx-{name}-"))
    sets = [f"oryx.embedded.state-dir={state}", f"oryx.serving.api.port={free_port()}", f"oryx.id={name}",
            f"oryx.batch.streaming.generation-interval-sec={interval_s}", "oryx.als.iterations=5"]
    if kafka:
        suffix = os.urandom(4).hex()
        sets += [f"oryx.input-topic.broker={kafka}", f"oryx.update-topic.broker={kafka}",
                 f"oryx.input-topic.message.topic={name}-in-{suffix}", f"oryx.update-topic.message.topic={name}-up-{suffix}"]
    config = load_config(environ={}, sets=sets)
    if kafka:
        setup_topics(config)
    system = RunningSystem(config, state / "run.log").start()
    data = ("\n".join(demo_interactions(users=users, items=items)) + "\n").encode()
    system.client.post("/ingest", content=data, headers={"Content-Type": "text/csv"}).raise_for_status()
    system.wait_for(lambda: system.get("/ready").status_code == 200, 600, "a model")
    return system
