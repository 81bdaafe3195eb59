"""Fold-in math (spec 4.4) and the Gram solvers (spec 4.5) on small cases worked out by hand."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from oryxpy.als import Solver, SolverCache, compute_target_qui, compute_updated_xu, fold_in_many, gram
from oryxpy.errors import SingularMatrix

# Y'Y = diag(2, 4): solving it halves the first coordinate and quarters the second.
DIAGONAL = Solver(np.diag([2.0, 4.0]))
YI = np.array([1.0, 2.0], dtype=np.float32)


@pytest.mark.parametrize(("implicit", "value", "current", "expected"), [
    (True, 1.0, 0.5, 0.75),             # 0.5 + 1/2 * (1 - 0.5)
    (True, 3.0, 0.25, 0.8125),          # 0.25 + 3/4 * 0.75
    (True, 1.0, -0.5, 0.0),             # -0.5 + 1/2 * (1 - max(0, -0.5))
    (True, -1.0, 0.25, 0.125),          # 0.25 + (-1 / -2) * -0.25
    (True, -3.0, 2.0, 1.25),            # 2 + (-3 / -4) * -min(1, 2)
    (True, 1.0, 1.0, math.nan),         # already at 1: no change
    (True, -1.0, 0.0, math.nan),        # already at 0: no change
    (True, 0.0, 0.5, math.nan),         # zero strength: no change
    (False, 3.5, 0.2, 3.5),             # explicit: the rating itself
])
def test_target_qui(implicit: bool, value: float, current: float, expected: float) -> None:
    result = compute_target_qui(implicit, value, current)
    assert (math.isnan(result) and math.isnan(expected)) or result == pytest.approx(expected)


@pytest.mark.parametrize(("value", "xu", "expected"), [
    (1.0, None, [0.375, 0.375]),              # new user: Q 0, target 0.75, (Y'Y)^-1 [0.75, 1.5]
    (-1.0, None, [0.125, 0.125]),             # new user, negative: target 0.5 - 0.25 = 0.25
    (3.0, [0.25, 0.0], [0.53125, 0.28125]),   # Q 0.25 -> 0.8125: + (Y'Y)^-1 [0.5625, 1.125]
    (-1.0, [0.25, 0.0], [0.1875, -0.0625]),   # Q 0.25 -> 0.125: + (Y'Y)^-1 [-0.125, -0.25]
])
def test_updated_xu_implicit(value: float, xu: list[float] | None, expected: list[float]) -> None:
    current = None if xu is None else np.array(xu, dtype=np.float32)
    result = compute_updated_xu(DIAGONAL, value, current, YI, implicit=True)
    assert result is not None and result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-6)


@pytest.mark.parametrize(("value", "xu", "yi"), [
    (1.0, [0.5, 0.25], YI),     # Q = 1: nothing left to learn from a positive strength
    (-1.0, [-0.25, 0.0], YI),   # Q < 0: nothing to unlearn
    (1.0, [0.5, 0.25], None),   # unknown item
    (1.0, None, None),          # unknown user and item
])
def test_updated_xu_no_change(value: float, xu: list[float] | None, yi: np.ndarray | None) -> None:
    current = None if xu is None else np.array(xu, dtype=np.float32)
    assert compute_updated_xu(DIAGONAL, value, current, yi, implicit=True) is None


def test_updated_xu_explicit() -> None:
    existing = compute_updated_xu(DIAGONAL, 4.0, np.array([0.25, 0.0], dtype=np.float32), YI, implicit=False)
    np.testing.assert_allclose(existing, [2.125, 1.875])  # Q 0.25 -> 4: + (Y'Y)^-1 [3.75, 7.5]
    new = compute_updated_xu(DIAGONAL, 4.0, None, YI, implicit=False)
    np.testing.assert_allclose(new, [2.0, 2.0])  # Q 0 -> 4 (explicit ignores the 0.5 start)


def test_updated_xu_does_not_modify_its_input() -> None:
    xu = np.array([0.25, 0.0], dtype=np.float32)
    compute_updated_xu(DIAGONAL, 3.0, xu, YI, implicit=True)
    np.testing.assert_array_equal(xu, [0.25, 0.0])


@pytest.mark.parametrize("implicit", [True, False])
def test_fold_in_many_equals_one_at_a_time(implicit: bool) -> None:
    rng = np.random.default_rng(7)
    k, n = 5, 200
    y = rng.normal(size=(40, k)).astype(np.float32)
    solver = Solver(gram(y))
    xu = rng.normal(scale=0.3, size=(n, k)).astype(np.float32)
    has_xu = rng.random(n) < 0.7
    yi = y[rng.integers(0, len(y), n)]
    values = rng.choice([-2.0, -0.5, 0.0, 1.0, 3.0], size=n)
    new, changed = fold_in_many(solver, values, np.where(has_xu[:, None], xu, np.nan), has_xu, yi, implicit)
    for row in range(n):
        one = compute_updated_xu(solver, values[row], xu[row] if has_xu[row] else None, yi[row], implicit)
        assert changed[row] == (one is not None)
        if one is not None:
            np.testing.assert_allclose(new[row], one, rtol=1e-6, atol=1e-7)


def test_fold_in_many_of_nothing() -> None:
    new, changed = fold_in_many(DIAGONAL, np.zeros(0), np.zeros((0, 2)), np.zeros(0, bool), np.zeros((0, 2)), True)
    assert new.shape == (0, 2) and changed.shape == (0,)


def test_gram_in_blocks_equals_plain_product() -> None:
    v = np.random.default_rng(1).normal(size=(70_000, 3)).astype(np.float32)
    v64 = v.astype(np.float64)
    np.testing.assert_allclose(gram(v), v64.T @ v64, rtol=1e-12)


def test_solver_solves_one_and_many() -> None:
    m = np.array([[4.0, 1.0], [1.0, 3.0]])
    solver = Solver(m)
    b = np.array([[1.0, 2.0], [3.0, -1.0]])
    np.testing.assert_allclose(solver.solve(b[0]), np.linalg.solve(m, b[0]))
    np.testing.assert_allclose(solver.solve(b), np.linalg.solve(m, b.T).T)


@pytest.mark.parametrize(("small", "singular"), [(1e-6, True), (1e-5, True), (1e-4, False)])
def test_singularity_threshold_is_1e5_of_the_inf_norm(small: float, singular: bool) -> None:
    # ||M||inf = 1, so a pivot at or below 1e-5 makes the matrix near-singular
    if singular:
        with pytest.raises(SingularMatrix, match="2 x 2 matrix is near-singular"):
            Solver(np.diag([1.0, small]))
    else:
        Solver(np.diag([1.0, small]))


def test_singular_message_gives_apparent_rank() -> None:
    rank_one = np.outer([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(SingularMatrix, match="to <= about 1$"):
        Solver(rank_one)


def test_solver_cache_logs_a_singular_matrix_and_recovers() -> None:
    vectors = {"v": np.array([[1.0, 1.0], [2.0, 2.0]], dtype=np.float32)}
    cache = SolverCache(lambda: vectors["v"], "Y'Y")
    assert cache.get(blocking=True) is None
    assert isinstance(cache.last_error, SingularMatrix)
    vectors["v"] = np.eye(2, dtype=np.float32)
    cache.set_dirty()
    assert cache.get(blocking=True) is None or cache.last_error is None  # recomputed in the background
    for _ in range(200):
        if cache.get(blocking=False) is not None:
            break
        threading.Event().wait(0.01)
    assert cache.get(blocking=False) is not None and cache.last_error is None


def test_solver_cache_without_vectors() -> None:
    assert SolverCache(lambda: None).get(blocking=True) is None
