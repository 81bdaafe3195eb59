"""The local ALS engine: MLlib's weighted-lambda ALS (explicit and implicit) in numba kernels on all cores."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from oryxpy.als.jit import njit_cached
from oryxpy.als.solver import gram
from oryxpy.errors import ModelFitError

log = logging.getLogger(__name__)

# numba's default thread pool must not be entered by two Python threads at once (candidates built in parallel).
_KERNEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class ALSParams:
    """What one ALS build needs besides the data."""

    features: int
    lambda_: float
    alpha: float = 1.0
    implicit: bool = True
    iterations: int = 10
    seed: int | None = None
    cg_steps: int = 3


@numba.njit(inline="always")
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    s = 0.0
    for f in range(a.shape[0]):
        s += a[f] * b[f]
    return s


@numba.njit(inline="always")
def _cholesky_solve(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """Solve a x = b in place for symmetric positive definite a (a is overwritten); False if not positive definite."""
    k = b.shape[0]
    for j in range(k):
        s = a[j, j]
        for m in range(j):
            s -= a[j, m] * a[j, m]
        if s <= 0.0:
            return False
        d = np.sqrt(s)
        a[j, j] = d
        for i in range(j + 1, k):
            s = a[i, j]
            for m in range(j):
                s -= a[i, m] * a[j, m]
            a[i, j] = s / d
    for i in range(k):
        s = b[i]
        for m in range(i):
            s -= a[i, m] * out[m]
        out[i] = s / a[i, i]
    for i in range(k - 1, -1, -1):
        s = out[i]
        for m in range(i + 1, k):
            s -= a[m, i] * out[m]
        out[i] = s / a[i, i]
    return True


@njit_cached(parallel=True, fastmath=True)
def _solve_exact(order: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, other: np.ndarray,  # pragma: no cover - numba
                 gram: np.ndarray, target: np.ndarray, lam: float, alpha: float, implicit: bool) -> int:
    """Each row u of ``target``: the exact least-squares solution of MLlib's normal equations (Cholesky)."""
    n, k = target.shape
    failures = 0
    for t in numba.prange(n):
        u = order[t]
        start, end = indptr[u], indptr[u + 1]
        a = np.zeros((k, k))
        b = np.zeros(k)
        count = 0
        if implicit:
            a[:, :] = gram
        for p in range(start, end):
            y = other[indices[p]]
            r = data[p]
            if implicit:
                c1 = alpha * abs(r)
                if r > 0.0:
                    count += 1
                    for f in range(k):
                        b[f] += (1.0 + c1) * y[f]
            else:
                c1 = 1.0
                count += 1
                for f in range(k):
                    b[f] += r * y[f]
            for f in range(k):
                cy = c1 * y[f]
                for g in range(f + 1):
                    a[f, g] += cy * y[g]
        reg = lam * count
        for f in range(k):
            a[f, f] += reg
            for g in range(f + 1, k):
                a[f, g] = a[g, f]
        x = np.zeros(k)
        if _cholesky_solve(a, b, x):
            target[u, :] = x
        else:
            failures += 1
    return failures


