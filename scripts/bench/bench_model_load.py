"""Serving model load and memory: a MODEL-REF (Parquet X/ and Y/ with known items) loaded by the serving manager.

    python scripts/bench/bench_model_load.py [--items 1000000] [--users 500000] [--features 50] [--root DIR] [--profile]

Random Gaussian vectors, Poisson(20) known items per user (as bench_serving.py). The model is written once under
--root (reused when present), then loaded in a fresh child process which reports the MODEL-REF load time, its RSS
growth and the model's own byte accounting, each as a ratio of the raw float32 X and Y. The anchor is pyarrow reading
the same Parquet files (every column) and numpy taking the vectors as float32 matrices (the least any loader must do).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from oryxpy.malloc import prepare_allocators  # noqa: E402

prepare_allocators()  # before Arrow loads, as `oryxpy serving` does
from bench_serving import make_data, rss_mb, write_model  # noqa: E402

POLL = 1000  # records per poll of the update consumer


def replay_ups(manager: Any, uri: str, storage: Any, chunk: int = 50_000) -> dict[str, float]:
    """Every vector of the MODEL-REF again as an UP message (``up_value``, as the batch layer publishes them), checked for
    repeats a poll at a time and the others decoded and applied by the manager; timed apart from building the messages. The anchor is ``json.loads`` of the same messages."""
    from oryxpy.messages import decode, up_value
    from oryxpy.modelfiles import read_vector_table

    base = uri.rsplit("/", 1)[0]
    applied = applied_cpu = decoded = decoded_cpu = 0.0
    count = 0
    for side in ("Y", "X"):
        table = read_vector_table(storage, f"{base}/{side}")
        ids, known = table.id_list(), table.known_lists()
        for start in range(0, len(ids), chunk):
            rows = range(start, min(len(ids), start + chunk))
            vectors = table.matrix[start : rows.stop]
            values = [up_value(side, ids[r], vectors[r - start], None if known is None else known[r]) for r in rows]
            started, cpu_started = time.perf_counter(), time.process_time()
            for value in values:
                json.loads(value)
            decoded += time.perf_counter() - started
            decoded_cpu += time.process_time() - cpu_started
            started, cpu_started = time.perf_counter(), time.process_time()
            for poll in range(0, len(values), POLL):  # as the update consumer does: repeats skipped, the rest applied
                batch = values[poll : poll + POLL]
                repeats = manager.repeated_updates([("UP", v) for v in batch])
                manager.consume_many([decode("UP", v) for v, repeat in zip(batch, repeats.tolist(), strict=True)
                                      if not repeat])
            applied += time.perf_counter() - started
            applied_cpu += time.process_time() - cpu_started
            count += len(values)
    return {"ups": count, "ups_s": applied, "ups_cpu_s": applied_cpu, "ups_json_s": decoded, "ups_json_cpu_s": decoded_cpu}


def child(uri: str, root: Path, profile: bool, ups: bool) -> None:
    """Load the MODEL-REF in this process; print one JSON line of results."""
    importlib.import_module("pandas")  # the serving app has it loaded (pyarrow imports it on its first conversion)
    import pyarrow.parquet  # noqa: F401 - imported before the baseline, so only the model counts

    from oryxpy.config import load_config
    from oryxpy.messages import ModelRefMessage
    from oryxpy.storage import LocalStorage
    from serving.als.manager import ALSServingModelManager
    from serving.layer import prepare_process

    config = load_config(environ={}, sets=[f"oryx.embedded.state-dir={root}/state", "oryx.update-topic.broker="])
    prepare_process(config)  # as the serving layer's process does
    manager = ALSServingModelManager(config)
    base = rss_mb()
    profiler = cProfile.Profile() if profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    manager.consume(ModelRefMessage(uri))
    if profiler:
        profiler.disable()
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    model = manager.get_model()
    assert model is not None and manager.is_ready()
    grown = rss_mb() - base
    storage = LocalStorage()
    started, cpu_started = time.perf_counter(), time.process_time()
    for side in ("X", "Y"):  # every column, as the loader needs them: the floor of any loader
        table = storage.read_parquet(f"{uri.rsplit('/', 1)[0]}/{side}")
        table.column("vector").combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
        del table
    anchor_s, anchor_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    replay = replay_ups(manager, uri, storage) if ups else {}
    print(json.dumps({**replay, "seconds": seconds, "cpu_s": cpu_s, "anchor_cpu_s": anchor_cpu_s, "rss_mb": grown, "model_mb": model.nbytes() / 2**20,
                      "anchor_items_s": anchor_s, "x_mb": model.X.nbytes() / 2**20,
                      "y_mb": model.Y.nbytes() / 2**20, "known_mb": model.known.nbytes() / 2**20, "users": len(model.X), "items": len(model.Y)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=500_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--root", default="/tmp/bench-model-load")
    parser.add_argument("--profile", action="store_true", help="cProfile the load (printed to stderr)")
    parser.add_argument("--ups", action="store_true", help="then replay every vector as an UP message")
    parser.add_argument("--child", nargs=2, metavar=("URI", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.profile, args.ups)
        return
    root = Path(args.root) / f"{args.items}x{args.features}-{args.users}"
    uri = f"file:{root}/model/1/model.pmml"
    raw_mb = (args.items + args.users) * args.features * 4 / 2**20
    if not (root / "model" / "1" / "model.pmml").exists():
        started = time.perf_counter()
        x, y, known = make_data(args.items, args.users, args.features)
        write_model(root, x, y, known)
        print(f"model written under {root} in {time.perf_counter() - started:.0f} s")
        del x, y, known
    print(f"setup: {args.items} items x {args.features} features, {args.users} users, Poisson(20) known items; "
          f"raw float32 X+Y = {raw_mb:.0f} MB")
    command = [sys.executable, __file__, "--child", uri, str(root)] + (["--profile"] if args.profile else []) + \
        (["--ups"] if args.ups else [])
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print(f"anchor: X/ and Y/ Parquet read (all columns), vectors as float32 matrices, in {result['anchor_items_s']:.2f} s "
          f"({result['anchor_cpu_s']:.2f} s CPU)")
    print(f"MODEL-REF load: {result['seconds']:.1f} s, {result['cpu_s']:.1f} s CPU, all threads "
          f"({result['seconds'] / result['anchor_items_s']:.1f}x the anchor); {result['users']} users, {result['items']} items")
    print(f"memory: RSS growth {result['rss_mb']:.0f} MB = {result['rss_mb'] / raw_mb:.2f}x raw; "
          f"model's own accounting {result['model_mb']:.0f} MB = {result['model_mb'] / raw_mb:.2f}x raw "
          f"(X {result['x_mb']:.0f} MB, Y {result['y_mb']:.0f} MB with their IDs, known items {result['known_mb']:.0f} MB)")
    if "ups" in result:
        per = result["ups_s"] / result["ups"] * 1e6
        print(f"{result['ups']} UP messages repeating the MODEL-REF, decoded and applied in {result['ups_s']:.1f} s "
              f"({per:.1f} us each; {result['ups_s'] / result['ups_json_s']:.1f}x json.loads of them alone, "
              f"{result['ups_json_s']:.1f} s); CPU {result['ups_cpu_s'] / result['ups'] * 1e6:.1f} us each, "
              f"json.loads {result['ups_json_cpu_s'] / result['ups'] * 1e6:.1f} us each")


if __name__ == "__main__":
    main()
