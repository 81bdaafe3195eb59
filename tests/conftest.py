"""Shared fixtures: configs for embedded and real services (Kafka, HDFS), unique topic names.

Integration fixtures need the services of scripts/services.sh. Under CI (CI=true) a missing service fails
the run; locally the test is skipped with a message saying how to start them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from oryxpy.config import Config, load_config

KAFKA_BOOTSTRAP = os.environ.get("ORYXPY_TEST_KAFKA", "127.0.0.1:9092")
HDFS_URI = os.environ.get("ORYXPY_TEST_HDFS", "hdfs://127.0.0.1:9000")
WEBHDFS_URL = os.environ.get("ORYXPY_TEST_WEBHDFS", "http://127.0.0.1:9870")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_service(name: str, reachable: bool) -> None:
    """Fail under CI, skip locally, when a service the test needs is not running."""
    if reachable:
        return
    message = f"{name} is not reachable; start the services with `bash scripts/services.sh start`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return True
    except OSError:
        return False


def embedded_config_at(state_dir: Path, **overrides: object) -> Config:
    """Defaults on embedded topics and local storage under ``state_dir``, plus overrides."""
    base = load_config(environ={}, sets=[f"oryx.embedded.state-dir={state_dir}"])
    return base.with_overrides(overrides) if overrides else base


@pytest.fixture
def embedded_config(tmp_path: Path) -> Config:
    """A fresh embedded configuration in a temporary state directory."""
    return embedded_config_at(tmp_path / "state")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The test Kafka broker's address (fails under CI, skips locally, when it is not running)."""
    require_service(f"Kafka at {KAFKA_BOOTSTRAP}", _port_open(KAFKA_BOOTSTRAP))
    return KAFKA_BOOTSTRAP


@pytest.fixture
def kafka_config(kafka_bootstrap: str, tmp_path: Path) -> Config:
    """Kafka for both topics, with fresh uniquely named topics created for this test."""
    from oryxpy.topics import setup_topics

    suffix = uuid.uuid4().hex[:10]
    config = embedded_config_at(tmp_path / "state").with_overrides({
        "oryx.input-topic.broker": kafka_bootstrap,
        "oryx.update-topic.broker": kafka_bootstrap,
        "oryx.input-topic.message.topic": f"OryxInput-{suffix}",
        "oryx.update-topic.message.topic": f"OryxUpdate-{suffix}",
    })
    setup_topics(config)
    return config


@pytest.fixture(scope="session")
def hdfs_base() -> str:
    """A fresh base URI on the test HDFS (fails under CI, skips locally, when HDFS is not running)."""
    require_service(f"HDFS (WebHDFS at {WEBHDFS_URL})", _port_open(WEBHDFS_URL.split("//", 1)[1]))
    return f"{HDFS_URI}/oryxpy-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def hdfs_config(hdfs_base: str, tmp_path: Path) -> Config:
    """Embedded topics with data-dir and model-dir on HDFS."""
    run = f"{hdfs_base}/{uuid.uuid4().hex[:8]}"
    return embedded_config_at(tmp_path / "state").with_overrides({
        "oryx.batch.storage.data-dir": f"{run}/data",
        "oryx.batch.storage.model-dir": f"{run}/model",
        "oryx.storage.hdfs.webhdfs-url": WEBHDFS_URL,
    })


@pytest.fixture(scope="session")
def shared_data() -> Callable[[str], Path]:
    """Path of a file under ../shared/data; skips (fails under CI) when the data sets are absent."""

    def path(relative: str) -> Path:
        p = DATA / relative
        require_service(f"data file {p}", p.exists())
        return p

    return path
