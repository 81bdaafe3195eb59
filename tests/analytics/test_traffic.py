"""Dashboard input statistics: rates, HyperLogLog distinct counts (merged across instances), top items (issue 17)."""

from __future__ import annotations

from oryxpy.analytics.traffic import TrafficStats

T0 = 1_800_000_000.0  # a fixed clock: 2027-01-15


def test_rate_distinct_and_top() -> None:
    stats = TrafficStats()
    for n in range(3000):
        stats.observe(f"u{n % 1000}", f"i{n % 37}", T0 + n * 0.01)  # 30 s: one or two minutes
    snap = stats.snapshot(T0 + 40)
    assert sum(n for _, n in snap["input_per_minute"]) == 3000
    users = sum(n for _, n in snap["users_per_hour"])
    assert abs(users - 1000) < 50  # HLL, about 1.6 % error
    assert [n for _, n in snap["items_per_day"]] == [37]
    assert snap["top_items_last_hour"][0][1] == 82 and len(snap["top_items_last_hour"]) == 10
    assert stats.snapshot(T0 + 2 * 3600)["top_items_last_hour"] == []


def test_merge_is_a_union_not_a_sum() -> None:
    a, b = TrafficStats(), TrafficStats()
    for n in range(2000):
        a.observe(f"u{n}", "x", T0)
        b.observe(f"u{n + 1000}", "y", T0)  # 1000 users in common
    a.merge(b)
    snap = a.snapshot(T0)
    assert abs(snap["users_per_hour"][0][1] - 3000) < 150
    assert snap["items_per_hour"][0][1] == 2 and snap["total"] == 4000
    assert dict(snap["top_items_last_hour"]) == {"x": 2000, "y": 2000}


def test_old_buckets_are_dropped() -> None:
    stats = TrafficStats()
    for day in range(30):
        stats.observe("u", "i", T0 + day * 86400)
    assert len(stats.snapshot(T0 + 29 * 86400)["users_per_day"]) <= 15