@njit_cached(parallel=True, fastmath=True)
def _solve_implicit_cg(order: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,  # pragma: no cover - numba
                       other: np.ndarray, gram: np.ndarray, target: np.ndarray, lam: float, alpha: float, steps: int) -> None:
    """Each row u of ``target``: ``steps`` conjugate-gradient steps on the implicit normal equations, warm-started
    from the current row (the Hu-Koren-Volinsky form  (Y'Y + Y_u'(C_u - I)Y_u + lambda n_u I) x = Y_u' C_u p_u)."""
    n, k = target.shape
    for t in numba.prange(n):
        u = order[t]
        start, end = indptr[u], indptr[u + 1]
        x = target[u].copy()
        count = 0
        for p in range(start, end):
            if data[p] > 0.0:
                count += 1
        reg = lam * count
        r = np.empty(k)
        for f in range(k):
            r[f] = -reg * x[f] - _dot(gram[f], x)
        for p in range(start, end):
            y = other[indices[p]]
            v = data[p]
            c1 = alpha * abs(v)
            w = (1.0 + c1 if v > 0.0 else 0.0) - c1 * _dot(y, x)
            for f in range(k):
                r[f] += w * y[f]
        d = r.copy()
        rs_old = _dot(r, r)
        ad = np.empty(k)
        for _ in range(steps):
            if rs_old < 1e-20:
                break
            for f in range(k):
                ad[f] = reg * d[f] + _dot(gram[f], d)
            for p in range(start, end):
                y = other[indices[p]]
                w = alpha * abs(data[p]) * _dot(y, d)
                for f in range(k):
                    ad[f] += w * y[f]
            step = rs_old / _dot(d, ad)
            for f in range(k):
                x[f] += step * d[f]
                r[f] -= step * ad[f]
            rs_new = _dot(r, r)
            for f in range(k):
                d[f] = r[f] + (rs_new / rs_old) * d[f]
            rs_old = rs_new
        target[u, :] = x


def _initial_factors(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Gaussian rows scaled to unit norm, as MLlib initializes factors."""
    m = rng.standard_normal((n, k))
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def _balanced_order(matrix: sp.csr_matrix) -> np.ndarray:
    """Rows in a shuffled order, so the equal slices numba hands each thread hold equal work (busy rows cluster)."""
    return np.random.default_rng(0).permutation(matrix.shape[0]).astype(np.int64)


def _half_step(matrix: sp.csr_matrix, other: np.ndarray, target: np.ndarray, params: ALSParams,
               order: np.ndarray | None = None) -> None:
    other_gram = gram(other) if params.implicit else np.zeros((other.shape[1],) * 2)
    order = _balanced_order(matrix) if order is None else order
    args = (order, matrix.indptr, matrix.indices, matrix.data, other, other_gram, target, float(params.lambda_), float(params.alpha))
    with _KERNEL_LOCK:
        if params.implicit and params.cg_steps > 0:
            _solve_implicit_cg(*args, int(params.cg_steps))
            return
        failures = _solve_exact(*args, bool(params.implicit))
    if failures:
        raise ModelFitError(f"{failures} of {target.shape[0]} ALS normal equations are singular "
                            f"(features {params.features}, lambda {params.lambda_}); raise lambda or lower features")


def train_als(ratings: sp.csr_matrix, params: ALSParams) -> tuple[np.ndarray, np.ndarray]:
    """Factor a users x items matrix of aggregated strengths into X (users x k) and Y (items x k), float32.

    MLlib semantics: implicit preference 1 if r > 0 else 0 with confidence 1 + alpha |r|; explicit least
    squares on r; regularization lambda times each row's count of ratings (implicit: of r > 0).
    """
    if params.features < 1 or params.lambda_ < 0 or params.alpha <= 0 or params.iterations < 1:
        raise ModelFitError(f"bad ALS parameters {params}")
    users = sp.csr_matrix(ratings, dtype=np.float64)
    users.sort_indices()
    items = users.T.tocsr()
    items.sort_indices()
    rng = np.random.default_rng(params.seed)
    x = _initial_factors(rng, users.shape[0], params.features)
    y = _initial_factors(rng, users.shape[1], params.features)
    user_order, item_order = _balanced_order(users), _balanced_order(items)
    started = time.perf_counter()
    for _ in range(params.iterations):
        _half_step(users, y, x, params, user_order)
        _half_step(items, x, y, params, item_order)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ModelFitError(f"ALS diverged (non-finite factors) with {params}")
    log.debug("ALS %s: %d x %d, %d ratings, %.2fs", params, users.shape[0], users.shape[1], users.nnz,
              time.perf_counter() - started)
    return x.astype(np.float32), y.astype(np.float32)
