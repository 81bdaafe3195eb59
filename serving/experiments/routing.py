"""Which variant answers a request: a proxy manager that dispatches to the variant of the current request, and the
ASGI middleware that assigns it, names it in a header (and, on request, in the JSON body) and publishes served lists.
"""

from __future__ import annotations

import contextvars
import csv
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool

from oryxpy.interfaces import RescorerProvider, ServingModelManager
from serving.experiments.variants import Variant, assign

log = logging.getLogger(__name__)

VARIANT_HEADER = "x-oryx-variant"
KEY_HEADER = "x-oryx-assignment-key"  # anonymous requests: the client's own stable key (session, device, cookie)
IN_BODY_HEADER = "x-oryx-variant-in-body"  # "true": JSON answers become {"variant": .., "results": ..}

USER_ENDPOINTS = frozenset({"recommend", "recommendToMany", "recommendWithContext", "estimate", "because",
                            "mostSurprising", "knownItems"})
KEYED_ENDPOINTS = frozenset({"recommendToAnonymous", "estimateForAnonymous", "similarity", "similarityToItem",
                             "mostPopularItems", "mostActiveUsers", "popularRepresentativeItems", "allItemIDs",
                             "allUserIDs", "item", "user"})
SERVED_ENDPOINTS = frozenset({"recommend", "recommendToMany", "recommendWithContext", "recommendToAnonymous",
                              "similarity", "mostPopularItems"})

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("oryx_variant", default=None)


class VariantManager(ServingModelManager):
    """One manager per variant behind the single manager the routes know: model reads go to the variant of the
    current request (the control outside requests); update messages of the default update consumer go to the
    control; each other variant is fed by its own update consumer."""

    def __init__(self, variants: Sequence[Variant], managers: dict[str, ServingModelManager]):
        self.variants = list(variants)
        self.managers = managers
        self.control = self.variants[0].name

    def current(self) -> ServingModelManager:
        return self.managers[_current.get() or self.control]

    def consume(self, message: Any) -> None:
        self.managers[self.control].consume(message)

    def consume_many(self, messages: Sequence[Any]) -> list[Exception | None]:
        return self.managers[self.control].consume_many(messages)

    def repeated_updates(self, messages: Sequence[Any]) -> Iterable[bool]:
        return self.managers[self.control].repeated_updates(messages)

    def get_model(self) -> Any:
        return self.current().get_model()

    def is_ready(self) -> bool:
        return self.current().is_ready()

    @property
    def rescorer_provider(self) -> RescorerProvider | None:
        """The current variant's (a class attribute of ServingModelManager would otherwise hide it)."""
        return self.current().rescorer_provider

    @rescorer_provider.setter
    def rescorer_provider(self, provider: RescorerProvider | None) -> None:
        raise AttributeError("an A/B test's rescorer providers are those of its variants' managers")

    def __getattr__(self, name: str) -> Any:  # rescorer_provider and the like: the current variant's
        if name in ("variants", "managers", "control"):
            raise AttributeError(name)
        return getattr(self.current(), name)

    def close(self) -> None:
        for manager in self.managers.values():
            manager.close()


def _segments(scope: dict[str, Any], prefix: str) -> list[str]:
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw.split(b"?", 1)[0].decode("latin-1")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]
    return [unquote(s, errors="replace") for s in path.split("/")[1:]]


def _served_items(body: bytes, media_type: str) -> list[str]:
    """The IDs of a list answer, JSON (objects with "id", or plain IDs) or CSV (first field of each line)."""
    text = body.decode("utf-8", errors="replace")
    if media_type.startswith("application/json"):
        data = json.loads(text)
        return [str(d["id"]) if isinstance(d, dict) else str(d) for d in data if d is not None]
    return [row[0] for row in csv.reader(text.splitlines()) if row]


class ExperimentMiddleware:
    """Assigns each query request to a variant: a user's by the hash of (salt, user ID), an anonymous one's by the
    client-supplied X-Oryx-Assignment-Key (without one: the control, and nothing is published)."""

    def __init__(self, app: Any, variants: Sequence[Variant], prefix: str, publish: Callable[[dict[str, Any]], None]):
        self.app = app
        self.variants = list(variants)
        self.prefix = prefix
        self.publish = publish

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        segments = _segments(scope, self.prefix)
        endpoint = segments[0] if segments else ""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        key = None
        if endpoint in USER_ENDPOINTS and len(segments) > 1 and segments[1]:
            key = segments[1]
        elif endpoint in KEYED_ENDPOINTS or endpoint in USER_ENDPOINTS:
            key = headers.get(KEY_HEADER) or None
        else:
            await self.app(scope, receive, send)
            return
        variant = assign(self.variants, key).name if key is not None else self.variants[0].name
        token = _current.set(variant)
        publish = key is not None and endpoint in SERVED_ENDPOINTS and scope.get("method") == "GET"
        in_body = headers.get(IN_BODY_HEADER, "").strip().lower() == "true"
        try:
            if not publish and not in_body:
                await self.app(scope, receive, _with_header(send, variant))
                return
            await self._buffered(scope, receive, send, variant, key, endpoint, publish, in_body)
        finally:
            _current.reset(token)

    async def _buffered(self, scope: dict[str, Any], receive: Any, send: Any, variant: str, key: str | None,
                        endpoint: str, publish: bool, in_body: bool) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", VARIANT_HEADER.encode())]
        media = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
        status = int(start.get("status", 500))
        if status == 200 and publish:
            try:
                items = _served_items(body, media)
                record = {"user": key, "variant": variant, "items": items, "time": int(time.time() * 1000),
                          "endpoint": endpoint}
                await run_in_threadpool(self.publish, record)  # a producer may block on the broker
            except Exception:  # publishing must never fail the answer
                log.warning("could not publish the list served by %s to %s", endpoint, key, exc_info=True)
        if status == 200 and in_body and media.startswith("application/json"):
            body = json.dumps({"variant": variant, "results": json.loads(body)}, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
        headers += [(b"content-length", str(len(body)).encode()), (VARIANT_HEADER.encode(), variant.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _with_header(send: Any, variant: str) -> Any:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [*message.get("headers", []), (VARIANT_HEADER.encode(), variant.encode())]
        await send(message)
    return wrapped
