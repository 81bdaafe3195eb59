"""Serving benchmark after Oryx's LoadBenchmark: /recommend throughput, latency, recall, memory and MODEL-REF load time."""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from oryxpy.config import load_config  # noqa: E402
from oryxpy.messages import ModelRefMessage  # noqa: E402
from oryxpy.modelfiles import write_vectors  # noqa: E402
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml  # noqa: E402
from oryxpy.storage import LocalStorage  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def make_data(items: int, users: int, features: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((items, features), dtype=np.float32)
    x = rng.standard_normal((users, features), dtype=np.float32)
    counts = rng.poisson(20, users)
    flat = rng.integers(0, items, int(counts.sum()))
    item_ids = np.array([f"I{i}" for i in range(items)], dtype=object)
    known, start = [], 0
    for c in counts:
        known.append(item_ids[flat[start : start + c]].tolist())
        start += c
    return x, y, known


def write_model(root: Path, x: np.ndarray, y: np.ndarray, known: list[list[str]]) -> str:
    storage, model_dir = LocalStorage(), f"file:{root}/model/1"
    users, items = [f"U{u}" for u in range(len(x))], [f"I{i}" for i in range(len(y))]
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(ALSModelInfo(x.shape[1], True, users, items)))
    write_vectors(storage, f"{model_dir}/Y", items, y)
    write_vectors(storage, f"{model_dir}/X", users, x, known)
    return f"{model_dir}/model.pmml"


def config_for(mode: str, root: Path, port: int = 0):  # type: ignore[no-untyped-def]
    """``mode`` is a sample rate ("1.0", "0.3": exact or Oryx's LSH) or "ivf:PROBES" (the IVF index, sample-rate 1.0)."""
    ivf = mode.startswith("ivf:")
    extra = ["oryx.serving.approximate-index=ivf", f"oryx.serving.ivf.probes={mode[4:]}"] if ivf else []
    return load_config(environ={}, sets=[*extra, f"oryx.embedded.state-dir={root}/state",
                                         f"oryx.als.sample-rate={1.0 if ivf else float(mode)}",
                                         "oryx.update-topic.broker=", f"oryx.serving.api.port={port}"])


def load_manager(rate: str, root: Path, uri: str):  # type: ignore[no-untyped-def]
    from serving.als.manager import ALSServingModelManager

    manager = ALSServingModelManager(config_for(rate, root), lsh_seed=1)
    started = time.perf_counter()
    manager.consume(ModelRefMessage(uri))
    return manager, time.perf_counter() - started


def serve(rate: str, root: Path, uri: str, port: int) -> None:
    """Child process: load the model from the MODEL-REF, report load time and memory, serve HTTP."""
    import pyarrow.parquet  # noqa: F401 - imported before the baseline, so only the model counts
    import uvicorn

    from serving.app import create_app
    from serving.layer import prepare_process

    prepare_process(config_for(rate, root))
    base = rss_mb()
    manager, seconds = load_manager(rate, root, uri)
    print(f"LOADED {seconds:.1f} {rss_mb() - base:.0f} {manager.get_model().nbytes() / 2**20:.0f}", flush=True)
    app = create_app(config_for(rate, root, port), manager, consume_updates=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def latency_report(name: str, latencies: list[float], wall: float, anchor: float | None = None) -> float:
    if not latencies:
        print(f"  {name:<44} no request completed (the first of each client is not counted)")
        return 0.0
    ms = np.array(latencies) * 1000
    qps = len(latencies) / wall
    ratio = f"  ({qps / anchor:.2f}x brute force)" if anchor else ""
    print(f"  {name:<44} {qps:8.1f} req/s   p50 {np.percentile(ms, 50):6.1f} ms   p99 {np.percentile(ms, 99):6.1f} ms{ratio}")
    return qps


def run_threads(fn, threads: int, seconds: float) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        mine = []
        while time.perf_counter() < stop:
            t = time.perf_counter()
            fn(rng)
            mine.append(time.perf_counter() - t)
        latencies.extend(mine[1:])  # the first request of each worker is excluded, as in LoadBenchmark

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(s,)) for s in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(
        "Random Gaussian vectors, Poisson(20) known items per user. Measures /recommend as in-process model calls and "
        "over HTTP against a real uvicorn (a separate process that loads the model from a MODEL-REF with Parquet X/ "
        "and Y/) at sample-rate 1.0 and 0.3, with a brute-force numpy anchor. Numbers are noisy on a shared machine."))
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=500_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="4,8", help="concurrent HTTP clients, comma-separated")
    parser.add_argument("--ivf-probes", default="100,200,300,400", help="IVF probes to measure, comma-separated")
    parser.add_argument("--serve", nargs=4, metavar=("RATE", "ROOT", "URI", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]), args.serve[2], int(args.serve[3]))
        return
    from serving.layer import prepare_process
    from serving.vectors.model import VectorServingModel
    from serving.vectors.queries import top_n

    prepare_process(config_for("1.0", Path(tempfile.gettempdir())))

    print(f"setup: {args.items} items x {args.features} features, {args.users} users, Poisson(20) known items; "
          f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), shared machine: numbers are noisy")
    root = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    t = time.perf_counter()
    x, y, known = make_data(args.items, args.users, args.features)
    uri = write_model(root, x, y, known)
    raw_mb = (x.nbytes + y.nbytes) / 2**20
    print(f"data generated and written as MODEL-REF Parquet in {time.perf_counter() - t:.0f} s; raw float32 X+Y = {raw_mb:.0f} MB")
    item_ids, user_ids = [f"I{i}" for i in range(args.items)], [f"U{u}" for u in range(args.users)]

    # anchor: brute force numpy over a plain matrix, no IDs, no exclusions
    def brute(rng: np.random.Generator) -> None:
        scores = y @ x[rng.integers(len(x))]
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]

    print("in-process model calls (models built from the arrays; 1, 2 and 4 concurrent threads):")
    anchor = {n: latency_report(f"brute-force numpy y @ x + argpartition, {n} thr", *run_threads(brute, n, args.seconds))
              for n in (1, 2)}
    results: dict[float, dict[int, list[str]]] = {}
    for rate in (1.0, 0.3, 0.5):
        model = VectorServingModel(args.features, True, rate, lsh_seed=1)
        t = time.perf_counter()
        model.bulk_load_items(item_ids, y)
        model.bulk_load_users(user_ids, x, known)
        print(f" sample-rate {rate}: built in {time.perf_counter() - t:.0f} s; {model.lsh.num_hashes} hashes, "
              f"{model.lsh.max_bits_differing} bits differing, {len(model.Y.blocks)} item block(s)")

        def recommend(rng: np.random.Generator, model=model) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
            user = user_ids[rng.integers(args.users)]
            return top_n(model, model.user_vector(user), 10, model.known_items(user))

        for n in (1, 2, 4, 8) if rate == 1.0 else (1, 2, 4) if rate != 0.5 else (1,):
            latency_report(f"/recommend model call, rate {rate}, {n} thr", *run_threads(recommend, n, args.seconds),
                           anchor[min(n, 2)])
        results[rate] = {k: [i for i, _ in recommend(np.random.default_rng(k))] for k in range(200)}
        del model
    for rate in (0.3, 0.5):
        recall = np.mean([len(set(results[1.0][u]) & set(results[rate][u])) / 10 for u in results[1.0]])
        print(f"recall@10 of sample-rate {rate} vs exact over 200 users: {recall:.3f}")
    ivf_bench(args, x, y, known, results[1.0], anchor)
    http_bench(args, root, uri, raw_mb)


