"""Serving at scale: exact search (batched across threads) and the faiss HNSW index against brute-force numpy, as the
catalogue grows; then HTTP throughput and the traffic mix against a real uvicorn, and UP messages applied per second
while queries run (in-process, and published to the HTTP server's update topic during the mix). Prints ratios to brute
force and writes a plot of cost against catalogue size.

    .venv/bin/python scripts/bench/bench_ann.py --sizes 100000,1000000 --exact-sizes 5000000 --http-items 1000000
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from oryxpy.malloc import prepare_allocators  # noqa: E402

prepare_allocators()  # before Arrow loads, as `oryxpy serving` does
from bench_serving import latency_report, make_data, rss_mb, run_threads, write_model  # noqa: E402
from topic_ups import TopicUps, item_ups, user_ups  # noqa: E402

from oryxpy.config import load_config  # noqa: E402
from oryxpy.messages import ModelRefMessage, VectorUpdate, decode, encode  # noqa: E402

QUERIES = 200
POLL = 1000  # messages per poll of the update consumer (its max_records)
EXTRA_SETS: list[str] = []  # --set KEY=VALUE: more settings for every model and server of the run


def config_for(mode: str, root: Path, port: int = 0, ef: int = 128):  # type: ignore[no-untyped-def]
    index = "hnsw" if mode == "hnsw" else "none"
    return load_config(environ={}, sets=[f"oryx.embedded.state-dir={root}/state", "oryx.update-topic.broker=embedded",
                                         f"oryx.serving.approximate-index={index}", f"oryx.serving.hnsw.ef-search={ef}",
                                         f"oryx.serving.api.port={port}", *EXTRA_SETS])


def recall(model, targets: np.ndarray, truth: list[set[str]]) -> float:  # type: ignore[no-untyped-def]
    from serving.vectors.queries import top_n

    return float(np.mean([len({i for i, _ in top_n(model, t, 10)} & s) / 10 for t, s in zip(targets, truth, strict=True)]))


def scale(args: argparse.Namespace) -> list[tuple[int, dict[str, float]]]:
    """In-process ms per query (1 thread) and queries/s (8 threads) at each catalogue size."""
    from serving.vectors.model import VectorServingModel
    from serving.vectors.queries import top_n

    rows = []
    exact_only = {int(s) for s in args.exact_sizes.split(",") if s}
    for items in sorted({int(s) for s in args.sizes.split(",")} | exact_only):
        rng = np.random.default_rng(7)
        y = rng.standard_normal((items, args.features), dtype=np.float32)
        targets = rng.standard_normal((QUERIES, args.features))
        ids = [f"I{i}" for i in range(items)]
        truth = []
        for t in targets:
            scores = y @ t.astype(np.float32)
            truth.append({ids[j] for j in np.argpartition(-scores, 10)[:10]})
        row: dict[str, float] = {}

        def brute(r: np.random.Generator, y: np.ndarray = y, targets: np.ndarray = targets) -> None:
            scores = y @ targets[r.integers(QUERIES)].astype(np.float32)
            top = np.argpartition(-scores, 10)[:10]
            top[np.argsort(-scores[top])]

        print(f"{items} items x {args.features}:")
        lat, wall = run_threads(brute, 1, args.seconds)
        row["brute_ms"] = 1000 * wall / max(len(lat), 1)
        row["brute_qps8"] = latency_report("brute-force numpy, 8 threads", *run_threads(brute, 8, args.seconds))
        modes = ["exact"] if items in exact_only and str(items) not in args.sizes.split(",") else ["exact", "hnsw"]
        for mode in modes:
            model = VectorServingModel(args.features, True, approximate_index="hnsw" if mode == "hnsw" else "none",
                                    hnsw_ef_search=args.ef)
            t = time.perf_counter()
            model.bulk_load_items(ids, y)
            if mode == "hnsw":
                model.ann_ready.wait()
                print(f"  hnsw graphs (dot product and cosine) built in {time.perf_counter() - t:.0f} s "
                      f"({model.ann.nbytes() / 2**20:.0f} MB with their vector copies)")  # type: ignore[union-attr]
                if items == args.http_items:  # the HTTP server serves the same items: spare it a second build
                    model.ann.save(f"{args.graph}")  # type: ignore[union-attr]

            def query(r: np.random.Generator, model: VectorServingModel = model, targets: np.ndarray = targets) -> None:
                top_n(model, targets[r.integers(QUERIES)], 10)

            lat, wall = run_threads(query, 1, args.seconds)
            row[f"{mode}_ms"] = 1000 * wall / max(len(lat), 1)
            row[f"{mode}_qps8"] = latency_report(f"{mode} top_n, 8 threads", *run_threads(query, 8, args.seconds),
                                                 row["brute_qps8"])
            row[f"{mode}_recall"] = recall(model, targets[:50], truth[:50])
            print(f"  {mode}: {row[f'{mode}_ms']:.2f} ms a query on 1 thread ({row['brute_ms']:.2f} brute force), "
                  f"recall@10 {row[f'{mode}_recall']:.3f}")
            del model
        rows.append((items, row))
    return rows


def plot(rows: list[tuple[int, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("brute_ms", "brute-force numpy"), ("exact_ms", "exact top_n"), ("hnsw_ms", "hnsw top_n")):
        points = [(n, r[key]) for n, r in rows if key in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set(xscale="log", yscale="log", xlabel="items (x 50 features)", ylabel="ms per query, 1 thread",
           title="Serving top-10 cost vs catalogue size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot written to {path}")


def serve(mode: str, root: Path, uri: str, port: int, ef: int, graph: str) -> None:
    """Child process: load the MODEL-REF, wait for the graph (or load the one the in-process step saved), serve."""
    import pandas  # noqa: F401 - before the baseline, as in bench_model_load: pyarrow imports it on a first conversion
    import pyarrow.parquet  # noqa: F401
    import uvicorn

    from serving.als.manager import ALSServingModelManager
    from serving.app import create_app
    from serving.layer import prepare_process

    config = config_for(mode, root, port, ef)
    prepare_process(config)
    from serving.vectors.ann import HNSWIndex
    from serving.vectors.model import VectorServingModel

    saved = mode == "hnsw" and Path(f"{graph}.ip").exists()
    if saved:
        VectorServingModel.rebuild_ann = lambda self, background=True: None  # type: ignore[method-assign]
    base = rss_mb()
    manager = ALSServingModelManager(config, lsh_seed=1)
    t = time.perf_counter()
    manager.consume(ModelRefMessage(uri))
    loaded = time.perf_counter() - t
    model = manager.get_model()
    if saved:
        model.install_ann(HNSWIndex.load(graph, ef))  # type: ignore[union-attr]
    if mode == "hnsw":
        model.ann_ready.wait()  # type: ignore[union-attr]
    print(f"LOADED {loaded:.1f} {time.perf_counter() - t:.1f} {rss_mb() - base:.0f}", flush=True)
    app = create_app(config, manager)  # its update consumer applies the UPs that http() publishes
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def http(args: argparse.Namespace) -> None:
    import http.client

    import httpx

    root = Path(tempfile.mkdtemp(prefix="bench-ann-"))
    x, y, known = make_data(args.http_items, args.users, args.features)
    uri = write_model(root, x, y, known)
    raw_mb = (x.nbytes + y.nbytes) / 2**20
    del x, y, known
    print(f"HTTP: {args.http_items} items, {args.users} users; real uvicorn in a separate process, {args.clients} clients "
          "(keep-alive http.client connections, one per client thread)")
    for mode in args.http_modes.split(","):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        sets = [arg for setting in args.set for arg in ("--set", setting)]
        server = subprocess.Popen([sys.executable, __file__, "--serve", mode, str(root), uri, str(port), str(args.ef),
                                   args.graph, *sets],
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline().split()  # type: ignore[union-attr]
            note = " (the graph the in-process step saved is loaded, not built)" if mode == "hnsw" else ""
            print(f" {mode}: MODEL-REF loaded in {line[1]} s, ready in {line[2]} s{note}; RSS growth "
                  f"{line[3]} MB = {float(line[3]) / raw_mb:.2f}x raw X+Y ({raw_mb:.0f} MB)")
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 120
            while True:
                try:
                    if httpx.get(f"{base}/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.time() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.2)
            local = threading.local()

            def get(path: str, method: str = "GET", local: threading.local = local, port: int = port) -> None:
                # the standard library's keep-alive client: a quarter of httpx's CPU per request (0.25 ms against
                # 1.4 ms here), which the load generator would otherwise take from the server on these 2 cores
                if not hasattr(local, "c"):
                    local.c = http.client.HTTPConnection("127.0.0.1", port)
                local.c.request(method, path, headers={"Accept": "application/json"})
                r = local.c.getresponse()
                r.read()
                assert r.status < 300, (path, r.status)

            def recommend(r: np.random.Generator) -> None:
                get(f"/recommend/U{r.integers(args.users)}")

            def mix(r: np.random.Generator) -> None:
                u = r.random()
                if u < 0.5:
                    get(f"/pref/U{r.integers(args.users)}/I{r.integers(args.http_items)}", "POST")
                elif u < 0.8:
                    get(f"/recommend/U{r.integers(args.users)}")
                else:
                    get(f"/similarity/I{r.integers(args.http_items)}")

            for clients in (int(c) for c in args.clients.split(",")):
                latency_report(f"GET /recommend, {mode}, {clients} clients", *run_threads(recommend, clients, args.seconds))
            latency_report(f"mix 50/30/20 pref/recommend/similarity, {mode}, 8 clients", *run_threads(mix, 8, args.seconds))
            if args.http_ups:
                topic_updates(args, config_for(mode, root), base, mix)
        finally:
            server.terminate()
            server.wait(30)


def topic_updates(args: argparse.Namespace, config: object, base: str, mix: object) -> None:
    """UPs published to the server's update topic while 8 clients send it the mix; applied per second, from /metrics."""
    kinds = (("users (new vectors + 1 known item)", user_ups(args.http_ups, args.users, args.http_items, args.features)),
             ("items (new vectors)", item_ups(args.http_ups, args.http_items, args.features)))
    for kind, values in kinds:
        ups = TopicUps(config, base, values)
        ups.start()
        latency_report("mix while the UPs arrive", *run_threads(mix, 8, args.seconds))
        ups.join(ups.timeout_s)
        within = "within the mix" if ups.seconds <= args.seconds else f"the mix ran the first {args.seconds:.0f} s"
        print(f"  UP {kind}, through the update topic: {ups.rate or 0:,.0f} applied/s ({len(values):,} in "
              f"{ups.seconds:.1f} s, {within}; published in {ups.publish_seconds:.1f} s)" if ups.rate else
              f"  UP {kind}: not all applied in {ups.timeout_s:.0f} s")


