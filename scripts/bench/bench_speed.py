"""Speed-layer benchmarks: fold-in throughput of build_updates (vs a naive per-record loop) and input-to-UP latency."""

# Usage: .venv/bin/python scripts/bench/bench_speed.py [--items 1000000] [--users 200000] [--features 50]
#        [--interactions 100000] [--latency-seconds 15] [--rate 1000] [--kafka 127.0.0.1:9092] [--embedded-end-to-end]

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from oryxpy.als import compute_updated_xu  # noqa: E402
from oryxpy.config import Config, load_config  # noqa: E402
from oryxpy.messages import MODEL, UP, decode, up_value  # noqa: E402
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml  # noqa: E402
from oryxpy.records import parse_interaction  # noqa: E402
from oryxpy.topics import open_consumer, open_producer, setup_topics  # noqa: E402
from speed.als.encoding import up_texts  # noqa: E402
from speed.als.manager import ALSSpeedModelManager  # noqa: E402
from speed.als.model import ALSSpeedModel  # noqa: E402
from speed.runner import SpeedLayer  # noqa: E402


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}"


def random_model(users: int, items: int, features: int, seed: int = 1) -> ALSSpeedModel:
    rng = np.random.default_rng(seed)
    model = ALSSpeedModel(features, True, False, math.nan)
    scale = 1 / math.sqrt(features)
    model.set_item_vectors([f"I{n}" for n in range(items)], rng.normal(scale=scale, size=(items, features)).astype(np.float32))
    model.set_user_vectors([f"U{n}" for n in range(users)], rng.normal(scale=scale, size=(users, features)).astype(np.float32))
    return model


def interactions(count: int, users: int, items: int, new_fraction: float = 0.1, seed: int = 2) -> list[str]:
    """Lines ``user,item,1,ts``: existing users and items, with ``new_fraction`` new users and items."""
    rng = np.random.default_rng(seed)
    user_ids = rng.integers(0, users, count)
    item_ids = rng.integers(0, items, count)
    new_user = rng.random(count) < new_fraction
    new_item = rng.random(count) < new_fraction
    now = int(time.time() * 1000)
    return [f"{'N' if nu else 'U'}{u},{'M' if ni else 'I'}{i},1,{now + n}"
            for n, (u, i, nu, ni) in enumerate(zip(user_ids.tolist(), item_ids.tolist(), new_user, new_item, strict=True))]


