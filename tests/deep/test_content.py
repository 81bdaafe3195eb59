"""Item-content records: parsing, clear errors, hashed features, and the ALS layers skipping them."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from batch.interactions import parse_events
from oryxpy.content import (
    ItemContent,
    content_record,
    hashed_features,
    is_content_record,
    parse_content_record,
    tokens,
    validate_content,
)
from oryxpy.errors import InvalidInput
from speed.als.aggregate import parse_batch

RECORD = '{"item": "m1", "content": {"title": "Toy Story (1995)", "genres": ["Animation", "Comedy"], "year": 1995}}'


def test_parse_and_format_round_trip() -> None:
    content = parse_content_record(RECORD)
    assert content == ItemContent("m1", {"title": "Toy Story (1995)", "genres": ["Animation", "Comedy"], "year": 1995.0})
    assert parse_content_record(content_record(content)) == content
    assert "\n" not in content_record(content)
    assert tokens(content) == ["title:toy", "title:story", "title:1995", "genres=animation", "genres=comedy", "year=1995.0"]


def test_is_content_record() -> None:
    assert is_content_record(RECORD) and is_content_record('  {"item": 1}')
    for interaction in ("u,i,1,5", '["u","i",1,5]', "", '"{u",i,1,5'):
        assert not is_content_record(interaction)
    assert not is_content_record(None)


@pytest.mark.parametrize("value, message", [
    ("{not json", "not valid JSON"),
    ('{"content": {"a": "b"}}', 'lacks the "item" field'),
    ('{"item": "m9"}', "item 'm9' lacks the \"content\" field"),
    ('{"item": "m9", "content": {}, "x": 1}', "item 'm9' has unknown field(s) ['x']"),
    ('{"item": "", "content": {"a": "b"}}', "non-empty string item ID"),
    ('{"item": 7, "content": {"a": "b"}}', "non-empty string item ID"),
    ('{"item": "m9", "content": []}', "content of item 'm9' must be a JSON object"),
    ('{"item": "m9", "content": {}}', "content of item 'm9' has no attributes"),
    ('{"item": "m9", "content": {"a": {"b": 1}}}', "content of item 'm9': attribute 'a' must be a string, number"),
    ('{"item": "m9", "content": {"a": [[1]]}}', "content of item 'm9': attribute 'a' must list strings or numbers"),
    ('{"item": "m9", "content": {"a": null}}', "attribute 'a' must be"),
    ('{"item": "m9", "content": {"a": NaN}}', "attribute 'a' is not a finite number"),
])
def test_bad_records_name_the_item_and_problem(value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=None) as info:
        parse_content_record(value)
    assert message in str(info.value)


def test_validate_limits() -> None:
    with pytest.raises(InvalidInput, match="longer than"):
        validate_content("m", {"title": "x" * 20_000})
    with pytest.raises(InvalidInput, match="more than 100 attributes"):
        validate_content("m", {str(n): n for n in range(101)})


def test_hashed_features_are_normalized_rows() -> None:
    rows = hashed_features([parse_content_record(RECORD), None, ItemContent("m2", {"genres": ["Comedy"]})], 64)
    assert rows.shape == (3, 64)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1.0, 0.0, 1.0], rtol=1e-6)
    assert (rows[0].toarray() > 0)[0, rows[2].indices[0]]  # the shared genre hashes to the same bucket


def test_als_batch_parsing_skips_content_records_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        events, bad = parse_events(["u,i,1,5", RECORD, '{"broken', "u,j,2,6"])
    assert bad == 0 and list(events.items) == ["i", "j"] and caplog.text == ""


def test_als_speed_parsing_skips_content_records_silently() -> None:
    rejected: list[int] = []
    parsed = parse_batch(["u,i,1,5", RECORD, "bad"], lambda index, error: rejected.append(index))
    assert [p.item for p in parsed] == ["i"] and rejected == [2]
