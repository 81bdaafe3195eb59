"""Disk use and restart-to-ready of the embedded update log over many generations: cut at each model vs kept whole.

Each generation publishes what the batch layer publishes for an ml-100k-sized ALS model: one MODEL (PMML with every
ID) then an UP for every item (Y) and every user (X, with the user's known items from ml-100k's u.data). Vectors are
random (the bytes on the log, not their values, matter here); no ALS is trained, so 100 generations run in minutes.

- "cut" (issue 11, today's code): the update log is cut back to the latest MODEL when it is published.
- "kept" (the behaviour before): every message of every generation stays, and a restart replays all of them.

Every ``--every`` generations a fresh serving model manager and update consumer start on the log, as a restarted
serving layer does, and the time until it has consumed the log up to its end and is ready is measured; the size of
the log files (SQLite file, WAL) is measured at the same points.
"""

# Usage: .venv/bin/python scripts/bench/bench_restart.py [--generations 100] [--every 10] [--features 50]
#        [--modes cut,kept] [--repeats 1] [--data ../shared/data/ml-100k/u.data]

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from oryxpy.config import Config, load_config  # noqa: E402
from oryxpy.interfaces import ServingModelManager, instantiate  # noqa: E402
from oryxpy.messages import MODEL, UP, up_value  # noqa: E402
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml  # noqa: E402
from oryxpy.topics import open_producer  # noqa: E402
from oryxpy.topics.embedded import EmbeddedProducer, topic_path  # noqa: E402
from serving.update_consumer import UpdateConsumer  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "ml-100k" / "u.data"  # ../shared beside the checkout


def generation_messages(data: Path, features: int, seed: int) -> list[tuple[str, str]]:
    """MODEL, then Y and X UPs of an ALS model of ``data`` (user, item, ... tab-separated) with random vectors."""
    known: dict[str, list[str]] = defaultdict(list)
    items: set[str] = set()
    for line in data.read_text().splitlines():
        user, item = line.split("\t")[:2]
        known[user].append(item)
        items.add(item)
    users, item_ids = sorted(known), sorted(items)
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, (len(users), features)).astype(np.float32)
    y = rng.normal(0, 0.3, (len(item_ids), features)).astype(np.float32)
    out = [(MODEL, als_model_to_pmml(ALSModelInfo(features, True, users, item_ids)))]
    out += [(UP, up_value("Y", item, y[j], None)) for j, item in enumerate(item_ids)]
    out += [(UP, up_value("X", user, x[u], tuple(known[user]))) for u, user in enumerate(users)]
    return out


def log_bytes(config: Config) -> int:
    base = topic_path(config.state_dir / "topics", config["oryx.update-topic.message.topic"])
    return sum(p.stat().st_size for p in base.parent.glob(base.name + "*"))


def restart_to_ready(config: Config, timeout_s: float = 600.0) -> tuple[float, int]:
    """Seconds until a fresh serving manager + update consumer has replayed the log and is ready; messages consumed."""
    manager = instantiate(config["oryx.serving.model-manager-class"], "oryx.serving.model-manager-class", config,
                          ServingModelManager)
    consumer = UpdateConsumer(config, manager)
    started = time.perf_counter()
    consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not (consumer.caught_up and manager.is_ready()):  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f} s")
            time.sleep(0.005)
        return time.perf_counter() - started, consumer.consumed
    finally:
        consumer.stop()
        manager.close()


def run_mode(mode: str, messages: list[tuple[str, str]], generations: int, every: int,
             repeats: int) -> list[tuple[int, int, float, int]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"bench-restart-{mode}-") as state:
        config = load_config(environ={}, sets=[f"oryx.embedded.state-dir={state}", "oryx.serving.min-model-load-fraction=1.0"])
        if mode == "cut":
            producer = open_producer(config, "update")
        else:  # the behaviour before issue 11: nothing is ever deleted from the embedded update log
            path = topic_path(config.state_dir / "topics", config["oryx.update-topic.message.topic"])
            producer = EmbeddedProducer(path, config["oryx.update-topic.message.topic"], 1,
                                        config["oryx.update-topic.message.max-size"], cut_at_model=False)
        with producer:
            for g in range(1, generations + 1):
                producer.send_all(messages[:1])  # the MODEL first, then the vectors in batches, as the batch layer does
                for i in range(1, len(messages), 1000):
                    producer.send_all(messages[i:i + 1000])
                if g == 1 or g % every == 0:
                    runs = [restart_to_ready(config) for _ in range(repeats)]
                    seconds, consumed = float(np.median([r[0] for r in runs])), runs[0][1]
                    rows.append((g, log_bytes(config), seconds, consumed))
                    print(f"  {mode:4s} generation {g:4d}: log {rows[-1][1] / 1e6:8.1f} MB, restart-to-ready "  # noqa: T201
                          f"{seconds:6.2f} s ({consumed} messages replayed)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--every", type=int, default=10, help="measure after the first and every N-th generation")
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--modes", default="cut,kept")
    parser.add_argument("--repeats", type=int, default=1, help="restarts per measurement (the median is reported)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    messages = generation_messages(args.data, args.features, seed=1)
    size = sum(len(k) + len(v) for k, v in messages)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; data {args.data}")  # noqa: T201
    print(f"one generation: {len(messages)} messages, {size / 1e6:.2f} MB ({args.features} features); "  # noqa: T201
          f"{args.generations} generations, measured every {args.every}")
    results = {mode: run_mode(mode, messages, args.generations, args.every, args.repeats) for mode in args.modes.split(",")}
    modes = list(results)
    print("\ngeneration | " + " | ".join(f"{m}: log MB, restart-to-ready s" for m in modes))  # noqa: T201
    for i, row in enumerate(results[modes[0]]):
        cells = [f"{results[m][i][1] / 1e6:7.1f} MB {results[m][i][2]:6.2f} s" for m in modes if i < len(results[m])]
        print(f"{row[0]:10d} | " + " | ".join(cells))  # noqa: T201
    for mode, rows in results.items():
        settled = rows[1:] if len(rows) > 2 else rows
        sizes, times = [r[1] for r in settled], [r[2] for r in settled]
        print(f"{mode}: log {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB (max/min {max(sizes) / min(sizes):.2f}), "  # noqa: T201
              f"restart-to-ready {min(times):.2f}-{max(times):.2f} s (max/min {max(times) / min(times):.2f}) "
              f"after generation {settled[0][0]}")


if __name__ == "__main__":
    main()