def updates(args: argparse.Namespace) -> None:
    """UP messages applied per second while 4 threads query: the update consumer's work per poll of 1,000 messages
    (the bulk check for repeats, JSON decoding of the rest, one call to apply them), the topic read excepted."""
    from serving.als.manager import ALSServingModelManager
    from serving.vectors.queries import top_n

    items, users = args.up_items, args.up_items // 2
    root = Path(tempfile.mkdtemp(prefix="bench-ann-up-"))
    x, y, known = make_data(items, users, args.features)
    uri = write_model(root, x, y, known)
    manager = ALSServingModelManager(config_for("hnsw", root, ef=args.ef))
    manager.consume(ModelRefMessage(uri))
    model = manager.get_model()
    model.ann_ready.wait()  # type: ignore[union-attr]
    rng = np.random.default_rng(1)
    stop = threading.Event()

    def reader() -> None:
        r = np.random.default_rng()
        while not stop.is_set():
            top_n(model, x[r.integers(users)], 10)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        def vector() -> np.ndarray:
            return rng.standard_normal(args.features).astype(np.float32)

        n = min(users, 20000)
        for name, messages in (
            ("repeating the MODEL-REF", [VectorUpdate("X", f"U{u}", x[u], tuple(known[u])) for u in range(n)]),
            ("new vectors of users + 1 known item", [VectorUpdate("X", f"U{u}", vector(), (f"I{rng.integers(items)}",))
                                                    for u in range(n)]),
            ("new users + 1 known item", [VectorUpdate("X", f"N{u}", vector(), (f"I{rng.integers(items)}",))
                                          for u in range(n)]),
            ("new vectors of items (graph)", [VectorUpdate("Y", f"I{i}", vector()) for i in range(5000)]),
            ("new items (graph)", [VectorUpdate("Y", f"J{i}", vector()) for i in range(5000)]),
        ):
            records = [encode(m) for m in messages]
            t = time.perf_counter()
            for start in range(0, len(records), POLL):  # the update consumer's work for each poll of the topic
                poll = records[start : start + POLL]
                repeats = manager.repeated_updates(poll)
                manager.consume_many([decode(*r) for r, repeat in zip(poll, repeats, strict=True) if not repeat])
            print(f"  UP {name}: {len(messages) / (time.perf_counter() - t):,.0f} applied/s with 4 query threads")
    finally:
        stop.set()
        for t in readers:
            t.join()


