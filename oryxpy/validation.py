"""The one record validator: IDs, strength, timestamp and field count, as checked at every door (REST, kafka-input,
batch and speed parsers), and the counting of bad records that arrive on the input topic.

Rules (``oryx.input-topic.max-id-bytes`` sets the ID limit):

- an ID is non-empty, at most ``max-id-bytes`` bytes of UTF-8 (default 1,024), with no NUL, no line break of any
  kind (``\\n``, ``\\r``, and the other breaks Python's ``splitlines`` knows) and no lone UTF-16 surrogate;
- a strength is empty (a delete) or a finite number in Java's ``Float.parseFloat`` grammar (ASCII digits, optional
  sign, fraction, exponent and f/F/d/D suffix; no ``1_0``, no ``inf``, no hexadecimal);
- a timestamp is whole milliseconds, ASCII digits with an optional sign, within
  [``MIN_TIMESTAMP_MS``, ``MAX_TIMESTAMP_MS``] (1970-01-01T00:00:00.001Z to 9999-12-31T23:59:59.999Z): rejected
  outside, never clamped, so that a stored record is valid or not forever;
- a record has at most four fields.

A bad record is a :class:`~oryxpy.errors.BadRecord` whose ``kind`` names the rule it broke.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from oryxpy.errors import BadRecord

if TYPE_CHECKING:
    from oryxpy.config import Config

log = logging.getLogger(__name__)

DEFAULT_MAX_ID_BYTES = 1024
MAX_ID_BYTES_KEY = "oryx.input-topic.max-id-bytes"
MIN_TIMESTAMP_MS = 1
MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant of four-digit years
MAX_FIELDS = 4

_STRENGTH = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BAD_ID_CHAR = re.compile("[\x00\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ud800-\udfff]")
_DIGITS_AND_POINT = frozenset("0123456789.")
_JAVA_BLANK = "".join(chr(c) for c in range(33))  # Java's String.trim() drops every char <= ' '

_limits = {"max_id_bytes": DEFAULT_MAX_ID_BYTES}


def configure(config: Config) -> None:
    """Take the ID limit from a config (called once per process at start; the default holds until then)."""
    _limits["max_id_bytes"] = config.settings.input_topic.max_id_bytes


def max_id_bytes() -> int:
    """The ID limit in force in this process, in bytes of UTF-8."""
    return _limits["max_id_bytes"]


def check_id(value: str, what: str = "ID") -> str:
    """``value`` when it is a valid ID, else BadRecord naming the problem."""
    if value == "":
        raise BadRecord("empty-id", f"empty {what}")
    if value.isascii() and value.isprintable() and len(value) <= _limits["max_id_bytes"]:  # the common case
        return value
    match = _BAD_ID_CHAR.search(value)
    if match is not None:
        char = match.group()
        name = ("a NUL character" if char == "\x00" else "a lone surrogate" if "\ud800" <= char <= "\udfff"
                else "a line break")
        raise BadRecord("id-characters", f"{what} contains {name} ({char!r} at position {match.start()})")
    limit = _limits["max_id_bytes"]
    if len(value) > limit or (len(value) * 4 > limit and len(value.encode("utf-8")) > limit):
        size = len(value.encode("utf-8"))
        raise BadRecord("id-too-long", f"{what} is {size} bytes long, more than the {limit} allowed ({MAX_ID_BYTES_KEY})")
    return value


def parse_strength(text: str) -> float | None:
    """A strength field: empty is a delete (None); otherwise a finite number in Java's float grammar."""
    if text == "":
        return None
    trimmed = text
    if not _STRENGTH.fullmatch(trimmed):  # the common case needs no strip
        trimmed = text.strip(_JAVA_BLANK)
        if not _STRENGTH.fullmatch(trimmed):
            word = trimmed.lstrip("+-").lower() in ("nan", "infinity", "inf")
            raise BadRecord("strength", f"strength {_short(text)} {'must be a finite number' if word else 'is not a number'}")
    value = float(trimmed if trimmed[-1] in _DIGITS_AND_POINT else trimmed[:-1])
    if not math.isfinite(value):
        raise BadRecord("strength", f"strength {_short(text)} must be a finite number")
    return value


def parse_timestamp(text: str) -> int:
    """A timestamp field: whole milliseconds since the epoch, within [MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS]."""
    if text.isdigit() and text.isascii() and len(text) <= 15:  # the common case
        value = int(text)
        if MIN_TIMESTAMP_MS <= value <= MAX_TIMESTAMP_MS:
            return value
    trimmed = text.strip(_JAVA_BLANK)
    if not _INTEGER.fullmatch(trimmed):
        raise BadRecord("timestamp", f"timestamp {_short(text)} is not a whole number of milliseconds")
    if trimmed.startswith("-") or trimmed.lstrip("+0") == "":
        raise BadRecord("timestamp", f"timestamp {_short(text)} must be positive")
    if len(trimmed) > 20 or not MIN_TIMESTAMP_MS <= int(trimmed) <= MAX_TIMESTAMP_MS:
        raise BadRecord("timestamp", f"timestamp {_short(text)} is outside {MIN_TIMESTAMP_MS}..{MAX_TIMESTAMP_MS} "
                                     "(milliseconds from 1970 to year 9999)")
    return int(trimmed)


def parse_integer(name: str, text: str) -> int:
    """A query parameter as an integer: ASCII digits with an optional sign, nothing else (no spaces, no ``_``)."""
    if not _INTEGER.fullmatch(text) or len(text) > 19:
        raise BadRecord("integer", f"{name} must be an integer")
    return int(text)


def check_field_count(count: int) -> None:
    """BadRecord when a record has more than four fields (often an ID holding an unquoted comma)."""
    if count > MAX_FIELDS:
        raise BadRecord("fields", f"{count} fields, at most {MAX_FIELDS} (user,item,strength,timestamp) are allowed; "
                                  "quote an ID that holds a comma")


def _short(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


class BadRecordLog:
    """Counts bad input-topic records per layer and kind (Prometheus ``oryx_bad_input_records_total``) and logs the
    first of each kind in full; later ones of that kind only at debug level (the counter keeps the tally)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.counter = Counter("oryx_bad_input_records", "input-topic records skipped as invalid, by layer and kind",
                               ["layer", "kind"], registry=registry)
        self._logged: set[tuple[str, str]] = set()  # (layer, kind) pairs logged in full so far
        self._lock = threading.Lock()

    def note(self, layer: str, error: Exception, where: str, logged: set[tuple[str, str]] | None = None) -> None:
        """Count one bad record; log it when it is the first of its kind in this layer (in this process, or among the
        calls that share the ``logged`` set, such as one batch generation)."""
        kind = getattr(error, "kind", "other")
        self.counter.labels(layer, kind).inc()
        with self._lock:
            seen = self._logged if logged is None else logged
            first = (layer, kind) not in seen
            seen.add((layer, kind))
        if first:
            log.warning("%s layer: skipping bad input record (%s) at %s: %s; further records of this kind are counted in "
                        "oryx_bad_input_records_total{layer=%r,kind=%r} and logged at debug level",
                        layer, kind, where, error, layer, kind)
        else:
            log.debug("%s layer: skipping bad input record (%s) at %s: %s", layer, kind, where, error)

    def count(self, layer: str, kind: str) -> float:
        """How many bad records of ``kind`` this process counted in ``layer``."""
        value = self.registry.get_sample_value("oryx_bad_input_records_total", {"layer": layer, "kind": kind})
        return value or 0.0


BAD_RECORDS = BadRecordLog()
