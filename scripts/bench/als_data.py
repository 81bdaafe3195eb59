"""Data sets for the ALS benchmark: ml-100k protocol A, gowalla, and a generated ML-20M-like matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def ml100k_rows(seed: int = 42) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, ratings, timestamps ms, train mask) of ml-100k under protocol A: per item a random 75 % of
    its ratings train (seed 42), the rest test."""
    raw = np.loadtxt(DATA / "ml-100k" / "u.data", dtype=np.int64)
    users, items = raw[:, 0] - 1, raw[:, 1] - 1
    rng = np.random.default_rng(seed)
    train_mask = np.zeros(len(raw), dtype=bool)
    for item in np.unique(items):
        rows = np.flatnonzero(items == item)
        rng.shuffle(rows)
        train_mask[rows[: int(round(0.75 * len(rows)))]] = True
    return users, items, raw[:, 2].astype(np.float64), raw[:, 3] * 1000, train_mask


def ml100k_protocol_a(seed: int = 42) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(train, test) users x items rating matrices of protocol A."""
    users, items, ratings, _, train_mask = ml100k_rows(seed)
    shape = (users.max() + 1, items.max() + 1)

    def matrix(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((ratings[mask], (users[mask], items[mask])), shape=shape)

    return matrix(train_mask), matrix(~train_mask)


def gowalla() -> sp.csr_matrix:
    """Gowalla (LightGCN train split) as a users x items matrix of ones."""
    rows, cols = [], []
    with open(DATA / "gowalla" / "train.txt") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 1:
                rows.extend([int(parts[0])] * (len(parts) - 1))
                cols.extend(int(p) for p in parts[1:])
    r, c = np.array(rows), np.array(cols)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(r.max() + 1, c.max() + 1))


def synthetic(users: int, items: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """Random ratings 1-5 with Zipf-like item popularity and user activity (about ML-20M's shape when full size)."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, items + 1) ** 0.9
    user_p = 1.0 / np.arange(1, users + 1) ** 0.6
    u = rng.choice(users, size=nnz, p=user_p / user_p.sum())
    i = rng.choice(items, size=nnz, p=item_p / item_p.sum())
    m = sp.csr_matrix((rng.integers(1, 6, nnz).astype(np.float64), (u, i)), shape=(users, items))
    m.sum_duplicates()
    m.data = np.minimum(m.data, 5.0)
    return m