def main() -> None:
    parser = argparse.ArgumentParser(description="Random Gaussian vectors (the hard case for any ANN index).")
    parser.add_argument("--sizes", default="100000,1000000", help="catalogue sizes with exact and hnsw")
    parser.add_argument("--exact-sizes", default="5000000", help="extra sizes with exact search only")
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--users", type=int, default=500_000)
    parser.add_argument("--http-items", type=int, default=1_000_000, help="0: no HTTP part")
    parser.add_argument("--up-items", type=int, default=100_000, help="0: no UP part")
    parser.add_argument("--http-ups", type=int, default=50_000,
                        help="UPs of users, then of items, published to the server's update topic during a mix (0: none)")
    parser.add_argument("--clients", default="8")
    parser.add_argument("--http-modes", default="exact,hnsw")
    parser.add_argument("--ef", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--plot", default=str(Path(__file__).resolve().parent / "serving_scale.png"))
    parser.add_argument("--graph", default=str(Path(tempfile.gettempdir()) / f"bench-ann-graph-{os.getpid()}"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every model and server of the run (e.g. oryx.serving.scan-threads=1)")
    parser.add_argument("--serve", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    EXTRA_SETS.extend(args.set)
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]), args.serve[2], int(args.serve[3]), int(args.serve[4]), args.serve[5])
        return
    from serving.layer import prepare_process

    prepare_process(config_for("exact", Path(tempfile.gettempdir())))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} at start")
    if args.sizes:
        rows = scale(args)
        if args.plot:
            plot(rows, Path(args.plot))
    if args.up_items:
        updates(args)
    if args.http_items:
        http(args)
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} at end")


if __name__ == "__main__":
    main()
