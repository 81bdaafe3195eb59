"""POST /ingest: validate every line of a (possibly compressed or multipart) body, then send them all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from oryxpy.errors import InvalidInput, RequestTooLarge
from oryxpy.records import ingest_record
from serving.io_body import (
    Budget,
    Text,
    charset_of,
    decode_content_encoding,
    decode_text,
    iter_lines,
    parse_multipart,
    part_texts,
    read_raw,
)
from serving.io_write import now_ms, send_records, writable_producer
from serving.openapi import WRITE_ERRORS, Responses
from serving.params import State

router = APIRouter()

LINE_TYPES = frozenset({"", "text/plain", "text/csv", "application/json", "application/octet-stream",
                        "application/x-www-form-urlencoded"})

_LINES_SCHEMA = {"type": "string", "example": "u1,i1,2.5\nu2,i1\n[\"u3\",\"i2\",\"1\",\"1420070400000\"]\n"}
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "Lines `user,item[,strength[,timestamp_ms]]` as CSV or JSON arrays; `Content-Encoding: gzip` or "
                       "`deflate` accepted; multipart parts may be plain, gzip (`application/gzip`) or zip (`application/zip`).",
        "content": {
            "text/plain": {"schema": _LINES_SCHEMA},
            "text/csv": {"schema": _LINES_SCHEMA},
            "application/json": {"schema": _LINES_SCHEMA},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "ingestedFile": {"type": "string", "format": "binary"}}}},
        },
    },
}
_RESPONSES: Responses = {204: {"description": "every record sent; the topic acknowledged them"},
                         **{k: v for k, v in WRITE_ERRORS.items() if k != 404}}


def texts_of(body: bytes, content_type: str, encoding: str, limit: int) -> list[Text]:
    """Decode a whole request body into the text pieces whose lines are to be ingested.

    One budget of ``limit`` bytes bounds what all decompression stages produce together (Content-Encoding, then
    gzip or zip parts).
    """
    media = parse_options_header(content_type)[0].decode("latin-1").lower()
    budget = Budget(limit)
    data = decode_content_encoding(body, encoding, budget)
    if media == "multipart/form-data":
        parts = parse_multipart(data, content_type)
        if not parts:
            raise InvalidInput("No parts")
        return [text for number, part in enumerate(parts, start=1) for text in part_texts(part, number, budget)]
    return [Text("", decode_text(data, charset_of(content_type), "request body"))]


def records_of(texts: list[Text], timestamp_ms: int, max_record_bytes: int, max_records: int) -> list[str]:
    """Every line as input-topic text; the first bad one raises InvalidInput naming where it is, more than
    ``max_records`` lines RequestTooLarge."""
    if sum(text.text.count("\n") for text in texts) > max_records:  # a cheap early answer for a record bomb
        raise RequestTooLarge(f"more than {max_records} records in one request (oryx.serving.api.max-records); "
                              "send larger inputs with oryxpy kafka-input; nothing was sent")
    records: list[str] = []
    for text in texts:
        where = f"{text.source} " if text.source else ""
        for number, line in enumerate(iter_lines(text.text), start=1):
            if len(records) >= max_records:
                raise RequestTooLarge(f"more than {max_records} records in one request (oryx.serving.api.max-records); "
                                      "send larger inputs with oryxpy kafka-input; nothing was sent")
            try:
                if not line.strip():
                    raise InvalidInput("blank line, expected at least user,item")
                record = ingest_record(line, timestamp_ms)
                if len(record) * 4 > max_record_bytes and len(record.encode("utf-8")) > max_record_bytes:
                    raise InvalidInput(f"record larger than the topic's maximum message size of {max_record_bytes} bytes")
                records.append(record)
            except InvalidInput as exc:
                raise InvalidInput(f"{where}line {number}: {exc}; nothing was sent") from None
    return records


def parse_body(body: bytes, content_type: str, encoding: str, limit: int, max_record_bytes: int,
               max_records: int) -> list[str]:
    """Body bytes to validated records (CPU-bound: run off the event loop)."""
    return records_of(texts_of(body, content_type, encoding, limit), now_ms(), max_record_bytes, max_records)


@router.post("/ingest", status_code=204, response_class=Response, responses=_RESPONSES, openapi_extra=_OPENAPI)
async def ingest(request: Request, state: State) -> Response:
    """Validate every line of the body, then send them all to the input topic (nothing is sent if one is bad)."""
    producer = writable_producer(state)
    content_type = request.headers.get("content-type", "")
    media = parse_options_header(content_type)[0].decode("latin-1").lower()
    if media not in LINE_TYPES and media != "multipart/form-data":
        raise HTTPException(415, f"unsupported Content-Type {media!r}: use text/plain, text/csv, application/json or multipart/form-data")
    limit = int(state.config.settings.serving.api.max_body_bytes)
    body = await read_raw(request, limit)
    records = await run_in_threadpool(parse_body, body, content_type, request.headers.get("content-encoding", ""), limit,
                                      int(state.config.settings.update_topic.message.max_size),
                                      int(state.config.settings.serving.api.max_records))
    await send_records(producer, records)
    return Response(status_code=204)