def ivf_bench(args: argparse.Namespace, x: np.ndarray, y: np.ndarray, known: list[list[str]],
              exact: dict[int, list[str]], anchor: dict[int, float]) -> None:
    """oryx.serving.approximate-index = ivf: build time, then recall@10 vs exact and req/s for each probes value."""
    from serving.vectors.model import VectorServingModel
    from serving.vectors.queries import top_n

    item_ids, user_ids = [f"I{i}" for i in range(args.items)], [f"U{u}" for u in range(args.users)]
    model = VectorServingModel(args.features, True, 1.0, lsh_seed=1, approximate_index="ivf")
    t = time.perf_counter()
    model.bulk_load_items(item_ids, y)
    model.bulk_load_users(user_ids, x, known)
    assert model.ivf is not None
    print(f" approximate-index ivf: built in {time.perf_counter() - t:.0f} s; {model.ivf.lists} lists")

    def recommend(rng: np.random.Generator) -> list[tuple[str, float]]:
        user = user_ids[rng.integers(args.users)]
        return top_n(model, model.user_vector(user), 10, model.known_items(user))  # type: ignore[arg-type]

    for probes in (int(p) for p in args.ivf_probes.split(",")):
        model.ivf.probes = min(probes, model.ivf.lists)
        found = {k: [i for i, _ in recommend(np.random.default_rng(k))] for k in exact}
        recall = np.mean([len(set(exact[u]) & set(found[u])) / 10 for u in exact])
        print(f"  ivf probes {probes} ({probes / model.ivf.lists:.0%} of lists): recall@10 vs exact {recall:.3f}")
        for n in (1, 2, 4):
            latency_report(f"/recommend model call, ivf {probes}, {n} thr", *run_threads(recommend, n, args.seconds),
                           anchor[min(n, 2)])


def http_bench(args: argparse.Namespace, root: Path, uri: str, raw_mb: float) -> None:
    import httpx

    print(f"HTTP: real uvicorn on 127.0.0.1 (separate process), {args.clients} concurrent clients, Accept: application/json")
    for rate in ("1.0", "0.3", "ivf:300"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(rate), str(root), uri, str(port)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline().split()  # type: ignore[union-attr]
            print(f" sample-rate {rate}: server loaded the MODEL-REF in {line[1]} s; model memory (RSS growth) "
                  f"{line[2]} MB = {float(line[2]) / raw_mb:.2f}x raw X+Y ({line[3]} MB by the model's own accounting: "
                  "vectors, norms, ID tables and known items; the rest allocator slack)")
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            while True:
                try:
                    if httpx.get(f"{base}/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.time() < deadline, "server did not start"
                time.sleep(0.2)
            clients = threading.local()

            def call(rng: np.random.Generator, clients: threading.local = clients, base: str = base) -> None:
                if not hasattr(clients, "c"):
                    clients.c = httpx.Client(base_url=base, headers={"Accept": "application/json"})
                r = clients.c.get(f"/recommend/U{rng.integers(args.users)}")
                assert r.status_code == 200

            for count in (int(c) for c in args.clients.split(",")):
                latency_report(f"GET /recommend over HTTP, {rate}, {count} clients",
                               *run_threads(call, count, args.seconds))
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
