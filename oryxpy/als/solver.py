"""Solvers for the k x k Gram matrices X'X and Y'Y, and a cache that recomputes them in the background."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
import scipy.linalg

from oryxpy.errors import SingularMatrix

log = logging.getLogger(__name__)


_GRAM_CHUNK_ROWS = 65536


def gram(vectors: np.ndarray) -> np.ndarray:
    """V'V in double precision, a block of rows at a time (no full float64 copy of a large V)."""
    v = np.asarray(vectors)
    k = v.shape[1] if v.ndim == 2 else 0
    result = np.zeros((k, k), dtype=np.float64)
    for start in range(0, len(v), _GRAM_CHUNK_ROWS):
        block = np.asarray(v[start : start + _GRAM_CHUNK_ROWS], dtype=np.float64)
        result += block.T @ block
    return result


def apparent_rank(r: np.ndarray, drop_threshold: float) -> int:
    """Rank of a pivoted-QR ``R`` as Commons Math's RRQRDecomposition.getRank: stop where the trailing block's
    Frobenius norm, relative to the previous one and scaled by ||R||, falls below ``drop_threshold``."""
    k = min(r.shape) if r.size else 0
    if k == 0:
        return 0
    rank, r_norm = 1, float(np.linalg.norm(r))
    last = r_norm
    while rank < k:
        this = float(np.linalg.norm(r[rank:, rank:]))
        if this == 0 or (this / last) * r_norm < drop_threshold:
            break
        last, rank = this, rank + 1
    return rank


class Solver:
    """Solves (V'V) x = b; refuses a matrix that is near-singular as Oryx does (pivoted QR, tolerance 1e-5 x ||M||inf)."""

    def __init__(self, matrix: np.ndarray):
        m = np.asarray(matrix, dtype=np.float64)
        k = m.shape[0]
        norm = float(np.max(np.sum(np.abs(m), axis=1))) if k else 0.0
        threshold = norm * 1e-5
        r = scipy.linalg.qr(m, mode="r", pivoting=True)[0] if k else np.zeros((0, 0))
        rank = int(np.sum(np.abs(np.diag(r)) > threshold))
        if k == 0 or rank < k:
            apparent = apparent_rank(r, 0.01)
            raise SingularMatrix(
                f"{k} x {k} matrix is near-singular (threshold {threshold:.3g}). Add more data or decrease the "
                f"number of features, to <= about {apparent}"
            )
        self.k = k
        self._factor = scipy.linalg.lu_factor(m, check_finite=False)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve for one right-hand side (k,) or many (n, k) at once; returns float64."""
        b = np.asarray(b, dtype=np.float64)
        if b.ndim == 1:
            return scipy.linalg.lu_solve(self._factor, b, check_finite=False)
        return scipy.linalg.lu_solve(self._factor, b.T, check_finite=False).T


class SolverCache:
    """Holds the latest Solver of V'V; marked dirty when vectors change, recomputed in a background thread.

    ``vectors`` returns the current matrix V (n x k), or None when there are no vectors; with
    ``precomputed=True`` it returns V'V itself (k x k, for a caller that maintains it incrementally).
    """

    def __init__(self, vectors: Callable[[], np.ndarray | None], name: str = "V'V", *, precomputed: bool = False):
        self._vectors = vectors
        self._precomputed = precomputed
        self._name = name
        self._solver: Solver | None = None
        self._dirty = True
        self._computing = False
        self._lock = threading.Lock()
        self._first = threading.Event()
        self.last_error: SingularMatrix | None = None

    def set_dirty(self) -> None:
        self._dirty = True

    def get(self, blocking: bool) -> Solver | None:
        """The most recent solver (possibly stale); starts a recompute if dirty. Blocking waits for a first one."""
        start = False
        with self._lock:
            if self._dirty and not self._computing:
                self._dirty = False
                self._computing = True
                start = True
        if start:
            if blocking and self._solver is None:
                self._compute()
            else:
                threading.Thread(target=self._compute, name=f"solver-{self._name}", daemon=True).start()
        if blocking and self._solver is None:
            self._first.wait(timeout=600)
        return self._solver

    def _compute(self) -> None:
        try:
            vectors = self._vectors()
            if vectors is None or len(vectors) == 0:
                solver = None
            else:
                solver = Solver(vectors if self._precomputed else gram(vectors))
            self._solver = solver
            self.last_error = None
        except SingularMatrix as exc:
            self._solver = None
            self.last_error = exc
            log.warning("%s: %s", self._name, exc)
        except Exception:  # a failed recompute must not kill the layer; the next change retries
            log.exception("computing the %s solver failed", self._name)
            self._dirty = True
        finally:
            with self._lock:
                self._computing = False
            self._first.set()
