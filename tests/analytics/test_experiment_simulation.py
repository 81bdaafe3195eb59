"""A/B and A/A simulations on ml-100k at the analysis level (issue 17): users assigned by the stable hash, served the
top 10 of their variant's model, and converting through their held-out (later) interactions within the window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from batch.als.engine import ALSParams, train_als
from oryxpy.analytics.experiment import ExperimentAnalysis
from serving.experiments.variants import Variant, assign

WINDOW_S = 3600
HOLD_OUT = 0.2  # the last fifth of each user's interactions, by time, are the simulated future


class World:
    """ml-100k split per user by time; the top-10 lists of ALS and of popularity for every user."""

    def __init__(self, path: Path):
        data = np.loadtxt(path, dtype=np.int64)
        data = data[np.lexsort((data[:, 3], data[:, 0]))]
        users, items = data[:, 0], data[:, 1]
        train = np.zeros(len(data), dtype=bool)
        self.held_out: dict[str, list[str]] = {}
        for u in np.unique(users):
            rows = np.flatnonzero(users == u)
            cut = int(len(rows) * (1 - HOLD_OUT))
            train[rows[:cut]] = True
            self.held_out[str(u)] = [str(i) for i in items[rows[cut:]]]
        shape = (int(users.max()) + 1, int(items.max()) + 1)
        matrix = sp.csr_matrix((np.ones(int(train.sum())), (users[train], items[train])), shape=shape)
        x, y = train_als(matrix, ALSParams(features=20, lambda_=0.1, alpha=1.0, iterations=10, seed=1))
        scores = x.astype(np.float64) @ y.T.astype(np.float64)
        scores[matrix.nonzero()] = -np.inf
        scores[:, 0] = -np.inf  # no item 0 in ml-100k
        counts = np.asarray(matrix.sum(axis=0)).ravel()
        by_popularity = np.argsort(-counts, kind="stable")
        self.lists: dict[str, dict[str, list[str]]] = {"als": {}, "popular": {}}
        for user in self.held_out:
            u = int(user)
            self.lists["als"][user] = [str(j) for j in np.argsort(-scores[u], kind="stable")[:10]]
            known = set(matrix[u].indices)
            self.lists["popular"][user] = [str(j) for j in by_popularity if j not in known][:10]


@pytest.fixture(scope="module")
def world(shared_data: Callable[[str], Path]) -> World:
    return World(shared_data("ml-100k/u.data"))


def simulate(world: World, variants: list[Variant], model_of: dict[str, str]) -> dict:
    """Every user visits once at a time of their own, is served by their variant, then acts out their held-out
    interactions during the next window (the served-items stream read after the input, as a lagging consumer would)."""
    analysis = ExperimentAnalysis([v.name for v in variants], WINDOW_S, significance=0.01)
    rng = np.random.default_rng(len(variants[0].salt))
    served = []
    for n, (user, future) in enumerate(world.held_out.items()):
        start = n * 10.0
        variant = assign(variants, user).name
        served.append((user, variant, world.lists[model_of[variant]][user], start))
        for k, item in enumerate(future):
            analysis.interaction(user, item, start + 1 + k * float(rng.uniform(1, 5)))
    for user, variant, items, at in served:
        analysis.served(user, variant, items, at)
    return analysis.results()


def test_ab_names_als_the_winner(world: World) -> None:
    variants = [Variant("popular", "UpdatePop", 50, "ab-1"), Variant("als", "UpdateALS", 50, "")]
    result = simulate(world, variants, {"popular": "popular", "als": "als"})
    als = result["variants"][1]
    assert result["winner"] == "als", result
    assert als["p_value"] < 0.05 and als["verdict"] == "better"
    assert als["exposures"] + result["variants"][0]["exposures"] == len(world.held_out)
    assert 0.6 < als["rate"] < 0.8 and 0.45 < result["variants"][0]["rate"] < 0.65, result
    low, high = als["interval"]
    assert low < als["rate"] < high and high - low < 0.1


def test_ab_with_als_as_control_names_control(world: World) -> None:
    variants = [Variant("als", "UpdateALS", 1, "ab-2"), Variant("popular", "UpdatePop", 1, "")]
    result = simulate(world, variants, {"popular": "popular", "als": "als"})
    assert result["winner"] == "als" and result["variants"][1]["verdict"] == "worse"


def test_aa_declares_no_winner_in_95_percent_of_seeded_runs(world: World) -> None:
    runs, winners = 100, 0
    for seed in range(runs):
        variants = [Variant("a", "Update", 50, f"aa-{seed}"), Variant("b", "Update", 50, "")]
        result = simulate(world, variants, {"a": "als", "b": "als"})
        counts = [v["exposures"] for v in result["variants"]]
        assert min(counts) > 0.4 * sum(counts)  # the hash splits about evenly
        winners += result["winner"] is not None
    assert winners <= 0.05 * runs, f"{winners} of {runs} A/A runs declared a winner"
