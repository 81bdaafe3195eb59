"""The one record validator (oryxpy.validation) at every door: parse rules, and bad input-topic records skipped and counted."""

from __future__ import annotations

import pytest

from batch.interactions import parse_events
from oryxpy import validation
from oryxpy.config import default_config
from oryxpy.errors import BadRecord, InvalidInput
from oryxpy.records import format_record, ingest_record, parse_interaction
from oryxpy.validation import BAD_RECORDS
from speed.als.aggregate import parse_batch

NOW = 1_700_000_000_000
GOOD = "u,i,1.0,1700000000000"


@pytest.mark.parametrize(
    ("line", "kind", "message"),
    [
        ("u,50,1,99999999999999999999999", "timestamp", "outside 1..253402300799999"),
        ("u,50,1,253402300800000", "timestamp", "outside"),
        ("u,50,1,0", "timestamp", "must be positive"),
        ("u,50,1,1_000", "timestamp", "not a whole number"),
        ("u,50,1,\u0661\u0662", "timestamp", "not a whole number"),  # Arabic-Indic digits
        ("u,50,1_0,5", "strength", "not a number"),
        ("u,50,\u0661,5", "strength", "not a number"),
        ("u,50,Infinity,5", "strength", "finite"),
        ("u,50,1e400,5", "strength", "finite"),
        ("u,50,0x1p3,5", "strength", "not a number"),
        ("u,i,1,5,extra", "fields", "5 fields, at most 4"),
        ("a,b,i,1,5", "fields", "5 fields"),  # Oryx's /ingest writing the ID "a,b" unquoted
        ('["x\\ud800","i","5","7"]', "id-characters", "lone surrogate"),
        ('["x\\u0000y","i","5","7"]', "id-characters", "NUL"),
        ('["x\\ny","i","5","7"]', "id-characters", "line break"),
        ('["u","i\\u2028","5","7"]', "id-characters", "line break"),
        ("[" * 1000 + "]" * 1000, "json", "flat array"),
        ('["u",{"a":1},"5","7"]', "json", "flat array"),
        (",i,1,5", "empty-id", "empty user ID"),
    ],
)
def test_stored_record_rules(line: str, kind: str, message: str) -> None:
    with pytest.raises(BadRecord) as info:
        parse_interaction(line)
    assert info.value.kind == kind and message in str(info.value)


def test_id_limit_is_bytes_of_utf8_and_configurable() -> None:
    assert parse_interaction(f"{'u' * 1024},i,1,5").user == "u" * 1024
    with pytest.raises(BadRecord, match="1025 bytes long, more than the 1024 allowed"):
        parse_interaction(f"{'u' * 1025},i,1,5")
    with pytest.raises(BadRecord, match="1026 bytes long"):  # 513 two-byte characters
        ingest_record(f"u,{'é' * 513}", NOW)
    with pytest.raises(BadRecord, match="16777216 bytes long"):  # the 16 MiB ID of the issue
        ingest_record("x" * (16 << 20) + ",50", NOW)
    try:
        validation.configure(default_config().with_overrides({validation.MAX_ID_BYTES_KEY: 4096}))
        assert len(parse_interaction(f"{'u' * 4000},i,1,5").user) == 4000
    finally:
        validation.configure(default_config())


def test_java_float_grammar_is_accepted() -> None:
    for text, value in [("1", 1.0), (" 2.5 ", 2.5), ("-.5", -0.5), ("1.", 1.0), ("3e2", 300.0), ("+1.5E-1", 0.15),
                        ("2f", 2.0), ("4D", 4.0)]:
        assert parse_interaction(f"u,i,{text},5").strength == value, text


@pytest.mark.parametrize("user", ["[x", "{x", " [x", "{\"item\": 1}"])
def test_ids_that_look_like_json_are_quoted_and_round_trip(user: str) -> None:
    record = ingest_record(format_record(user, "i", "1", 5), NOW)
    assert record.startswith('"')
    assert parse_interaction(record) == parse_interaction(format_record(user, "i", "1.0", 5))
    assert parse_interaction(record).user == user
    events, bad = parse_events([record])
    assert bad == 0 and list(events.users) == [user]


def test_at_most_four_fields_at_the_edge() -> None:
    with pytest.raises(InvalidInput, match="5 fields, at most 4"):
        ingest_record("u,i,1,2,3", NOW)
    assert ingest_record('"a,b",i', NOW).startswith('"a,b",i,1.0,')


POISON = [
    "u,50,1,99999999999999999999999",
    "x" * 20000 + ",50,1,5",
    "a,b,i,1.0,5",
    '["x\\ud800","i","5","7"]',
    "u,i,1_0,5",
    "[" * 5000,
]


def test_batch_parser_skips_and_counts_poison_records_by_kind() -> None:
    before = {kind: BAD_RECORDS.count("batch", kind) for kind in ("timestamp", "id-too-long", "fields", "id-characters",
                                                                  "strength", "json")}
    events, bad = parse_events(POISON + [GOOD])
    assert bad == len(POISON) and list(events.users) == ["u"]
    for kind, count in before.items():
        assert BAD_RECORDS.count("batch", kind) == count + 1, kind


def test_speed_parser_skips_and_counts_the_unquoted_comma_record(caplog: pytest.LogCaptureFixture) -> None:
    rejected: list[int] = []
    before = BAD_RECORDS.count("speed", "fields")
    parsed = parse_batch(["a,b,i,1.0,5", GOOD, "c,d,i,1.0,6"] + POISON, lambda index, exc: rejected.append(index))
    assert [p.user for p in parsed] == ["u"]
    assert rejected == [0, 2] + list(range(3, 3 + len(POISON)))
    assert BAD_RECORDS.count("speed", "fields") == before + 3
    # logged once per kind: the first 'fields' record of this process may have been logged by an earlier test
    assert sum("(fields)" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records) <= 1
