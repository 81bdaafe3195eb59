"""Input records: Oryx's ``user,item[,strength[,timestamp_ms]]`` as CSV (backslash escape) or a JSON array."""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass

from oryxpy.errors import BadRecord
from oryxpy.javafmt import java_float
from oryxpy.validation import check_field_count, check_id, parse_strength, parse_timestamp

__all__ = ["Interaction", "split_fields", "parse_strength", "parse_timestamp", "parse_interaction", "quote_field",
           "format_record", "normalize_strength", "ingest_record"]

_NEEDS_QUOTES = (",", '"', "\\", "\n", "\r")


@dataclass(frozen=True, slots=True)
class Interaction:
    """One user-item event. ``strength`` None means delete the association."""

    user: str
    item: str
    strength: float | None
    timestamp_ms: int


def split_fields(line: str) -> list[str]:
    """Split one record into its fields: a JSON array when it looks like one, else RFC 4180 CSV with ``\\`` escapes."""
    text = line.rstrip("\r\n")
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        if stripped.count("[", 1) or "{" in stripped:  # cheap guard; strings holding brackets take the slow path
            _check_flat(stripped)
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise BadRecord("json", f"not a valid JSON array ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise BadRecord("json", "a JSON record must be a flat array of strings or numbers") from None
        if not isinstance(values, list) or any(isinstance(v, list | dict) for v in values):
            raise BadRecord("json", "a JSON record must be a flat array of strings or numbers")
        return ["" if v is None else _json_scalar_text(v) for v in values]
    if not stripped:
        return []
    if not any(c in text for c in '"\\['):  # the common case needs no CSV machinery
        return text.split(",")
    if stripped.startswith("["):
        raise BadRecord("json", "looks like a JSON array but does not end with ']'")
    try:
        rows = list(csv.reader([text], escapechar="\\", strict=True))
    except csv.Error as exc:
        raise BadRecord("csv", f"not valid CSV ({exc})") from None
    return rows[0] if rows else []


def _check_flat(text: str) -> None:
    """BadRecord when a JSON array nests an array or object (checked before parsing, so depth costs nothing)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > 1:
                raise BadRecord("json", "a JSON record must be a flat array of strings or numbers")
        elif char in "]}":
            depth -= 1


def _json_scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_interaction(line: str) -> Interaction:
    """Parse a record as stored on the input topic: exactly four fields, each valid (oryxpy.validation)."""
    fields = split_fields(line)
    check_field_count(len(fields))
    if len(fields) < 4:
        raise BadRecord("fields", f"expected user,item,strength,timestamp but got {len(fields)} field(s)")
    return Interaction(check_id(fields[0], "user ID"), check_id(fields[1], "item ID"), parse_strength(fields[2]),
                       parse_timestamp(fields[3]))


def quote_field(value: str) -> str:
    """CSV-quote a field when it holds a delimiter, quote, backslash or line break, or starts like JSON (``[``, ``{``),
    so that a record never reads as a JSON array or an item-content object."""
    if not any(c in value for c in _NEEDS_QUOTES) and value.lstrip()[:1] not in ("[", "{"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '""') + '"'


def format_record(user: str, item: str, strength_text: str, timestamp_ms: int) -> str:
    """The input-topic text of one interaction; IDs are quoted only when they must be."""
    return f"{quote_field(user)},{quote_field(item)},{strength_text},{timestamp_ms}"


@functools.lru_cache(maxsize=4096)
def normalize_strength(text: str) -> str:
    """Strength text as Oryx's serving layer writes it: Float.toString of the value ('1' -> '1.0')."""
    value = parse_strength(text.strip())
    if value is None:
        return ""
    text32 = java_float(value)
    if "Infinity" in text32:
        raise BadRecord("strength", f"strength {text!r} is too large for a 32-bit float")
    return text32


def ingest_record(line: str, now_ms: int) -> str:
    """Validate one ``/ingest`` line and return its input-topic text.

    ``u,i`` means strength 1 now, ``u,i,`` a delete now, ``u,i,s`` strength s now, ``u,i,s,t`` strength s at t.
    """
    fields = split_fields(line)
    check_field_count(len(fields))
    if len(fields) < 2:
        raise BadRecord("fields", "expected at least user,item")
    user, item = check_id(fields[0], "user ID"), check_id(fields[1], "item ID")
    strength = "1.0" if len(fields) == 2 else normalize_strength(fields[2])
    timestamp = parse_timestamp(fields[3]) if len(fields) > 3 else now_ms
    return format_record(user, item, strength, timestamp)
