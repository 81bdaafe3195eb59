"""The local ALS engine: MLlib's normal equations, recovery of planted low-rank structure, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from batch.als.engine import ALSParams, _half_step, train_als
from oryxpy.errors import ModelFitError


def planted(users: int, items: int, rank: int, density: float, seed: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """A rank-``rank`` matrix of ratings and a random sample of its cells."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(users, rank)) @ rng.normal(size=(rank, items))
    mask = rng.random((users, items)) < density
    return truth, sp.csr_matrix(np.where(mask, truth, 0.0))


def reference_solve(r: sp.csr_matrix, y: np.ndarray, lam: float, alpha: float, implicit: bool) -> np.ndarray:
    """Dense numpy MLlib normal equations, one user at a time."""
    k = y.shape[1]
    out = np.zeros((r.shape[0], k))
    for u in range(r.shape[0]):
        row = r.getrow(u)
        yu, values = y[row.indices], row.data
        if implicit:
            c1 = alpha * np.abs(values)
            a = y.T @ y + yu.T @ (c1[:, None] * yu) + lam * np.sum(values > 0) * np.eye(k)
            b = yu.T @ ((1 + c1) * (values > 0))
        else:
            a = yu.T @ yu + lam * len(values) * np.eye(k)
            b = yu.T @ values
        out[u] = np.linalg.solve(a, b)
    return out


@pytest.mark.parametrize("implicit,cg_steps", [(True, 0), (True, 25), (False, 0)])
def test_half_step_solves_mllib_weighted_lambda_normal_equations(implicit: bool, cg_steps: int) -> None:
    rng = np.random.default_rng(3)
    r = sp.csr_matrix((np.random.default_rng(4).random((30, 20)) < 0.3).astype(np.float64))
    r.data = rng.choice([-1.0, 1.0, 2.0, 4.0], size=r.nnz) if implicit else rng.uniform(1, 5, r.nnz)
    r = sp.csr_matrix(r[np.diff(r.indptr) > 0])
    y = rng.normal(size=(20, 4))
    x = np.zeros((r.shape[0], 4))
    _half_step(r, y, x, ALSParams(4, 0.3, 2.0, implicit, 1, 0, cg_steps))
    np.testing.assert_allclose(x, reference_solve(r, y, 0.3, 2.0, implicit), atol=1e-8)


def test_explicit_als_recovers_planted_low_rank_ratings() -> None:
    truth, observed = planted(120, 80, 3, 0.4, seed=1)
    x, y = train_als(observed, ALSParams(3, 0.01, implicit=False, iterations=40, seed=7))
    unseen = observed.toarray() == 0
    error = np.sqrt(np.mean(((x @ y.T) - truth)[unseen] ** 2))
    assert error < 0.1 * truth.std()


def test_implicit_als_ranks_held_out_planted_items_first() -> None:
    rng = np.random.default_rng(2)
    groups_u, groups_i = rng.integers(0, 4, 200), rng.integers(0, 4, 100)
    affinity = groups_u[:, None] == groups_i[None, :]
    interacted = affinity & (rng.random((200, 100)) < 0.5)
    held_out = interacted & (rng.random((200, 100)) < 0.2)
    train = sp.csr_matrix((interacted & ~held_out).astype(np.float64))
    x, y = train_als(train, ALSParams(4, 0.1, 1.0, implicit=True, iterations=10, seed=3))
    scores = x @ y.T
    scores[train.toarray() > 0] = -np.inf
    top = np.argsort(-scores, axis=1)[:, :5]
    hit_rate = np.mean(affinity[np.arange(200)[:, None], top])
    assert hit_rate > 0.95


def test_same_seed_same_factors_other_seed_differs() -> None:
    _, observed = planted(40, 30, 2, 0.5, seed=5)
    params = ALSParams(3, 0.1, 1.0, implicit=True, iterations=3, seed=11)
    first, second = train_als(observed, params), train_als(observed, params)
    other = train_als(observed, ALSParams(3, 0.1, 1.0, implicit=True, iterations=3, seed=12))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.allclose(first[0], other[0])


def test_singular_explicit_system_is_a_clear_error() -> None:
    observed = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    with pytest.raises(ModelFitError, match="singular"):
        train_als(observed, ALSParams(5, 0.0, implicit=False, iterations=1, seed=1))
