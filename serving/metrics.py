"""Prometheus metrics of the serving layer: requests, latency and status per route template, model size, update lag."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_label(scope: Scope) -> str:
    """The template of the route that handled the request (e.g. ``/recommend/{userID}``), to bound label cardinality."""
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    return str(path) if path else UNMATCHED


class MetricsMiddleware:
    """ASGI middleware counting requests and timing them per method, route template and status."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method, route = scope.get("method", "GET"), route_label(scope)
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(time.perf_counter() - started)


def _number(value: Any) -> float | None:
    if callable(value):
        value = value()
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _size(store: Any) -> float | None:
    try:
        return float(len(store))
    except TypeError:
        return None


def model_stats(state: Any) -> dict[str, float]:
    """What is known about the serving model and the update consumer, read at scrape time."""
    stats: dict[str, float] = {}
    extras = getattr(state, "extras", None) or {}
    consumer = extras.get("update_consumer")
    for key, value in (("update_lag", getattr(consumer, "lag", extras.get("update_lag"))),
                       ("update_consumed", getattr(consumer, "consumed", None)),
                       ("update_errors", getattr(consumer, "errors", None))):
        if (number := _number(value)) is not None:
            stats[key] = number
    manager = getattr(state, "manager", None)
    model = manager.get_model() if manager is not None else None
    stats["model_present"] = 0.0 if model is None else 1.0
    if model is None:
        return stats
    for key, value in (("users", _size(getattr(model, "X", None))), ("items", _size(getattr(model, "Y", None))),
                       ("features", _number(getattr(model, "features", None))),
                       ("loaded_fraction", _number(getattr(model, "fraction_loaded", None))),
                       ("vector_bytes", _number(getattr(model, "nbytes", None)))):
        if value is not None:
            stats[key] = value
    return stats


_FAMILIES = {
    "users": ("oryx_serving_model_users", "users with a vector in the serving model"),
    "items": ("oryx_serving_model_items", "items with a vector in the serving model"),
    "features": ("oryx_serving_model_features", "features (vector length) of the serving model"),
    "loaded_fraction": ("oryx_serving_model_loaded_fraction", "fraction of the announced model's vectors loaded"),
    "vector_bytes": ("oryx_serving_model_vector_bytes", "bytes held by the model's user and item vectors"),
    "model_present": ("oryx_serving_model_present", "1 once a model (MODEL or MODEL-REF) was received, else 0"),
    "update_lag": ("oryx_serving_update_topic_lag", "messages on the update topic not yet consumed"),
    "update_consumed": ("oryx_serving_update_messages_consumed", "update-topic messages consumed since start"),
    "update_errors": ("oryx_serving_update_message_errors", "update-topic messages that could not be applied"),
}
_COUNTERS = frozenset({"update_consumed", "update_errors"})


class ModelCollector(Collector):
    """Gauges describing the model and the update consumer, computed on each scrape."""

    def __init__(self, state_of: Callable[[], Any]) -> None:
        self.state_of = state_of

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        state = self.state_of()
        if state is None:
            return
        try:
            stats = model_stats(state)
        except Exception:  # noqa: BLE001 - a scrape must not fail because the model is being swapped
            return
        for key, value in stats.items():
            name, doc = _FAMILIES[key]
            family = CounterMetricFamily if key in _COUNTERS else GaugeMetricFamily
            yield family(name, doc, value=value)


def install(app: FastAPI) -> None:
    """Count and time every request in a registry of this app's own (``app.state.metrics_registry``)."""
    registry = CollectorRegistry(auto_describe=False)
    requests = Counter("oryx_serving_requests", "HTTP requests by method, route template and status",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("oryx_serving_request_duration_seconds", "HTTP request latency by method and route template",
                        ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry)
    registry.register(ModelCollector(lambda: getattr(app.state, "oryx", None)))
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)
