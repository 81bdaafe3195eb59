"""The batch layer's schedule, shared through the state directory so serving can say when the next model comes."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

BATCH_STATUS_FILE = "batch-status.json"


def batch_status_path(state_dir: Path) -> Path:
    return state_dir / "run" / BATCH_STATUS_FILE


def write_batch_status(state_dir: Path, next_generation_ms: int, running: bool) -> None:
    """Record when the next generation runs (best effort: a failure is logged once at debug level)."""
    path = batch_status_path(state_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps({"next_generation_ms": next_generation_ms, "running": running}))
        temporary.replace(path)
    except OSError as exc:
        log.debug("cannot write %s: %s", path, exc)


def next_generation_text(state_dir: Path, now_ms: int | None = None) -> str:
    """'next generation in 243 s' from the batch layer's status, or a general line when it is not known here."""
    try:
        status = json.loads(batch_status_path(state_dir).read_text())
        wait_s = max(0, round((int(status["next_generation_ms"]) - (now_ms or int(time.time() * 1000))) / 1000))
    except (OSError, ValueError, KeyError, TypeError):
        return "waiting for the batch layer's first generation (send input with /ingest or /pref)"
    if status.get("running"):
        return "the batch layer is building one now"
    return f"next generation in {wait_s} s"
