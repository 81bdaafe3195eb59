"""ALS input rules of spec 3.3: parsing, aggregation, deletes, decay, zero threshold, log strength, known items."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from batch.interactions import (
    DAY_MS,
    Events,
    aggregate,
    build_ratings,
    decay_and_threshold,
    known_items,
    parse_events,
)

T0 = 1_600_000_000_000


def events(*lines: str) -> Events:
    parsed, bad = parse_events(lines)
    assert bad == 0
    return parsed


def pairs(evts: Events, implicit: bool) -> dict[tuple[str, str], float]:
    user_ids, item_ids, u, i, v = aggregate(evts, implicit)
    return {(str(user_ids[a]), str(item_ids[b])): float(x) for a, b, x in zip(u, i, v, strict=True)}


def test_implicit_sums_strengths_of_a_pair() -> None:
    assert pairs(events(f"u,a,1,{T0}", f"u,a,2.5,{T0 + 1}", f"u,b,1,{T0}"), True) == {("u", "a"): 3.5, ("u", "b"): 1.0}


def test_explicit_keeps_the_last_value_by_timestamp_not_arrival() -> None:
    assert pairs(events(f"u,a,5,{T0 + 10}", f"u,a,1,{T0}"), False) == {("u", "a"): 5.0}


def test_equal_timestamps_keep_arrival_order() -> None:
    assert pairs(events(f"u,a,2,{T0}", f"u,a,4,{T0}"), False) == {("u", "a"): 4.0}


def test_implicit_sum_restarts_after_a_delete() -> None:
    evts = events(f"u,a,5,{T0}", f"u,a,,{T0 + 1}", f"u,a,2,{T0 + 2}", f"u,a,1,{T0 + 3}")
    assert pairs(evts, True) == {("u", "a"): 3.0}


@pytest.mark.parametrize("implicit", [True, False])
def test_trailing_delete_removes_the_pair(implicit: bool) -> None:
    evts = events(f"u,a,5,{T0}", f"u,a,,{T0 + 1}", f"u,b,1,{T0}")
    assert pairs(evts, implicit) == {("u", "b"): 1.0}


def test_delete_before_any_value_is_ignored() -> None:
    assert pairs(events(f"u,a,,{T0}", f"u,a,2,{T0 + 1}"), True) == {("u", "a"): 2.0}


def test_decay_uses_fractional_days_before_now() -> None:
    evts = events(f"u,a,8,{T0}", f"u,b,8,{T0 + int(1.5 * DAY_MS)}", f"u,c,8,{T0 + int(3 * DAY_MS)}")
    decayed = decay_and_threshold(evts, 0.5, 0.0, T0 + int(3 * DAY_MS))
    np.testing.assert_allclose(decayed.strength, [1.0, 8 * 0.5**1.5, 8.0])


def test_decay_factor_one_changes_nothing() -> None:
    evts = events(f"u,a,8,{T0}")
    assert decay_and_threshold(evts, 1.0, 0.0, T0 + 10 * int(DAY_MS)).strength.tolist() == [8.0]


def test_zero_threshold_drops_small_magnitudes_but_keeps_deletes() -> None:
    evts = events(f"u,a,0.5,{T0}", f"u,b,2,{T0}", f"u,c,-3,{T0}", f"u,d,-0.2,{T0}", f"u,b,,{T0 + 1}")
    kept = decay_and_threshold(evts, 1.0, 1.0, T0)
    assert kept.items.tolist() == ["b", "c", "b"]
    assert pairs(kept, True) == {("u", "c"): -3.0}  # the delete of b survived the threshold


def test_threshold_applies_after_decay() -> None:
    evts = events(f"u,a,4,{T0}", f"u,b,4,{T0 + 2 * int(DAY_MS)}")
    kept = decay_and_threshold(evts, 0.5, 1.5, T0 + 2 * int(DAY_MS))  # a decays to 1.0 <= 1.5
    assert kept.items.tolist() == ["b"]


def test_log_strength_transforms_aggregated_values() -> None:
    ratings = build_ratings(events(f"u,a,1,{T0}", f"u,a,1,{T0 + 1}"), True, True, 0.5)
    assert ratings.matrix.toarray().tolist() == [[pytest.approx(math.log1p(2 / 0.5))]]


def test_ratings_index_only_surviving_users_and_items_sorted() -> None:
    ratings = build_ratings(events(f"z,b,1,{T0}", f"y,a,1,{T0}", f"x,c,1,{T0}", f"x,c,,{T0 + 1}"), True, False, 1.0)
    assert ratings.user_ids == ["y", "z"] and ratings.item_ids == ["a", "b"]
    assert ratings.matrix.toarray().tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_known_items_follow_adds_and_deletes_in_time_order() -> None:
    evts = events(f"u,a,1,{T0}", f"u,b,1,{T0}", f"u,a,,{T0 + 5}", f"v,c,,{T0}", f"v,c,-1,{T0 + 1}", f"w,d,,{T0}")
    assert known_items(evts) == {"u": ["b"], "v": ["c"]}


def test_bad_records_are_logged_with_their_text_counted_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    lines = [f"u,a,1,{T0}", "just-one-field", f"u,b,notanumber,{T0}", f"u,c,1,{T0}", f'"unclosed,x,1,{T0}']
    with caplog.at_level(logging.WARNING, logger="batch.interactions"):
        parsed, bad = parse_events(lines, "test input")
    assert bad == 3
    assert parsed.items.tolist() == ["a", "c"]
    assert "just-one-field" in caplog.text and "notanumber" in caplog.text and "3 bad record(s)" in caplog.text
