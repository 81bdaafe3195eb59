"""Aggregation of one input batch (spec 4.3): implicit sums since the last delete, explicit last wins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oryxpy.errors import InvalidInput
from speed.als.aggregate import aggregate, parse_batch


def _agg(lines: list[str], implicit: bool = True, log_strength: bool = False, epsilon: float = math.nan) -> dict:
    batch = aggregate(parse_batch(lines, _fail), implicit, log_strength, epsilon)
    return {(u, i): v for u, i, v in zip(batch.users, batch.items, batch.values.tolist(), strict=True)}


def _fail(index: int, error: InvalidInput) -> None:
    raise AssertionError(f"record {index} rejected: {error}")


def test_implicit_sums_in_time_order_since_the_last_delete() -> None:
    lines = ["u,a,2,30", "u,a,1,10", "u,a,,20", "u,b,1,5", "u,b,,6", "v,a,1.5,1", "v,a,-0.5,2"]
    # u,a: 1 @10, delete @20, 2 @30 -> 2; u,b ends deleted -> dropped; v,a: 1.5 - 0.5
    assert _agg(lines) == {("u", "a"): 2.0, ("v", "a"): 1.0}


def test_explicit_last_wins_and_trailing_delete_drops() -> None:
    lines = ["u,a,5,3", "u,a,2,1", "u,b,4,1", "u,b,,2"]
    assert _agg(lines, implicit=False) == {("u", "a"): 5.0}


def test_log_strength() -> None:
    result = _agg(["u,a,1,1", "u,a,2,2", "u,b,-5,1"], log_strength=True, epsilon=0.5)
    assert result[("u", "a")] == pytest.approx(float(np.float32(math.log1p(3 / 0.5))))
    assert ("u", "b") not in result  # log1p(-10) is not a number: dropped


def test_bad_records_are_rejected_by_index() -> None:
    rejected: list[int] = []
    parsed = parse_batch(["u,a,1,1", "only,two", "u,b,x,1", "u,c,1,2"], lambda n, e: rejected.append(n))
    assert rejected == [1, 2] and [p.item for p in parsed] == ["a", "c"]
