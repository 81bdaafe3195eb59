"""The OpenAPI document tells what the endpoints really do: the shapes of their 200 answers (JSON, or CSV text) and
every error status they can answer, with the one error body of serving.formats; never FastAPI's 422, which this
service does not send (app.py answers unreadable parameters with 400)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

Responses = dict[int | str, dict[str, Any]]


class IDValue(BaseModel):
    """An ID and its score (estimate, similarity or the model's ranking score)."""

    id: str
    value: float


class IDCount(BaseModel):
    """An ID and a count (users who know an item, or items a user knows)."""

    id: str
    count: int


class ErrorBody(BaseModel):
    """The JSON error body (when the request accepts JSON; otherwise the message as text/plain)."""

    status: int
    message: str


_TEXT = {"schema": {"type": "string"}}


def ok(model: Any, description: str, csv_example: str) -> Responses:
    """A 200 whose JSON body is ``model`` and whose CSV body (the default) looks like ``csv_example``."""
    text = {"schema": {"type": "string"}, "example": csv_example}
    return {200: {"model": model, "description": description + " (JSON with Accept: application/json, else CSV)",
                  "content": {"text/plain": text, "text/csv": text}}}


def error(status: int, description: str) -> Responses:
    """One error status: the message as text/plain, or ErrorBody as JSON."""
    return {status: {"model": ErrorBody, "description": description, "content": {"text/plain": _TEXT}}}


ID_VALUES = ok(list[IDValue], "IDs and scores, best first", "i1,0.83\ni7,0.52\n")
ID_COUNTS = ok(list[IDCount], "IDs and counts, largest first", "i1,120\ni7,85\n")
VALUES = ok(list[float], "one number per ID given, in order", "0.83\n0.0\n")
VALUE = ok(float, "one number", "0.83\n")
IDS = ok(list[str | None], "IDs", "i1\ni7\n")

NOT_READY = error(503, "no model yet, or the model is still loading; the message says which")
UNSUPPORTED = error(501, "the configured model cannot answer this query (for example similarity without vectors)")
BAD_PARAMETER = error(400, "a parameter or path segment is invalid (howMany, offset, exclude, a value, an ID)")
NOT_FOUND = error(404, "an unknown user or item, or a missing or empty ID segment")
#: the errors of a query without parameters (/item/allIDs), of one with query parameters only (/mostPopularItems),
#: and of one with IDs in its path (every error a model query can answer)
MODEL_ERRORS: Responses = {**UNSUPPORTED, **NOT_READY}
PARAMETER_ERRORS: Responses = {**BAD_PARAMETER, **MODEL_ERRORS}
QUERY_ERRORS: Responses = {**BAD_PARAMETER, **NOT_FOUND, **MODEL_ERRORS}

READ_ONLY = error(403, "the serving layer is read-only (oryx.serving.api.read-only)")
TOO_LARGE = error(413, "body, what it decompresses to, or its record count exceeds the configured limits; nothing was sent")
SEND_FAILED = error(503, "the input topic failed; the message says how many records were acknowledged")
UNSUPPORTED_TYPE = error(415, "a Content-Type this endpoint does not read")
#: every error a write endpoint can answer
WRITE_ERRORS: Responses = {**BAD_PARAMETER, **NOT_FOUND, **READ_ONLY, **TOO_LARGE, **UNSUPPORTED_TYPE, **SEND_FAILED}


#: what the connection limits of serving.limits answer to any request, told once in the document's description
CONNECTION_LIMITS = ("Any request may also be answered 408 (request head or body not received within "
                     "oryx.serving.api.header-timeout-ms or body-timeout-ms), 431 (request head larger than "
                     "oryx.serving.api.max-header-bytes) or 503 (more than oryx.serving.api.max-connections).")
UNAUTHORIZED = error(401, "no or wrong credentials (HTTP Digest; Basic too over HTTPS)")


def install(app: FastAPI, authenticated: bool = False) -> None:
    """Serve the document without FastAPI's validation-error (422) responses and schemas, with the connection
    limits in its description and, when ``authenticated``, 401 on every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                 description=" ".join(filter(None, [app.description, CONNECTION_LIMITS])))
            unauthorized = {str(status): response for status, response in UNAUTHORIZED.items()}
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)
                    if authenticated:
                        responses.update({k: _plain(v) for k, v in unauthorized.items()})
                    for parameter in operation.get("parameters", []):
                        _typed_default(parameter.get("schema", {}))
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _typed_default(schema: dict[str, Any]) -> None:
    """A parameter read as text but documented as an integer or boolean gets its default in that type."""
    default = schema.get("default")
    if isinstance(default, str) and schema.get("type") == "integer":
        schema["default"] = int(default)
    elif isinstance(default, str) and schema.get("type") == "boolean":
        schema["default"] = default.lower() == "true"


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    """A response as it appears in the document (``model`` is FastAPI's shorthand, resolved only for routes)."""
    return {"description": response["description"],
            "content": {"text/plain": _TEXT, "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