def bench_throughput(config: Config, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    model = random_model(args.users, args.items, args.features)
    manager = ALSSpeedModelManager(config)
    manager.model = model
    model.solvers()
    print(f"model: {args.users:,} users x {args.items:,} items x {args.features} features, built with X'X and Y'Y "
          f"in {time.perf_counter() - started:.1f} s")
    lines = interactions(args.interactions, args.users, args.items)
    batch = int(config["oryx.speed.max-batch-size"])
    manager.build_updates(lines[:batch])  # warm-up
    started, cpu_started = time.perf_counter(), time.process_time()
    produced = 0
    for start in range(0, len(lines), batch):
        produced += len(manager.build_updates(lines[start : start + batch]))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    fast = len(lines) / elapsed
    print(f"build_updates (vectorized, batches of {batch}, one thread): {len(lines):,} interactions "
          f"-> {produced:,} UPs in {elapsed:.2f} s = {fast:,.0f} interactions/s wall; CPU {cpu / len(lines) * 1e6:.1f} us "
          f"per interaction (all threads) = {len(lines) / cpu:,.0f}/s per core busy")
    naive_count = min(len(lines), 5000)
    started, cpu_started = time.perf_counter(), time.process_time()
    xtx, yty = model.solvers()
    for line in lines[:naive_count]:
        event = parse_interaction(line)
        xu, yi = model.x.get(event.user), model.y.get(event.item)
        new_xu = compute_updated_xu(yty, event.strength or 0.0, xu, yi, True)
        new_yi = compute_updated_xu(xtx, event.strength or 0.0, yi, xu, True)
        if new_xu is not None:
            up_value("X", event.user, new_xu, [event.item])
        if new_yi is not None:
            up_value("Y", event.item, new_yi, [event.user])
    naive = naive_count / (time.perf_counter() - started)
    naive_cpu = (time.process_time() - cpu_started) / naive_count
    print(f"naive per-record loop (compute_updated_xu + up_value): {naive:,.0f} interactions/s wall, CPU {naive_cpu * 1e6:.1f} us "
          f"per interaction; vectorized is {fast / naive:.1f}x (wall), {naive_cpu / (cpu / len(lines)):.1f}x (CPU)")
    bench_update_consumption(manager, args.features)
    if args.embedded_end_to_end:
        bench_embedded_throughput(config, manager, lines)


def bench_update_consumption(manager: ALSSpeedModelManager, features: int, count: int = 100_000) -> None:
    """Decoding and applying UP messages, as when a model is loaded from the update topic."""
    rng = np.random.default_rng(4)
    vectors = rng.normal(scale=0.1, size=(count, features)).astype(np.float32)
    texts = up_texts("Y", [f"I{n}" for n in range(count)], vectors, None)
    started = time.perf_counter()
    for text in texts:
        manager.consume(decode(UP, text))
    elapsed = time.perf_counter() - started
    print(f"update topic: {count:,} UP messages decoded and applied in {elapsed:.2f} s = {count / elapsed:,.0f}/s")


def bench_embedded_throughput(config: Config, manager: ALSSpeedModelManager, lines: list[str]) -> None:
    """Through the embedded topics: input already queued, the layer folds it in and publishes the UPs."""
    with open_producer(config, "input") as producer:
        for start in range(0, len(lines), 10_000):
            producer.send_all([(None, line) for line in lines[start : start + 10_000]])
    config = config.with_overrides({"oryx.id": f"bench-{uuid.uuid4().hex[:6]}"})
    layer = SpeedLayer(config, manager)
    with open_consumer(config, "input", config.group_id("SpeedLayer"), "earliest") as pin:  # start at the queued input
        pin.wait_ready()
        pin.commit()
    started = time.perf_counter()
    layer.start()
    while layer.counters.input_records < len(lines):
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    layer.stop()
    print(f"end to end on embedded topics (read input, fold in, publish UPs, commit): {len(lines):,} interactions in "
          f"{elapsed:.2f} s = {len(lines) / elapsed:,.0f} interactions/s, {layer.counters.updates_published:,} UPs")


def small_model_messages(users: int, items: int, features: int) -> list[tuple[str, str]]:
    model = random_model(users, items, features)
    info = ALSModelInfo(features, True, [f"U{n}" for n in range(users)], [f"I{n}" for n in range(items)])
    messages = [(MODEL, als_model_to_pmml(info))]
    messages += [(UP, up_value("Y", i, v)) for i, v in zip(model.y.ids(), model.y.vectors(), strict=True)]
    messages += [(UP, up_value("X", u, v)) for u, v in zip(model.x.ids(), model.x.vectors(), strict=True)]
    return messages


def bench_latency(config: Config, label: str, args: argparse.Namespace) -> None:
    """Input send -> UP on the update topic at a steady rate, with the layer in its own process."""
    users, items = 20_000, 20_000
    with open_producer(config, "update") as producer:
        producer.send_all(small_model_messages(users, items, args.features))
    sets = [f"{key}={value}" for key, value in (
        ("oryx.embedded.state-dir", config.state_dir), ("oryx.input-topic.broker", config["oryx.input-topic.broker"]),
        ("oryx.update-topic.broker", config["oryx.update-topic.broker"]),
        ("oryx.input-topic.message.topic", config["oryx.input-topic.message.topic"]),
        ("oryx.update-topic.message.topic", config["oryx.update-topic.message.topic"]))]
    command = [sys.executable, "-m", "speed", "--log-level", "WARNING"] + [a for s in sets for a in ("--set", s)]
    layer = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    reader = open_consumer(config, "update", None, "latest")
    reader.wait_ready()
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    try:
        with open_producer(config, "input") as producer:
            wait_until_processing(producer, reader)
            stop = threading.Event()

            def read() -> None:
                while not stop.is_set():
                    for record in reader.poll(0.05, 1000):
                        if record.key == UP and record.value.startswith('["X","L'):
                            received.setdefault(json.loads(record.value)[1], time.perf_counter())

            thread = threading.Thread(target=read, daemon=True)
            thread.start()
            rng = np.random.default_rng(3)
            tick, per_tick = 0.01, max(1, round(args.rate * 0.01))
            started = time.perf_counter()
            n = 0
            while time.perf_counter() - started < args.latency_seconds:
                due = started + (n // per_tick) * tick
                time.sleep(max(0.0, due - time.perf_counter()))
                batch = [f"L{n + j},I{int(rng.integers(items))},1,{int(time.time() * 1000)}" for j in range(per_tick)]
                now = time.perf_counter()
                producer.send_all([(None, line) for line in batch])
                sent.update((f"L{n + j}", now) for j in range(per_tick))
                n += per_tick
            deadline = time.perf_counter() + 10
            while len(received) < len(sent) and time.perf_counter() < deadline:
                time.sleep(0.05)
            stop.set()
            thread.join()
    finally:
        layer.send_signal(signal.SIGTERM)
        layer.wait(30)
        reader.close()
    latencies = np.array([received[k] - sent[k] for k in sent if k in received]) * 1000
    print(f"latency on {label} ({users:,} users x {items:,} items x {args.features} features, {args.rate}/s for "
          f"{args.latency_seconds:.0f} s, layer in its own process): {len(latencies):,}/{len(sent):,} received, "
          f"p50 {np.percentile(latencies, 50):.1f} ms, p95 {np.percentile(latencies, 95):.1f} ms, "
          f"p99 {np.percentile(latencies, 99):.1f} ms")


def wait_until_processing(producer: object, reader: object, timeout_s: float = 120) -> None:
    """Send a probe until the layer (still loading its model) answers it."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        producer.send_all([(None, f"probe,I0,1,{int(time.time() * 1000)}")])  # type: ignore[attr-defined]
        if any(r.key == UP for r in reader.poll(1.0, 1000)):  # type: ignore[attr-defined]
            while reader.poll(0.3, 1000):  # type: ignore[attr-defined]
                pass
            return
    raise TimeoutError("the speed layer did not start folding in input")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--latency-seconds", type=float, default=15)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--embedded-end-to-end", action="store_true")
    args = parser.parse_args()
    threadpool_limits(1, user_api="blas")  # as speed.layer.run does
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as state:
        config = load_config(environ={}, sets=[f"oryx.embedded.state-dir={state}"])
        if not args.skip_throughput:
            bench_throughput(config, args)
    if args.skip_latency:
        return
    with tempfile.TemporaryDirectory() as state:
        bench_latency(load_config(environ={}, sets=[f"oryx.embedded.state-dir={state}"]), "embedded topics", args)
    with tempfile.TemporaryDirectory() as state:
        suffix = uuid.uuid4().hex[:8]
        config = load_config(environ={}, sets=[
            f"oryx.embedded.state-dir={state}", f"oryx.input-topic.broker={args.kafka}", f"oryx.update-topic.broker={args.kafka}",
            f"oryx.input-topic.message.topic=BenchInput-{suffix}", f"oryx.update-topic.message.topic=BenchUpdate-{suffix}"])
        setup_topics(config)
        bench_latency(config, f"Kafka {args.kafka}", args)


if __name__ == "__main__":
    main()
