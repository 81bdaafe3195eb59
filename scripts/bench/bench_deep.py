"""Two-tower model vs ALS vs hybrid on ml-latest-small (protocol A), cold items, and seconds per epoch."""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from batch.als.engine import ALSParams, train_als
from batch.deep.hybrid import concat_models
from batch.deep.trainer import TowerParams, train_two_tower
from batch.evaluation import ranking_metrics, top_k
from batch.search import from_config
from oryxpy.config import load_config
from oryxpy.content import ItemContent, hashed_features, validate_content

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "ml-latest-small"


def load(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[ItemContent]]:
    """(user index, item index) of every rating, user and item IDs, and each item's content (title, genres, tags)."""
    users, items = [], []
    with open(folder / "ratings.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            users.append(row["userId"])
            items.append(row["movieId"])
    user_ids, u = np.unique(np.array(users), return_inverse=True)
    item_ids, i = np.unique(np.array(items), return_inverse=True)
    tags: dict[str, set[str]] = defaultdict(set)
    with open(folder / "tags.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            tags[row["movieId"]].add(row["tag"].strip().lower())
    attributes = {}
    with open(folder / "movies.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            attributes[row["movieId"]] = {"title": row["title"], "genres": row["genres"].split("|"),
                                          "tags": sorted(tags.get(row["movieId"], ()))}
    contents = [validate_content(str(m), attributes[str(m)]) for m in item_ids]
    return u, i, list(user_ids), list(item_ids), contents


def binary(u: np.ndarray, i: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=shape)
    m.data[:] = 1.0
    return m


def protocol_a(u: np.ndarray, i: np.ndarray, seed: int = 42) -> np.ndarray:
    """Test mask: per item, a random 25 % of its ratings (75 % stay in training)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(u), dtype=bool)
    order = np.argsort(i, kind="stable")
    for group in np.split(order, np.flatnonzero(np.diff(i[order])) + 1):
        group = rng.permutation(group)
        test[group[int(round(0.75 * len(group))):]] = True
    return test


def deep_params(config_sets: list[str]) -> tuple[TowerParams, int]:
    config = load_config(sets=config_sets, environ={})
    return TowerParams(int(config["oryx.deep.hyperparams.features"]), float(config["oryx.deep.hyperparams.learning-rate"]),
                       float(config["oryx.deep.hyperparams.l2"]), float(config["oryx.deep.hyperparams.id-dropout"]),
                       config["oryx.deep.epochs"], config["oryx.deep.batch-size"], config["oryx.deep.negatives"],
                       config["oryx.deep.hidden"], config["oryx.deep.user-embedding"], 42), config["oryx.deep.hash-buckets"]


def als_model(train: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, float]:
    config = load_config(environ={})
    lam, alpha = (from_config(config, f"oryx.als.hyperparams.{name}", False, log_scale=True).centre() for name in ("lambda", "alpha"))
    features = from_config(config, "oryx.als.hyperparams.features", True, log_scale=True).centre()
    params = ALSParams(features, lam, alpha, True, config["oryx.als.iterations"], 42,
                       config["oryx.als.cg-steps"])
    started = time.perf_counter()
    x, y = train_als(train, params)
    return x, y, (time.perf_counter() - started) / params.iterations


def row(name: str, metrics: dict[str, float]) -> str:
    return f"  {name:<28} " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="oryx.deep.* overrides")
    args = parser.parse_args()
    u, i, user_ids, item_ids, contents = load(args.data)
    shape = (len(user_ids), len(item_ids))
    params, buckets = deep_params(args.set)
    features = hashed_features(contents, buckets)
    print(f"setup: {args.data.name}: {len(u)} ratings, {shape[0]} users x {shape[1]} items, content = title words, "
          f"genres, tags; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), numpy only")
    print(f"  deep: {params}, {buckets} hash buckets; ALS: oryxpy defaults (local engine)")

    # 1. protocol A
    test = protocol_a(u, i)
    train, relevant = binary(u[~test], i[~test], shape), binary(u[test], i[test], shape)
    x_a, y_a, als_s = als_model(train)
    started = time.perf_counter()
    deep = train_two_tower(train, features, params)
    deep_total = time.perf_counter() - started
    y_d = deep.item_vectors(features)
    x_d = deep.user_vectors(train, y_d)
    pop = np.asarray(train.sum(axis=0)).ravel().astype(np.float32)[:, None]
    print("\nprotocol A (per item 75 % train, seed 42), all test ratings relevant, train items excluded:")
    print(row("most popular", ranking_metrics(np.ones((shape[0], 1), np.float32), pop, relevant, train)))
    print(row("ALS", ranking_metrics(x_a, y_a, relevant, train)))
    print(row("two-tower", ranking_metrics(x_d, y_d, relevant, train)))
    for weight in (0.25, 0.5, 0.75):
        x_h, y_h = concat_models(x_a, y_a, x_d, y_d, weight)
        print(row(f"hybrid concat, {weight:.2f} ALS", ranking_metrics(x_h, y_h, relevant, train)))

    # 2. cold items: 10 % of the items never seen in training, content only
    rng = np.random.default_rng(42)
    cold = np.zeros(shape[1], dtype=bool)
    cold[rng.choice(shape[1], shape[1] // 10, replace=False)] = True
    warm_rows = ~cold[i]
    warm_train = binary(u[warm_rows], i[warm_rows], shape)
    cold_relevant = binary(u[~warm_rows], i[~warm_rows], shape)
    cold_deep = train_two_tower(warm_train, features, params)
    y_c = cold_deep.item_vectors(features)  # cold items: content tower only (no ID embedding was trained)
    x_c = cold_deep.user_vectors(warm_train, y_c)
    xa_c, ya_c, _ = als_model(warm_train)  # cold items have no interactions: zero vectors, never recommended
    pop_c = np.asarray(warm_train.sum(axis=0)).ravel().astype(np.float32)[:, None]
    users = np.flatnonzero(np.diff(cold_relevant.indptr) > 0)
    print(f"\ncold items: {int(cold.sum())} items ({int((~warm_rows).sum())} ratings) held out entirely, content only; "
          f"{len(users)} users who rated them; recall@10 over all items (train items excluded):")
    print(row("most popular", {"recall@10": ranking_metrics(np.ones((shape[0], 1), np.float32), pop_c, cold_relevant, warm_train)["recall@10"]}))
    print(row("ALS (cannot see them)", {"recall@10": ranking_metrics(xa_c, ya_c, cold_relevant, warm_train)["recall@10"]}))
    print(row("two-tower", {"recall@10": ranking_metrics(x_c, y_c, cold_relevant, warm_train)["recall@10"]}))
    cold_index = np.flatnonzero(cold)
    among = cold_relevant[:, cold_index]
    hits = top_k(x_c, y_c[cold_index], users, None, 10)
    recall = np.mean([among[user, hits[n]].sum() / among[user].sum() for n, user in enumerate(users)])
    print(row("two-tower, among cold only", {"recall@10": float(recall)}))
    print(row("random, among cold only", {"recall@10": 10 / len(cold_index)}))

    print(f"\ntraining time: two-tower {deep.seconds_per_epoch:.2f} s per epoch ({params.epochs} epochs, "
          f"{deep_total:.1f} s in all, {train.nnz} training pairs); ALS {als_s:.2f} s per iteration")


if __name__ == "__main__":
    main()
