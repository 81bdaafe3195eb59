"""The serving layer's FastAPI application: routes under the context path, the one error handler, the update consumer."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from oryxpy.config import Config
from oryxpy.errors import OryxError
from oryxpy.interfaces import ServingModelManager, instantiate
from oryxpy.topics import TopicProducer, open_producer
from serving import metrics, security
from serving.routes import ROUTER_MODULES
from serving.state import ServingState
from serving.update_consumer import UpdateConsumer

log = logging.getLogger(__name__)

MANAGER_KEY = "oryx.serving.model-manager-class"


def context_prefix(config: Config) -> str:
    """The context path as a route prefix: '' for '/', else '/path' without a trailing slash."""
    path = str(config["oryx.serving.api.context-path"] or "/").strip()
    return "" if path.strip("/") == "" else "/" + path.strip("/")


async def oryx_error(request: Request, exc: Exception) -> Response:
    """Every OryxError becomes its http_status with the message as a text body."""
    status = getattr(exc, "http_status", 500)
    return Response(str(exc), status_code=status, media_type="text/plain")


def create_app(config: Config, manager: ServingModelManager | None = None, producer: TopicProducer | None = None,
               *, consume_updates: bool = True) -> FastAPI:
    """Build the app. The lifespan opens the input producer (unless read-only or given) and, with ``consume_updates``,
    a thread that replays the update topic from the beginning into the manager."""
    if manager is None:
        manager = instantiate(config[MANAGER_KEY], MANAGER_KEY, config, ServingModelManager)
    state = ServingState(config, manager, producer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_producer = None
        if state.producer is None and not state.read_only and config["oryx.input-topic.broker"] is not None:
            state.producer = owned_producer = open_producer(config, "input")
        consumer = None
        if consume_updates and config["oryx.update-topic.broker"] is not None:
            consumer = UpdateConsumer(config, state.manager)
            state.extras["update_consumer"] = consumer
            state.extras["update_lag"] = lambda: consumer.lag
            consumer.start()
        elif consume_updates:
            log.warning("oryx.update-topic.broker is unset: no model will ever be loaded")
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop()
            if owned_producer is not None:
                owned_producer.close()
                state.producer = None
            state.manager.close()

    prefix = context_prefix(config)
    app = FastAPI(title="oryxpy serving layer", version="0.1.0", lifespan=lifespan, docs_url=f"{prefix}/docs",
                  openapi_url=f"{prefix}/openapi.json", redoc_url=None)
    app.state.oryx = state
    app.state.context_path = prefix or "/"
    app.add_exception_handler(OryxError, oryx_error)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router, prefix=prefix)
    security.install(app, config)
    metrics.install(app)
    return app
