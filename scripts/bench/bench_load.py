"""Sustained load on the whole system with Oryx's traffic mix: /pref 50 %, /recommend 30 %, /similarity 20 %.

    python scripts/bench/bench_load.py [--minutes 10] [--workers 4] [--kafka 127.0.0.1:9092]

Reports throughput, errors (target zero) and each layer's memory (RSS) at the start and end.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from demo_system import start_demo_system  # noqa: E402

from tests.integration.system import RunningSystem  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(system: RunningSystem) -> str:
    return ", ".join(f"{layer} {rss_mb(system.layer_pid(layer)):.0f} MB" for layer in ("batch", "speed", "serving"))


def worker(url: str, stop: threading.Event, counts: dict[str, int], lock: threading.Lock, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            r = rng.random()
            j = rng.randrange(1000)
            user, item = f"user{rng.randrange(1000)}", f"g{j % 5}-item{j}"
            try:
                if r < 0.5:
                    ok = client.post(f"/pref/{user}/{item}", content=str(rng.randint(1, 5)).encode()).status_code == 204
                    kind = "pref"
                elif r < 0.8:
                    ok = client.get(f"/recommend/{user}").status_code in (200, 404)
                    kind = "recommend"
                else:
                    ok = client.get(f"/similarity/{item}").status_code in (200, 404)
                    kind = "similarity"
            except httpx.HTTPError:
                ok, kind = False, "transport"
            with lock:
                counts[kind if ok else "errors"] = counts.get(kind if ok else "errors", 0) + 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kafka", help="bootstrap servers; default embedded")
    args = parser.parse_args()
    system = start_demo_system("load", args.kafka, interval_s=60)
    try:
        start_memory = memory(system)
        counts: dict[str, int] = {}
        lock, stop = threading.Lock(), threading.Event()
        threads = [threading.Thread(target=worker, args=(system.url, stop, counts, lock, i)) for i in range(args.workers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(args.minutes * 60)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        total = sum(v for k, v in counts.items() if k != "errors")
        print(f"setup: oryxpy run ({'Kafka' if args.kafka else 'embedded'}), {args.workers} client threads, "
              f"{args.minutes:g} min, {os.cpu_count()} cores (clients share the machine), generation every 60 s")
        print(f"requests: {total} ok ({total / elapsed:.0f}/s): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"errors: {counts.get('errors', 0)}; models built during the run: {system.model_count()}")
        print(f"memory at start: {start_memory}; at end: {memory(system)}")
    finally:
        system.stop()


if __name__ == "__main__":
    main()
