"""The serving layer's FastAPI application: routes under the context path, the one error handler, the update consumer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from oryxpy import validation
from oryxpy.config import Config
from oryxpy.errors import OryxError
from oryxpy.interfaces import ServingModelManager, instantiate
from oryxpy.topics import TopicProducer, open_producer
from serving import metrics, openapi, security
from serving.formats import error_response
from serving.routes import KEY as RESOURCES_KEY
from serving.routes import router_modules
from serving.state import ServingState
from serving.update_consumer import UpdateConsumer

log = logging.getLogger(__name__)

MANAGER_KEY = "oryx.serving.model-manager-class"


def context_prefix(config: Config) -> str:
    """The context path as a route prefix: '' for '/', else '/path' without a trailing slash."""
    path = str(config.settings.serving.api.context_path or "/").strip()
    return "" if path.strip("/") == "" else "/" + path.strip("/")


async def oryx_error(request: Request, exc: Exception) -> Response:
    """Every OryxError becomes its http_status with its message (text, or JSON when the request accepts JSON)."""
    return error_response(request, getattr(exc, "http_status", 500), str(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no route 404, 405, ...) in the same format as every other error."""
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", None)
    response = error_response(request, status, str(detail) if detail else HTTPStatus(status).phrase)
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


async def request_validation_error(request: Request, exc: Exception) -> Response:
    """A parameter FastAPI could not read: 400 naming it, in the same format as every other error."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors[:5])
    return error_response(request, 400, f"bad request ({where})" if where else "bad request")


def create_app(config: Config, manager: ServingModelManager | None = None, producer: TopicProducer | None = None,
               *, consume_updates: bool = True) -> FastAPI:
    """Build the app. The lifespan opens the input producer (unless read-only or given) and, with ``consume_updates``,
    a thread that replays the update topic from the beginning into the manager."""
    if manager is None:
        manager = instantiate(config[MANAGER_KEY], MANAGER_KEY, config, ServingModelManager)
    state = ServingState(config, manager, producer)
    validation.configure(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_producer = None
        if state.producer is None and not state.read_only and config.settings.input_topic.broker is not None:
            state.producer = owned_producer = open_producer(config, "input")
        consumer = None
        if consume_updates and config.settings.update_topic.broker is not None:
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
    app = FastAPI(title="oryxpy serving layer", version="0.1.0", lifespan=lifespan, docs_url=None,
                  openapi_url=f"{prefix}/openapi.json", redoc_url=None, redirect_slashes=False)
    app.state.oryx = state
    app.state.context_path = prefix or "/"
    app.add_exception_handler(OryxError, oryx_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    for module in router_modules(str(config[RESOURCES_KEY])):
        app.include_router(module.router, prefix=prefix)
    openapi.install(app, authenticated=config.settings.serving.api.user_name is not None)
    security.install(app, config)
    metrics.install(app)
    return app
