"""Bulk loading of interaction files into the input topic, validated first, with progress on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from oryxpy.config import Config
from oryxpy.errors import InvalidInput, PartiallySent
from oryxpy.records import ingest_record, quote_field, split_fields
from oryxpy.topics import input_message_key, open_producer

CHUNK = 10000


def _is_ascii_int(text: str) -> bool:
    text = text.strip()
    return text.isascii() and text.isdigit()


def from_tsv(line: str, seconds: bool) -> str:
    """A MovieLens-style ``user<TAB>item<TAB>rating<TAB>time`` line as CSV (time converted to ms if in seconds)."""
    fields = line.rstrip("\r\n").split("\t")
    if seconds and len(fields) > 3 and _is_ascii_int(fields[3]):
        fields[3] = str(int(fields[3]) * 1000)
    return ",".join(quote_field(f) for f in fields)


def validate_lines(lines: Iterable[str], now_ms: int, tsv: bool = False, seconds: bool = False,
                   progress: bool = False) -> list[str]:
    """Every non-blank line as input-topic text; the first bad line raises InvalidInput naming its number."""
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            if tsv:
                line = from_tsv(line, seconds)
            elif seconds:
                fields = split_fields(line)
                if len(fields) > 3 and _is_ascii_int(fields[3]):
                    fields[3] = str(int(fields[3]) * 1000)
                line = ",".join(quote_field(f) for f in fields)
            records.append(ingest_record(line, now_ms))
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {exc}; nothing was sent") from None
        if progress and number % 100000 == 0:
            print(f"\rchecked {number:,} lines", end="", file=sys.stderr, flush=True)  # noqa: T201
    return records


def send_input_file(config: Config, path: str | None, tsv: bool = False, seconds: bool = False) -> int:
    """Validate a whole file (or stdin), then send it; returns how many records were sent."""
    if path is None:
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc}") from None
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"line {line}: not valid UTF-8 (byte {exc.start} of {path or 'standard input'}); "
                           "nothing was sent") from None
    records = validate_lines(lines, int(time.time() * 1000), tsv=tsv, seconds=seconds, progress=True)
    started = time.monotonic()
    with open_producer(config, "input") as producer:
        for start in range(0, len(records), CHUNK):
            chunk = records[start:start + CHUNK]
            try:
                producer.send_all([(input_message_key(r), r) for r in chunk])
            except Exception as exc:  # noqa: BLE001 - whatever failed, the user must learn how much went
                raise PartiallySent(f"sending failed after {start} of {len(records)} records were acknowledged "
                                    f"(lines are sent in file order; up to {len(chunk)} more may have been written): "
                                    f"{exc}") from exc
            done = start + len(chunk)
            rate = done / max(1e-9, time.monotonic() - started)
            print(f"\rsent {done}/{len(records)} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)  # noqa: T201
    print(file=sys.stderr)  # noqa: T201
    return len(records)
