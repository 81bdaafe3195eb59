"""From the first update message to ready: a MODEL-REF (Parquet X/ and Y/ with known items) followed by an UP message
for every one of its vectors, as the batch layer publishes a model, replayed by a fresh serving manager and update
consumer from the embedded update log (or Kafka with --kafka).

    python scripts/bench/bench_ready.py [--items 1000000] [--users 500000] [--features 50] [--kafka 127.0.0.1:9092]

The model is the one bench_model_load.py writes (reused when present). Reported: the seconds until the consumer has
replayed the log to its end and the model is ready, the messages replayed, and the same replay's ``json.loads`` of
the UP values alone as an anchor (the least any consumer of these JSON messages does).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench_restart import restart_to_ready  # noqa: E402
from bench_serving import make_data, write_model  # noqa: E402

from oryxpy.config import load_config  # noqa: E402
from oryxpy.messages import MODEL_REF, UP, up_value  # noqa: E402
from oryxpy.modelfiles import read_vector_table  # noqa: E402
from oryxpy.storage import LocalStorage  # noqa: E402
from oryxpy.topics import open_producer  # noqa: E402


def publish(config: object, uri: str, batch: int = 5000) -> tuple[int, float]:
    """MODEL-REF then every vector as an UP; returns (messages, seconds of json.loads over the UP values)."""
    storage = LocalStorage()
    base = uri.rsplit("/", 1)[0]
    count, parse_s = 1, 0.0
    with open_producer(config, "update") as producer:  # type: ignore[arg-type]
        producer.send_all([(MODEL_REF, uri)])
        for side in ("Y", "X"):
            table = read_vector_table(storage, f"{base}/{side}")
            ids, known = table.id_list(), table.known_lists()
            for start in range(0, len(ids), batch):
                stop = min(len(ids), start + batch)
                rows = table.matrix[start:stop]
                values = [up_value(side, ids[r], rows[r - start], known[r] if known is not None else None)
                          for r in range(start, stop)]
                started = time.perf_counter()
                for value in values:
                    json.loads(value)
                parse_s += time.perf_counter() - started
                producer.send_all([(UP, v) for v in values])
                count += len(values)
    return count, parse_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=500_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--root", default="/tmp/bench-model-load")
    parser.add_argument("--kafka", default="embedded", help="broker host:port (default: the embedded update log)")
    parser.add_argument("--reuse", nargs=2, metavar=("STATE_DIR", "TOPIC"),
                        help="replay an embedded log published by an earlier run instead of publishing one")
    args = parser.parse_args()
    root = Path(args.root) / f"{args.items}x{args.features}-{args.users}"
    uri = f"file:{root}/model/1/model.pmml"
    if not (root / "model" / "1" / "model.pmml").exists():
        x, y, known = make_data(args.items, args.users, args.features)
        write_model(root, x, y, known)
        del x, y, known
    if args.reuse:
        sets = [f"oryx.embedded.state-dir={args.reuse[0]}", f"oryx.update-topic.message.topic={args.reuse[1]}",
                "oryx.serving.min-model-load-fraction=1.0"]
        cpu_started = time.process_time()
        seconds, consumed = restart_to_ready(load_config(environ={}, sets=sets), timeout_s=3600)
        print(f"first message to ready: {seconds:.1f} s, {time.process_time() - cpu_started:.1f} s CPU all threads "
              f"({consumed} messages replayed from {args.reuse[0]})")
        return
    with tempfile.TemporaryDirectory(prefix="bench-ready-") as state:
        sets = [f"oryx.embedded.state-dir={state}", f"oryx.update-topic.broker={args.kafka}",
                f"oryx.update-topic.message.topic=OryxUpdateBench{uuid.uuid4().hex[:8]}",
                "oryx.serving.min-model-load-fraction=1.0"]
        config = load_config(environ={}, sets=sets)
        started = time.perf_counter()
        messages, parse_s = publish(config, uri)
        print(f"setup: {args.items} items x {args.features} features, {args.users} users, Poisson(20) known items; "
              f"{messages} messages published to {'the embedded log' if args.kafka == 'embedded' else 'Kafka ' + args.kafka} in "
              f"{time.perf_counter() - started:.0f} s")
        cpu_started = time.process_time()
        seconds, consumed = restart_to_ready(config, timeout_s=3600)
        print(f"first message to ready: {seconds:.1f} s, {time.process_time() - cpu_started:.1f} s CPU all threads "
              f"({consumed} messages replayed); json.loads of the UP values alone: {parse_s:.1f} s ({seconds / parse_s:.1f}x)")


if __name__ == "__main__":
    main()
