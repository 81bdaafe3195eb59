"""What every request handler can reach: config, the model manager and the input-topic producer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from oryxpy.config import Config
from oryxpy.interfaces import ServingModelManager
from oryxpy.status import next_generation_text
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
        return bool(self.config.settings.serving.api.read_only)

    def not_ready_reason(self) -> str | None:
        """Why queries cannot be answered yet, in words a user can act on; None when the model is ready.

        "loading model: 37 %" while the update topic is replayed up to where it ended at start (the percentage of that
        replay) or while the model is loaded below min-model-load-fraction (the fraction loaded); "no model yet; next
        generation in 243 s" before the batch layer's first model (when the batch layer's schedule is known here).
        """
        consumer = self.extras.get("update_consumer")
        if consumer is not None and not consumer.caught_up:
            total, done = consumer.replay_total, consumer.replay_done
            if total:
                return f"loading model: {100 * min(done, total) // total} % (replaying update messages: {done} of {total})"
            return "loading model: 0 % (connecting to the update topic)"
        model = self.manager.get_model()
        if model is None:
            return "no model yet; " + next_generation_text(self.config.state_dir)
        if not self.manager.is_ready():
            return f"loading model: {int(100 * model.fraction_loaded())} %"
        return None


async def get_state(request: Request) -> ServingState:
    """FastAPI dependency: the app's ServingState (async: FastAPI would run a plain function in its thread pool, a
    thread hand-off per request for one attribute read)."""
    return request.app.state.oryx  # type: ignore[no-any-return]
