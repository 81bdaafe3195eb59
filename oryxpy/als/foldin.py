"""Folding one new interaction into a user (or item) vector, exactly as Oryx's ALSUtils does."""

from __future__ import annotations

import math

import numpy as np

from oryxpy.als.solver import Solver


def compute_target_qui(implicit: bool, value: float, current: float) -> float:
    """The value X_u . Y_i should move to after an interaction of strength ``value``; NaN means no change.

    Explicit: the rating itself. Implicit: move ``current`` toward 1 (positive value) or 0 (negative value)
    by a fraction that grows with |value|.
    """
    if not implicit:
        return value
    if value > 0 and current < 1:
        return current + (value / (1 + value)) * (1 - max(0.0, current))
    if value < 0 and current > 0:
        return current + (value / (value - 1)) * (-min(1.0, current))
    return math.nan


def compute_updated_xu(
    solver: Solver, value: float, xu: np.ndarray | None, yi: np.ndarray | None, implicit: bool
) -> np.ndarray | None:
    """The new vector of user u after interacting with item i (swap roles, with the X'X solver, for items).

    None when ``yi`` is unknown or nothing changes. A new user (``xu`` None) starts from Q_ui = 0 with a
    target computed from 0.5 ("don't know").
    """
    if yi is None:
        return None
    qui = float(np.dot(np.asarray(xu, dtype=np.float64), np.asarray(yi, dtype=np.float64))) if xu is not None else 0.0
    target = compute_target_qui(implicit, value, qui if xu is not None else 0.5)
    if math.isnan(target):
        return None
    dxu = solver.solve(np.asarray(yi, dtype=np.float64) * (target - qui))
    base = np.array(xu, dtype=np.float32) if xu is not None else np.zeros(len(yi), dtype=np.float32)
    return np.asarray(base + dxu, dtype=np.float32)


def fold_in_many(
    solver: Solver, values: np.ndarray, xu: np.ndarray, has_xu: np.ndarray, yi: np.ndarray, implicit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized :func:`compute_updated_xu` over n interactions whose item vectors are all known.

    ``xu`` (n, k) holds current vectors where ``has_xu`` is True (anything elsewhere); returns the new
    vectors (n, k) float32 and a mask of rows that changed.
    """
    values = np.asarray(values, dtype=np.float64)
    yi64 = np.asarray(yi, dtype=np.float64)
    xu64 = np.where(has_xu[:, None], np.asarray(xu, dtype=np.float64), 0.0)
    qui = np.einsum("ij,ij->i", xu64, yi64)
    current = np.where(has_xu, qui, 0.5)
    if implicit:
        target = np.full(len(values), np.nan)
        up = (values > 0) & (current < 1)
        down = (values < 0) & (current > 0)
        target[up] = current[up] + (values[up] / (1 + values[up])) * (1 - np.maximum(0.0, current[up]))
        target[down] = current[down] + (values[down] / (values[down] - 1)) * (-np.minimum(1.0, current[down]))
    else:
        target = values.copy()
    changed = ~np.isnan(target)
    dq = np.where(changed, target - qui, 0.0)
    dxu = solver.solve(yi64 * dq[:, None]) if len(values) else np.zeros_like(yi64)
    base = np.where(has_xu[:, None], np.asarray(xu, dtype=np.float32), np.float32(0))
    return (base + dxu).astype(np.float32), changed
