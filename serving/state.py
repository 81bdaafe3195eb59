"""What every request handler can reach: config, the model manager and the input-topic producer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from oryxpy.config import Config
from oryxpy.interfaces import ServingModelManager
from oryxpy.topics import TopicProducer


@dataclass
class ServingState:
    """Shared by the app and its background update consumer."""

    config: Config
    manager: ServingModelManager
    producer: TopicProducer | None  # None in read-only mode
    # set by the app's lifespan: "update_consumer" (serving.update_consumer.UpdateConsumer: lag, consumed, errors,
    # alive) and "update_lag" (a callable giving the messages not yet consumed); other modules may add their own
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        return bool(self.config["oryx.serving.api.read-only"])


def get_state(request: Request) -> ServingState:
    """FastAPI dependency: the app's ServingState."""
    return request.app.state.oryx  # type: ignore[no-any-return]
