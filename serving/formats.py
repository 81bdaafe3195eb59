"""Response bodies as Oryx writes them: CSV (default; Java number text) or JSON, chosen by the Accept header."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus

from fastapi import Request, Response

from oryxpy.javafmt import java_double

CSV_TYPES = ("text/plain", "text/csv")
JSON_TYPE = "application/json"
_SPECIAL = (",", '"', "\n", "\r")


def wants_json(request: Request) -> bool:
    """True when Accept prefers application/json over text/plain and text/csv (no Accept or */* -> CSV)."""
    best, best_q = "text/plain", -1.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in (*CSV_TYPES, JSON_TYPE, "text/*", "application/*") and q > best_q:
            best, best_q = media, q
    return best in (JSON_TYPE, "application/*")


def _csv_field(text: str) -> str:
    if any(c in text for c in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def _respond(request: Request, json_body: Callable[[], object], csv_lines: Callable[[], Iterable[str]]) -> Response:
    """The body the request prefers, built by its own function only (formatting every number twice would cost as
    much as the query on large lists)."""
    if wants_json(request):
        body = json.dumps(json_body(), ensure_ascii=False, separators=(",", ":"), allow_nan=True)
        return Response(body, media_type=JSON_TYPE)
    media = "text/csv" if "text/csv" in request.headers.get("accept", "") else "text/plain"
    return Response("".join(line + "\n" for line in csv_lines()), media_type=media)


def id_values(request: Request, pairs: Sequence[tuple[str, float]]) -> Response:
    """``[{"id":..,"value":..}]`` or CSV lines ``id,value``."""
    return _respond(request, lambda: [{"id": i, "value": v} for i, v in pairs],
                    lambda: (f"{_csv_field(i)},{java_double(v)}" for i, v in pairs))


def id_counts(request: Request, pairs: Sequence[tuple[str, int]]) -> Response:
    """``[{"id":..,"count":..}]`` or CSV lines ``id,count``."""
    return _respond(request, lambda: [{"id": i, "count": c} for i, c in pairs],
                    lambda: (f"{_csv_field(i)},{c}" for i, c in pairs))


def values(request: Request, numbers: Sequence[float]) -> Response:
    """``[0.1,0.2]`` or one number per line."""
    return _respond(request, lambda: [float(x) for x in numbers], lambda: (java_double(x) for x in numbers))


def value(request: Request, number: float) -> Response:
    """A bare number."""
    if wants_json(request):
        return Response(json.dumps(float(number), allow_nan=True), media_type=JSON_TYPE)
    return _respond(request, lambda: None, lambda: [java_double(number)])


def ids(request: Request, id_list: Sequence[str | None]) -> Response:
    """``["a","b"]`` or one ID per line (a missing ID is ``null`` in JSON, an empty line in CSV)."""
    return _respond(request, lambda: list(id_list), lambda: (_csv_field(i) if i is not None else "" for i in id_list))


def error_response(request: Request, status: int, message: str) -> Response:
    """The one error body of every status: the message as text, or ``{"status": n, "message": ".."}`` when the
    request prefers JSON (an empty message becomes the status's reason phrase)."""
    if not message:
        message = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if wants_json(request):
        return Response(json.dumps({"status": status, "message": message}, ensure_ascii=False), status_code=status,
                        media_type=JSON_TYPE)
    return Response(message, status_code=status, media_type="text/plain; charset=utf-8")
