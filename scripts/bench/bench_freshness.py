"""Freshness of the whole system: how soon an interaction shows in /recommend (embedded or Kafka).

    python scripts/bench/bench_freshness.py [--kafka 127.0.0.1:9092] [--users 100]

Measures, over N users: (a) POST /pref x3 for a brand-new user -> first 200 from /recommend/<user>;
(b) POST /pref of an existing user's top recommendation -> that item leaves the user's list (it became known).
Anchor: Oryx's speed layer runs every 10 s, so its freshness is at least 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_system import start_demo_system  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def wait(condition, started: float, timeout_s: float = 30.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds from ``started`` until ``condition`` holds."""
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(0.005)
    raise TimeoutError("condition not met")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kafka", help="bootstrap servers; default embedded")
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    system = start_demo_system("fresh", args.kafka, interval_s=30)
    try:
        new_user, existing = [], []
        for n in range(args.users):
            user = f"fresh{n}"
            started = time.monotonic()  # from the first of the user's three /pref requests
            for k in range(3):
                j = (n * 7 + k * 5) % 1000
                system.client.post(f"/pref/{user}/g{j % 5}-item{j}", content=b"5")
            new_user.append(wait(lambda u=user: system.get(f"/recommend/{u}").status_code == 200, started))
            old = f"user{n}"
            top = system.get(f"/recommend/{old}?howMany=1").text.split(",")[0]
            started = time.monotonic()
            system.client.post(f"/pref/{old}/{top}", content=b"5")
            existing.append(wait(lambda o=old, t=top: t not in system.get(f"/recommend/{o}?howMany=10").text, started))
        backend = f"Kafka {args.kafka}" if args.kafka else "embedded"
        print(f"setup: oryxpy run ({backend}), demo model 1000 users x 1000 items, {args.users} users, {os.cpu_count()} cores")
        for name, values in (("new user: first of 3 x /pref -> recommendable", new_user),
                             ("existing user: /pref -> list updated", existing)):
            ms = [v * 1000 for v in values]
            print(f"{name}: p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms"
                  f" (mean {statistics.mean(ms):.0f} ms); Oryx anchor >= 10000 ms -> {10000 / percentile(ms, 95):.0f}x at p95")
    finally:
        system.stop()


if __name__ == "__main__":
    main()
