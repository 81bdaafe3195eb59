"""POST and DELETE /pref/{userID}/{itemID}: one interaction, or its deletion, to the input topic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from python_multipart.multipart import parse_options_header

from oryxpy.errors import InvalidInput
from oryxpy.records import format_record, normalize_strength
from oryxpy.validation import check_id
from serving.io_body import (
    Budget,
    charset_of,
    decode_content_encoding,
    decode_text,
    iter_lines,
    read_raw,
)
from serving.io_write import id_segments, now_ms, send_records, writable_producer
from serving.openapi import WRITE_ERRORS, Responses
from serving.params import State
from serving.state import ServingState

router = APIRouter()

#: Content types of a /pref body. Oryx answers 415 to all but text/plain; we also take what ``curl -d`` sends
#: (form-encoded) and CSV/JSON, whose first line is read the same way. Anything else (multipart, gzip files, ...) is 415.
BODY_TYPES = frozenset({"", "text/plain", "text/csv", "application/json", "application/x-www-form-urlencoded"})
MAX_PREF_BODY = 1 << 20  # a strength needs a few bytes; this is the most /pref reads whatever max-body-bytes is

_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "first line = strength (a finite number); empty means 1",
        "content": {mt: {"schema": {"type": "string", "example": "2.5"}} for mt in ("text/plain", "text/csv", "application/json")},
    },
}
_RESPONSES: Responses = {204: {"description": "sent; the topic acknowledged it"}, **WRITE_ERRORS}


def pref_ids(request: Request) -> tuple[str, str]:
    """User and item IDs from the raw path (so that either may contain ``/`` sent as %2F)."""
    user, item = id_segments(request, 2)
    if user == "" or item == "":
        raise InvalidInput(f"empty {'user' if user == '' else 'item'} ID")
    return check_id(user, "user ID"), check_id(item, "item ID")


async def _strength(request: Request, limit: int) -> str:
    """The normalized strength on the body's first line; "1.0" when there is none."""
    media = parse_options_header(request.headers.get("content-type", ""))[0].decode("latin-1").lower()
    if media not in BODY_TYPES:
        raise HTTPException(415, f"unsupported Content-Type {media!r} for /pref: send the strength as text/plain")
    body = await read_raw(request, limit)
    data = decode_content_encoding(body, request.headers.get("content-encoding", ""), Budget(limit))
    text = decode_text(data, charset_of(request.headers.get("content-type", "")), "request body")
    first = next(iter_lines(text), "").strip()
    return normalize_strength(first) if first else "1.0"


async def _post(request: Request, state: ServingState) -> Response:
    """Send ``user,item,strength,now`` once the topic acknowledged it."""
    user, item = pref_ids(request)
    producer = writable_producer(state)
    strength = await _strength(request, min(MAX_PREF_BODY, int(state.config.settings.serving.api.max_body_bytes)))
    await send_records(producer, [format_record(user, item, strength, now_ms())])
    return Response(status_code=204)


async def _delete(request: Request, state: ServingState) -> Response:
    """Send the deletion ``user,item,,now`` once the topic acknowledged it."""
    user, item = pref_ids(request)
    producer = writable_producer(state)
    await send_records(producer, [format_record(user, item, "", now_ms())])
    return Response(status_code=204)


@router.post("/pref/{userID}/{itemID}", status_code=204, response_class=Response, responses=_RESPONSES, openapi_extra=_OPENAPI)
async def post_pref(userID: str, itemID: str, request: Request, state: State) -> Response:  # noqa: N803
    """Send the interaction userID,itemID,strength,now; the body's first line is the strength (default 1)."""
    return await _post(request, state)


@router.delete("/pref/{userID}/{itemID}", status_code=204, response_class=Response,
                responses={k: v for k, v in _RESPONSES.items() if k not in (413, 415)})
async def delete_pref(userID: str, itemID: str, request: Request, state: State) -> Response:  # noqa: N803
    """Send the deletion userID,itemID,,now."""
    return await _delete(request, state)


@router.post("/pref/{tail:path}", status_code=204, response_class=Response, include_in_schema=False)
async def post_pref_encoded(tail: str, request: Request, state: State) -> Response:
    """POST /pref for IDs holding an encoded slash (%2F), which the decoded path splits apart."""
    return await _post(request, state)


@router.delete("/pref/{tail:path}", status_code=204, response_class=Response, include_in_schema=False)
async def delete_pref_encoded(tail: str, request: Request, state: State) -> Response:
    """DELETE /pref for IDs holding an encoded slash (%2F), which the decoded path splits apart."""
    return await _delete(request, state)
