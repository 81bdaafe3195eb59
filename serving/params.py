"""Request parsing shared by the endpoints: raw path segments (IDs may hold '/'), paging, flags, the ready model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from fastapi import Depends, Query, Request

from oryxpy.errors import InvalidInput, ModelNotReady, NotFound
from oryxpy.interfaces import Rescorer, RescorerProvider
from oryxpy.validation import parse_integer, parse_strength
from serving.models import Capability
from serving.state import ServingState, get_state

MAX_RESULTS = 100000
ModelT = TypeVar("ModelT")


def _integer(low: int, default: int) -> dict[str, Any]:
    """The OpenAPI schema of an integer query parameter read by :func:`paging` (text at runtime, so that what is not
    an integer gets Oryx's 400 text rather than a validation error)."""
    return {"type": "integer", "minimum": low, "maximum": MAX_RESULTS, "default": default}


HowMany = Annotated[str, Query(description="how many results (howMany + offset at most 100000)",
                               json_schema_extra=_integer(1, 10))]
HowManyOrZero = Annotated[str, Query(description="how many results, 0 for none (howMany + offset at most 100000)",
                                     json_schema_extra=_integer(0, 10))]
Offset = Annotated[str, Query(description="how many top results to skip", json_schema_extra=_integer(0, 0))]
ConsiderKnown = Annotated[str, Query(description="true to allow the user's known items in the results (any other "
                                                 "value is false)", json_schema_extra={"type": "boolean", "default": False})]
RescorerParams = Annotated[list[str] | None, Query(description="arguments for the rescorer provider (repeatable)")]
State = Annotated[ServingState, Depends(get_state)]


def _decode(raw: str) -> str:
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput(f"path segment {raw!r} is not valid UTF-8 once percent-decoded") from None


def raw_segments(request: Request, keep_empty: bool = False) -> list[str]:
    """The still percent-encoded path segments after the route's fixed prefix (so ``%2F`` stays inside its segment).

    One trailing '/' is ignored, as JAX-RS does; another empty segment is NotFound ('/estimate//50' must not answer
    for user 50) unless ``keep_empty`` (the write endpoints name the empty ID in a 400).
    """
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = raw.split(b"?", 1)[0].decode("latin-1")
    fixed_part = request.scope["route"].path.split("{", 1)[0].strip("/")
    context = str(getattr(request.app.state, "context_path", "/")).strip("/")
    if context and not (fixed_part + "/").startswith(context + "/"):  # routes may or may not carry the prefix
        fixed_part = f"{context}/{fixed_part}"
    fixed = 1 + len(fixed_part.split("/"))  # the empty segment before the first '/', then the fixed ones
    segments = path.split("/")[fixed:]
    if segments and segments[-1] == "":  # one trailing '/' is ignored, as JAX-RS does
        segments.pop()
    if "" in segments and not keep_empty:
        raise NotFound(f"empty path segment in {request.url.path}")
    return segments


def decode_segment(raw: str) -> str:
    """One raw path segment percent-decoded; InvalidInput (400) when it is not UTF-8."""
    return _decode(raw)


def path_ids(request: Request) -> list[str]:
    """The decoded ID segments of the request path."""
    return [_decode(s) for s in raw_segments(request)]


def exact_ids(request: Request, count: int) -> list[str]:
    """Exactly ``count`` decoded ID segments, else 404 (as no route of Oryx would match)."""
    ids = path_ids(request)
    if len(ids) != count:
        raise NotFound(f"expected {count} ID segment(s) in {request.url.path}")
    return ids


def path_id_values(request: Request, start: int = 0) -> list[tuple[str, float]]:
    """Segments ``id`` or ``id=value`` (value default 1.0) from segment ``start`` on; a literal '=' in an ID is written %3D."""
    pairs = []
    for segment in raw_segments(request)[start:]:
        raw_id, eq, raw_value = segment.partition("=")
        if not eq:
            pairs.append((_decode(raw_id), 1.0))
            continue
        text = _decode(raw_value)
        try:
            value = parse_strength(text)  # Java's float grammar, as Oryx's Float.parseFloat: no '1_0', no 'inf'
        except InvalidInput:
            value = None
        if value is None:
            raise InvalidInput(f"bad value {text!r} for item {_decode(raw_id)}: not a number")
        pairs.append((_decode(raw_id), value))
    return pairs


def paging(how_many: str, offset: str, allow_zero: bool = False) -> tuple[int, int]:
    """Oryx's checkHowManyOffset: 0 < howMany (0 <= with ``allow_zero``), 0 <= offset, howMany + offset <= 100000.

    Integers are ASCII digits with an optional sign, nothing else (no spaces, no ``1_000``); 400 otherwise, where
    Oryx answers 404 to a howMany that is not a number (JAX-RS's rule for unconvertible query parameters).
    """
    n, skip = parse_integer("howMany", how_many), parse_integer("offset", offset)
    if n < 0 or (n == 0 and not allow_zero):
        raise InvalidInput("howMany must be positive")
    if skip < 0:
        raise InvalidInput("offset must be nonnegative")
    if n > MAX_RESULTS or skip > MAX_RESULTS or n + skip > MAX_RESULTS:
        raise InvalidInput("howMany + offset is too large")
    return n, skip


def flag(text: str | None) -> bool:
    """A boolean query parameter as JAX-RS reads it: "true" (any case) is true, anything else false."""
    return text is not None and text.strip().lower() == "true"


def ready_model(state: ServingState, capability: Capability[ModelT], endpoint: str) -> ModelT:
    """The current model as ``capability`` (serving.models): 503 saying why while there is none or it is loaded below
    min-model-load-fraction, 501 when the configured model cannot answer ``endpoint``."""
    reason = state.not_ready_reason()  # "no model yet; ...", "loading model: 37 %" (also while replaying updates)
    model = state.manager.get_model()
    if reason is not None or model is None:
        raise ModelNotReady(reason or "no model yet")
    return capability.of(model, endpoint)


def rescorer_for(state: ServingState, get: Callable[[RescorerProvider], Rescorer | None]) -> Rescorer | None:
    """``get(provider)`` (e.g. ``lambda p: p.get_recommend_rescorer(users, args)``) of the configured rescorer
    provider, or None when no provider is configured."""
    provider = state.manager.rescorer_provider
    return None if provider is None else get(provider)
