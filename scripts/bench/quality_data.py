"""Data sets of different shapes for the quality table (issue 13), each as train records plus a test matrix.

- ml-100k, ml-latest-small: 1-5 / 0.5-5 ratings with timestamps; protocol A (per item a random 75 % of its
  ratings train, seed 42, the rest test; every test rating relevant).
- gowalla: check-ins, 0/1 without timestamps; LightGCN's split (train + valid train, test test).
- purchases-synthetic: 0/1 purchases; counts-synthetic: heavy-tailed play counts. Both generated (documented in
  :func:`synthetic_shape`) because only package registries are reachable here; protocol A split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
NO_TIME = 1_700_000_000_000


@dataclass
class Shape:
    """A data set split for protocol A: train records (int ids, values, timestamps ms or None) and test relevance."""

    name: str
    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray | None
    test: sp.csr_matrix  # users x items, nonzero = relevant

    @property
    def shape(self) -> tuple[int, int]:
        return self.test.shape

    def train_matrix(self) -> sp.csr_matrix:
        m = sp.csr_matrix((self.values, (self.users, self.items)), shape=self.shape)
        m.sum_duplicates()
        return m

    def lines(self) -> list[str]:
        """The train records as stored input lines user,item,strength,timestamp; without timestamps every record
        gets one time, as data posted to /ingest without timestamps gets the ingest time."""
        if self.timestamps is None:
            return [f"{u},{i},{v:g},{NO_TIME}" for u, i, v in zip(self.users.tolist(), self.items.tolist(),
                                                                  self.values.tolist(), strict=True)]
        return [f"{u},{i},{v:g},{t}" for u, i, v, t in zip(self.users.tolist(), self.items.tolist(), self.values.tolist(),
                                                          self.timestamps.tolist(), strict=True)]


def protocol_a(name: str, users: np.ndarray, items: np.ndarray, values: np.ndarray, stamps: np.ndarray | None,
               seed: int = 42) -> Shape:
    """Per item a random 75 % of its records train (seed 42), the rest test."""
    _, users = np.unique(users, return_inverse=True)
    _, items = np.unique(items, return_inverse=True)
    rng = np.random.default_rng(seed)
    train = np.zeros(len(users), dtype=bool)
    order = np.argsort(items, kind="stable")
    bounds = np.flatnonzero(np.diff(items[order])) + 1
    for rows in np.split(order, bounds):
        rows = rows.copy()
        rng.shuffle(rows)
        train[rows[: int(round(0.75 * len(rows)))]] = True
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    test = sp.csr_matrix((np.ones(int((~train).sum())), (users[~train], items[~train])), shape=shape)
    return Shape(name, users[train], items[train], values[train], None if stamps is None else stamps[train], test)


def ml100k() -> Shape:
    raw = np.loadtxt(DATA / "ml-100k" / "u.data", dtype=np.int64)
    return protocol_a("ml-100k (ratings 1-5)", raw[:, 0], raw[:, 1], raw[:, 2].astype(np.float64), raw[:, 3] * 1000)


def ml_latest_small() -> Shape:
    raw = np.loadtxt(DATA / "ml-latest-small" / "ratings.csv", delimiter=",", skiprows=1)
    return protocol_a("ml-latest-small (ratings 0.5-5)", raw[:, 0].astype(np.int64), raw[:, 1].astype(np.int64), raw[:, 2],
                      raw[:, 3].astype(np.int64) * 1000)


def _pairs(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows: list[int] = []
    cols: list[int] = []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 1:
                rows.extend([int(parts[0])] * (len(parts) - 1))
                cols.extend(int(p) for p in parts[1:])
    return np.array(rows), np.array(cols)


def gowalla() -> Shape:
    folder = DATA / "gowalla"
    tu, ti = (np.concatenate(a) for a in zip(_pairs(folder / "train.txt"), _pairs(folder / "valid.txt"), strict=True))
    su, si = _pairs(folder / "test.txt")
    shape = (int(max(tu.max(), su.max())) + 1, int(max(ti.max(), si.max())) + 1)
    test = sp.csr_matrix((np.ones(len(su)), (su, si)), shape=shape)
    return Shape("gowalla (check-ins 0/1, no timestamps)", tu, ti, np.ones(len(tu)), None, test)


def synthetic_shape(kind: str, users: int = 3000, items: int = 2000, per_user: float = 30.0, seed: int = 7) -> Shape:
    """A generated data set with planted taste: 16 latent groups of users and items; a user's items are drawn
    60 % from items of its own group (Zipf popularity within it), 40 % from global Zipf popularity; activity is
    log-normal. ``purchases``: each (user, item) once with strength 1, timestamps over a year. ``counts``: each pair's
    strength is a heavy-tailed play count, Pareto(1.1) scaled (median 3, 99th percentile about 100, max about 10^6)."""
    rng = np.random.default_rng(seed)
    groups = 16
    user_group = rng.integers(0, groups, users)
    item_group = rng.integers(0, groups, items)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.8
    rng.shuffle(popularity)
    activity = np.maximum(5, rng.lognormal(np.log(per_user), 0.8, users).astype(int))
    us, its = [], []
    for u in range(users):
        own = np.flatnonzero(item_group == user_group[u])
        p_own = popularity[own] / popularity[own].sum()
        n = min(activity[u], items // 2)
        k_own = rng.binomial(n, 0.6)
        chosen = set(rng.choice(own, size=min(k_own, len(own)), replace=False, p=p_own).tolist())
        while len(chosen) < n:
            chosen.add(int(rng.choice(items, p=popularity / popularity.sum())))
        us.extend([u] * len(chosen))
        its.extend(sorted(chosen))
    u_arr, i_arr = np.array(us), np.array(its)
    stamps = 1_500_000_000_000 + rng.integers(0, 365 * 86_400_000, len(u_arr))
    if kind == "purchases":
        return protocol_a("purchases-synthetic (0/1)", u_arr, i_arr, np.ones(len(u_arr)), stamps)
    if kind == "counts":
        own_group = user_group[u_arr] == item_group[i_arr]
        counts = np.floor((rng.pareto(1.1, len(u_arr)) + 1) * np.where(own_group, 2.0, 1.0)).astype(np.float64)
        return protocol_a("counts-synthetic (heavy-tailed plays)", u_arr, i_arr, counts, stamps)
    raise ValueError(f"unknown synthetic kind {kind!r}")


ALL: dict[str, Callable[[], Shape]] = {"ml-100k": ml100k, "ml-latest-small": ml_latest_small, "gowalla": gowalla,
       "purchases": lambda: synthetic_shape("purchases"), "counts": lambda: synthetic_shape("counts")}
