"""Input records: CSV with backslash escapes, JSON arrays, deletes, timestamps, and every malformed form."""

from __future__ import annotations

import pytest

from oryxpy.errors import InvalidInput
from oryxpy.records import Interaction, format_record, ingest_record, parse_interaction, split_fields


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("u1,i1,2.5,1420070400000", ["u1", "i1", "2.5", "1420070400000"]),
        ('"user, with comma",i1,1,5', ["user, with comma", "i1", "1", "5"]),
        ('"say ""hi""",i,1,5', ['say "hi"', "i", "1", "5"]),
        ('a\\,b,i,1,5', ["a,b", "i", "1", "5"]),
        ('"back\\\\slash",i,1,5', ["back\\slash", "i", "1", "5"]),
        ('["u1","i1","2.5","1420070400000"]', ["u1", "i1", "2.5", "1420070400000"]),
        ('["u1", "i1", 2.5, 1420070400000]', ["u1", "i1", "2.5", "1420070400000"]),
        ('["u1","i1","",7]', ["u1", "i1", "", "7"]),
        ("u1,i1,,7\r\n", ["u1", "i1", "", "7"]),
        ("", []),
        ("ü,日本,1,5", ["ü", "日本", "1", "5"]),
    ],
)
def test_split_fields(line, fields):
    assert split_fields(line) == fields


def test_parse_interaction_strength_delete_and_extra_fields():
    assert parse_interaction("u,i,2.5,10") == Interaction("u", "i", 2.5, 10)
    assert parse_interaction("u,i,,10") == Interaction("u", "i", None, 10)
    with pytest.raises(InvalidInput, match="6 fields, at most 4"):  # issue 11: extra fields are a bad record
        parse_interaction("u,i,-1,10,extra,fields")
    assert parse_interaction('["u","i",3,11]') == Interaction("u", "i", 3.0, 11)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("u,i,1", "expected user,item,strength,timestamp but got 3 field"),
        ("u,i", "got 2 field"),
        ("", "got 0 field"),
        ("u,i,abc,10", "strength 'abc' is not a number"),
        ("u,i,NaN,10", "must be a finite number"),
        ("u,i,inf,10", "must be a finite number"),
        ("u,i,1,ten", "timestamp 'ten' is not a whole number"),
        ("u,i,1,1.5", "timestamp '1.5' is not a whole number"),
        ("u,i,1,0", "must be positive"),
        ("u,i,1,-5", "must be positive"),
        (",i,1,5", "empty user ID"),
        ("u,,1,5", "empty item ID"),
        ('"unterminated,i,1,5', "not valid CSV"),
        ('["u","i",1,5', "does not end with ']'"),
        ('["u","i",1,5,]', "not a valid JSON array"),
        ('["u",["i"],1,5]', "flat array"),
    ],
)
def test_malformed_records_say_what_is_wrong(line, message):
    with pytest.raises(InvalidInput) as info:
        parse_interaction(line)
    assert message in str(info.value)


def test_format_record_quotes_only_when_needed_and_round_trips():
    for user, item in [("u1", "i1"), ("a,b", 'q"uote'), ("back\\slash", "[json-like"), ("space d", "x")]:
        text = format_record(user, item, "1.0", 42)
        assert parse_interaction(text) == Interaction(user, item, 1.0, 42)
    assert format_record("u1", "i1", "", 42) == "u1,i1,,42"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("u,i", "u,i,1.0,1000"),
        ("u,i,", "u,i,,1000"),
        ("u,i,1", "u,i,1.0,1000"),
        ("u,i,5.5", "u,i,5.5,1000"),
        ("u,i,1e10", "u,i,1.0E10,1000"),
        ("u,i,0.0001", "u,i,1.0E-4,1000"),
        ("u,i,2,77", "u,i,2.0,77"),
        ('["u","i"]', "u,i,1.0,1000"),
        ('"a,b",i,3', '"a,b",i,3.0,1000'),
    ],
)
def test_ingest_record_rules(line, expected):
    assert ingest_record(line, now_ms=1000) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "at least user,item"),
        ("only-user", "at least user,item"),
        ("u,i,NaN", "finite"),
        ("u,i,1e50", "too large for a 32-bit float"),
        ("u,i,x", "not a number"),
        ("u,i,1,notlong", "not a whole number"),
        ("u,i,1,-3", "must be positive"),
    ],
)
def test_ingest_record_rejects(line, message):
    with pytest.raises(InvalidInput, match=message):
        ingest_record(line, now_ms=1000)
