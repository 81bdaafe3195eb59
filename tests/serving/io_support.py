"""Helpers of the serving-io tests: the app without update consumption, topic read-back, record parsing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI

from oryxpy.config import Config
from oryxpy.messages import ModelMessage, VectorUpdate
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.topics import Record, open_consumer
from serving.als.manager import ALSServingModelManager
from serving.app import create_app


def io_app(config: Config, manager: Any = None) -> FastAPI:
    """The serving app as the layer builds it, with a model only when the test feeds one to ``manager``."""
    return create_app(config, manager or ALSServingModelManager(config), consume_updates=False)


USERS = ["u1", "u2", "u3", "a/b"]
ITEMS = ["i1", "i2", "i3", "i4", "x,y"]


def small_model_manager(config: Config) -> ALSServingModelManager:
    """A manager holding a complete 2-feature implicit model: users u1-u3 and a/b, items i1-i4 and x,y."""
    manager = ALSServingModelManager(config)
    manager.consume(ModelMessage(als_model_to_pmml(ALSModelInfo(2, True, USERS, ITEMS))))
    rng = np.random.default_rng(7)
    for item in ITEMS:
        manager.consume(VectorUpdate("Y", item, rng.normal(size=2).astype(np.float32)))
    for n, user in enumerate(USERS):
        manager.consume(VectorUpdate("X", user, rng.normal(size=2).astype(np.float32), tuple(ITEMS[n:n + 2])))
    return manager


def read_input(config: Config, expect: int, timeout_s: float = 10.0, settle_s: float = 0.3) -> list[Record]:
    """Every record on the input topic: waits until ``expect`` arrived (or the timeout), then ``settle_s`` for extras."""
    records: list[Record] = []
    with open_consumer(config, "input", None, "earliest") as consumer:
        deadline = time.monotonic() + timeout_s
        while len(records) < expect and time.monotonic() < deadline:
            records.extend(consumer.poll(0.2))
        settle = time.monotonic() + settle_s
        while time.monotonic() < settle:
            records.extend(consumer.poll(0.1))
    return records


def values(records: list[Record]) -> list[str]:
    """The record values, partition by partition, in offset order."""
    return [r.value for r in sorted(records, key=lambda r: (r.partition, r.offset))]


def split_ts(value: str) -> tuple[str, int]:
    """A record's text up to the timestamp, and the timestamp."""
    head, _, ts = value.rpartition(",")
    return head, int(ts)


@contextmanager
def serve_in_thread(app: FastAPI, path: str = "") -> Iterator[str]:
    """Run ``app`` on a real uvicorn server on a free loopback port (in a thread); yields its base URL + ``path``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(10)
