"""Fixtures of the serving core tests: a manager loaded with the golden model and a TestClient on the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from serving.als.manager import ALSServingModelManager
from serving.app import create_app
from tests.serving import golden

PROVIDER = "tests.serving.rescorer_provider.TestALSRescorerProvider"


def client_for(config: Config, load: bool = True, **overrides: object) -> tuple[TestClient, ALSServingModelManager]:
    """A TestClient on an app whose manager is fed directly (no update consumer thread)."""
    config = config.with_overrides(overrides) if overrides else config
    manager = ALSServingModelManager(config, lsh_seed=1)
    if load:
        golden.load(manager)
    return TestClient(create_app(config, manager, consume_updates=False)), manager


@pytest.fixture
def golden_client(embedded_config: Config) -> Iterator[TestClient]:
    """The golden fixture served with the test rescorer provider."""
    client, _ = client_for(embedded_config, **{"oryx.als.rescorer-provider-class": PROVIDER})
    with client:
        yield client
