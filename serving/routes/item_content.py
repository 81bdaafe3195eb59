"""POST /item/{itemID}: an item's content attributes (a JSON object) to the input topic, as an item-content record."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from oryxpy.content import content_record, validate_content
from oryxpy.errors import InvalidInput, RequestTooLarge
from oryxpy.validation import check_id
from serving.io_body import Budget, charset_of, decode_content_encoding, decode_text, read_raw
from serving.io_write import id_segments, send_records, writable_producer
from serving.openapi import WRITE_ERRORS, Responses
from serving.params import State
from serving.state import ServingState

router = APIRouter()

MAX_CONTAINERS = 10_000  # JSON objects and arrays in one item's content; far more than MAX_ATTRIBUTES lists need

_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the item's attributes: strings (free text), numbers, booleans or lists of strings "
                       "(categorical values); a later POST for the item replaces them",
        "content": {"application/json": {"schema": {"type": "object", "example": {
            "title": "Toy Story (1995)", "genres": ["Animation", "Comedy"], "tags": ["pixar"]}}}},
    },
}
_RESPONSES: Responses = {204: {"description": "sent; the topic acknowledged it"}, **WRITE_ERRORS}


def parse_content(item: str, body: bytes, encoding: str, content_type: str, limit: int) -> str:
    """Body bytes to the item-content record (CPU-bound: run off the event loop). Objects and arrays are counted
    before parsing, so that neither depth nor a flood of empty containers can cost more than a few MB."""
    data = decode_content_encoding(body, encoding, Budget(limit))
    containers = data.count(b"{") + data.count(b"[")  # over-counts brackets inside strings, which is harmless here
    if containers > MAX_CONTAINERS:
        raise RequestTooLarge(f"content of item {item!r} holds more than {MAX_CONTAINERS} JSON objects and arrays")
    text = decode_text(data, charset_of(content_type), "request body")
    try:
        attributes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"content of item {item!r} is not valid JSON ({exc.msg} at line {exc.lineno} "
                           f"column {exc.colno})") from None
    except RecursionError:
        raise InvalidInput(f"content of item {item!r} is nested too deeply") from None
    return content_record(validate_content(item, attributes))


async def _post(request: Request, state: ServingState) -> Response:
    [item] = id_segments(request, 1)
    if item == "":
        raise InvalidInput("empty item ID")
    check_id(item, "item ID")
    producer = writable_producer(state)
    limit = int(state.config.settings.serving.api.max_body_bytes)
    body = await read_raw(request, limit)
    record = await run_in_threadpool(parse_content, item, body, request.headers.get("content-encoding", ""),
                                     request.headers.get("content-type", ""), limit)
    await send_records(producer, [record])
    return Response(status_code=204)


@router.post("/item/{itemID}", status_code=204, response_class=Response, responses=_RESPONSES, openapi_extra=_OPENAPI)
async def post_item(itemID: str, request: Request, state: State) -> Response:  # noqa: N803
    """Send the item's content record once the input topic acknowledged it (the two-tower model uses it)."""
    return await _post(request, state)


@router.post("/item/{tail:path}", status_code=204, response_class=Response, include_in_schema=False)
async def post_item_encoded(tail: str, request: Request, state: State) -> Response:
    """POST /item for IDs holding an encoded slash (%2F), which the decoded path splits apart."""
    return await _post(request, state)
