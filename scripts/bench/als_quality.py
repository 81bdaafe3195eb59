"""ALS benchmark, quality part: ml-100k protocol A with our defaults, after the built-in search, and anchors.

(The table over data sets of several shapes against a grid-tuned `implicit` is scripts/bench/quality_table.py.)"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from als_data import ml100k_protocol_a, ml100k_rows

from batch.als.engine import ALSParams, train_als
from batch.als.update import ALSUpdate
from batch.evaluation import ranking_metrics
from batch.search import from_config
from oryxpy.config import Config, default_config
from oryxpy.interfaces import INPUT_SCHEMA

SEARCH = {
    "oryx.als.hyperparams.features": [20, 50, 80],
    "oryx.als.hyperparams.lambda": [0.1, 0.25, 0.5],
    "oryx.als.hyperparams.alpha": [0.25, 0.5, 1.0],
    "oryx.ml.eval.candidates": 12,
    "oryx.ml.eval.hyperparam-search": "grid",
    "oryx.ml.eval.parallelism": 2,
}


def ours(train: sp.csr_matrix, config: Config, hyper: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    params = ALSParams(int(hyper["features"]), float(hyper["lambda"]), float(hyper["alpha"]), config["oryx.als.implicit"],
                       config["oryx.als.iterations"], config["oryx.als.seed"], config["oryx.als.cg-steps"])
    return train_als(train, params)


def searched_hyperparams(config: Config) -> tuple[dict[str, Any], float]:
    """Run the built-in search (ALSUpdate, Oryx's time split of the train data) and return what it chose."""
    users, items, ratings, stamps, train_mask = ml100k_rows()
    lines = [f"{u},{i},{r:g},{t}" for u, i, r, t in zip(users[train_mask], items[train_mask], ratings[train_mask],
                                                         stamps[train_mask], strict=True)]
    table = pa.table({"key": [None] * len(lines), "value": lines}, schema=INPUT_SCHEMA)
    with tempfile.TemporaryDirectory() as tmp:
        config = config.with_overrides({**SEARCH, "oryx.embedded.state-dir": tmp})
        started = time.perf_counter()
        ALSUpdate(config).run_update(int(time.time() * 1000), table, None, config.model_dir, None)
        seconds = time.perf_counter() - started
        [metrics_file] = Path(tmp, "model").glob("[0-9]*/metrics.json")
        return json.loads(metrics_file.read_text())["hyperparams"], seconds


def implicit_lib(train: sp.csr_matrix, factors: int, regularization: float, alpha: float,
                 iterations: int) -> tuple[np.ndarray, np.ndarray]:
    from implicit.cpu.als import AlternatingLeastSquares  # type: ignore[import-untyped]

    model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha, iterations=iterations,
                                    random_state=1, num_threads=2)
    model.fit(train, show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def quality_report(seed: int = 1) -> list[str]:
    train, test = ml100k_protocol_a()
    config = default_config().with_overrides({"oryx.als.seed": seed})
    # the centre of the default search space, alpha in units of the mean strength (oryx.als.strength-scale auto)
    centre = {name: from_config(config, f"oryx.als.hyperparams.{name}", False, log_scale=True).centre()
              for name in ("lambda", "alpha")}
    mean = float(train.data[train.data > 0].mean())
    features = from_config(config, "oryx.als.hyperparams.features", True, log_scale=True).centre()
    defaults = {"features": features, "lambda": centre["lambda"], "alpha": centre["alpha"] / mean}
    rows: list[tuple[str, dict[str, float]]] = []
    popularity = np.asarray((train > 0).sum(axis=0)).ravel().astype(np.float64)[:, None]
    rows.append(("most popular", ranking_metrics(np.ones((train.shape[0], 1)), popularity, test, train)))
    rows.append((f"oryxpy, centre of the default search {defaults}", ranking_metrics(*ours(train, config, defaults), test, train)))
    rows.append(("oryxpy, Oryx's defaults (features 10, lambda 0.001, alpha 1)",
                 ranking_metrics(*ours(train, config, {"features": 10, "lambda": 0.001, "alpha": 1.0}), test, train)))
    chosen, seconds = searched_hyperparams(config)
    rows.append((f"oryxpy after built-in search {chosen} ({SEARCH['oryx.ml.eval.candidates']} candidates, {seconds:.1f}s)",
                 ranking_metrics(*ours(train, config, chosen), test, train, 10)))
    rows.append(("implicit 0.7 defaults (factors 100, reg 0.01, alpha 1, 15 it)",
                 ranking_metrics(*implicit_lib(train, 100, 0.01, 1.0, 15), test, train)))
    rows.append(("implicit 0.7 tuned by hand on this test set (factors 50, reg 20, alpha 0.5, 15 it)",
                 ranking_metrics(*implicit_lib(train, 50, 20.0, 0.5, 15), test, train)))
    lines = [f"{'model':<100} ndcg@10 prec@10 rec@10  map@10"]
    for name, m in rows:
        lines.append(f"{name:<100} {m['ndcg@10']:.4f}  {m['precision@10']:.4f}  {m['recall@10']:.4f}  {m['map@10']:.4f}")
    return lines
