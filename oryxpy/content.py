"""Item content on the input topic (``{"item": ID, "content": {...}}`` JSON objects) and its hashed features.

Record form (one input-topic value; interaction records are CSV or JSON arrays, never JSON objects, so the ALS
layers recognize and skip these with :func:`is_content_record`)::

    {"item": "1", "content": {"title": "Toy Story (1995)", "genres": ["Animation", "Comedy"], "tags": ["pixar"]}}

``content`` maps attribute names to a string (free text: split into lower-case words), a number or boolean
(one categorical value) or a list of strings / numbers (categorical values, e.g. genres and tags). A later
record for the same item replaces the earlier one. Every attribute becomes hashed tokens (:func:`tokens`),
which a content model (the two-tower model's item tower, batch.deep.model_format.ItemTower) turns into a vector.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from oryxpy.errors import InvalidInput

MAX_ATTRIBUTES = 100
MAX_VALUES = 1000
MAX_TEXT = 10_000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ItemContent:
    """One item's attributes, as validated from a content record."""

    item: str
    attributes: dict[str, str | float | bool | list[str]]


def is_content_record(value: str | None) -> bool:
    """True for an item-content record (a JSON object); interaction records are CSV or JSON arrays."""
    return value is not None and value.lstrip().startswith("{")


def _attribute(item: str, name: object, value: object) -> str | float | bool | list[str]:
    where = f"content of item {item!r}"
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{where}: attribute names must be non-empty strings, got {name!r}")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidInput(f"{where}: attribute {name!r} is not a finite number")
        return float(value)
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise InvalidInput(f"{where}: attribute {name!r} is longer than {MAX_TEXT} characters")
        return value
    if isinstance(value, list):
        if len(value) > MAX_VALUES:
            raise InvalidInput(f"{where}: attribute {name!r} has more than {MAX_VALUES} values")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                raise InvalidInput(f"{where}: attribute {name!r} must list strings or numbers, got {json.dumps(v)}")
            out.append(str(v))
        return out
    raise InvalidInput(f"{where}: attribute {name!r} must be a string, number, boolean or list, got {json.dumps(value)}")


def validate_content(item: str, content: object) -> ItemContent:
    """Check an item's attributes object; InvalidInput names the item and the problem."""
    if not isinstance(item, str) or item == "":
        raise InvalidInput(f"content record needs a non-empty string item ID, got {item!r}")
    if not isinstance(content, dict):
        raise InvalidInput(f"content of item {item!r} must be a JSON object of attributes, got {type(content).__name__}")
    if not content:
        raise InvalidInput(f"content of item {item!r} has no attributes")
    if len(content) > MAX_ATTRIBUTES:
        raise InvalidInput(f"content of item {item!r} has more than {MAX_ATTRIBUTES} attributes")
    return ItemContent(item, {name: _attribute(item, name, value) for name, value in content.items()})


def parse_content_record(value: str) -> ItemContent:
    """Parse an input-topic content record; InvalidInput says what is wrong (and for which item, when known)."""
    try:
        record = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"content record is not valid JSON ({exc.msg} at column {exc.colno}): {value[:80]!r}") from None
    if not isinstance(record, dict):
        raise InvalidInput("content record must be a JSON object {\"item\": ID, \"content\": {...}}")
    extra = set(record) - {"item", "content"}
    if extra:
        raise InvalidInput(f"content record for item {record.get('item')!r} has unknown field(s) {sorted(extra)}")
    if "item" not in record:
        raise InvalidInput("content record lacks the \"item\" field")
    if "content" not in record:
        raise InvalidInput(f"content record for item {record['item']!r} lacks the \"content\" field")
    return validate_content(record["item"], record["content"])


def content_record(content: ItemContent) -> str:
    """The input-topic text of a content record (compact JSON on one line)."""
    return json.dumps({"item": content.item, "content": content.attributes}, ensure_ascii=False, separators=(",", ":"))


def tokens(content: ItemContent) -> list[str]:
    """Tokens of an item's attributes: ``name:word`` for text, ``name=value`` for categorical values."""
    out: list[str] = []
    for name, value in content.attributes.items():
        key = name.strip().lower()
        if isinstance(value, str):
            out.extend(f"{key}:{w}" for w in _WORD.findall(value.lower()))
        elif isinstance(value, list):
            out.extend(f"{key}={v.strip().lower()}" for v in value)
        else:
            out.append(f"{key}={str(value).lower()}")
    return out


def hashed_features(contents: Iterable[ItemContent | None], buckets: int) -> sp.csr_matrix:
    """Rows of L2-normalized hashed token counts (CRC32 modulo ``buckets``); a None or empty row stays zero."""
    indptr: list[int] = [0]
    indices: list[int] = []
    data: list[float] = []
    for content in contents:
        counts: dict[int, float] = {}
        for token in tokens(content) if content is not None else []:
            bucket = zlib.crc32(token.encode("utf-8")) % buckets
            counts[bucket] = counts.get(bucket, 0.0) + 1.0
        norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
        indices.extend(counts)
        data.extend(c / norm for c in counts.values())
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32),
                          np.asarray(indptr, dtype=np.int64)), shape=(len(indptr) - 1, buckets))
