"""Hybrid of two vector models (e.g. ALS and the two-tower model) by concatenating their scaled vectors.

With x = [sqrt(w / s_a) x_a, sqrt((1 - w) / s_b) x_b] and y likewise, x . y = w (x_a . y_a) / s_a + (1 - w)
(x_b . y_b) / s_b: a weighted sum of each model's scores, each divided by its own score spread s (the standard
deviation of its scores over sampled user-item pairs), so the unchanged serving layer serves the blend as one
model of features_a + features_b features. Items or users missing from one model get zeros on that side.
"""

from __future__ import annotations

import numpy as np

from oryxpy.errors import InvalidInput

SAMPLE_PAIRS = 100_000


def score_spread(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
    """Standard deviation of x . y over random user-item pairs (1.0 when it is zero or there are none)."""
    if len(x) == 0 or len(y) == 0:
        return 1.0
    users, items = rng.integers(0, len(x), SAMPLE_PAIRS), rng.integers(0, len(y), SAMPLE_PAIRS)
    spread = float(np.std(np.einsum("ij,ij->i", x[users], y[items])))
    return spread if spread > 0 else 1.0


def concat_models(x_a: np.ndarray, y_a: np.ndarray, x_b: np.ndarray, y_b: np.ndarray, weight: float,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Blend two models whose rows are the same users (x) and items (y): ``weight`` on model a, the rest on b."""
    if not 0 <= weight <= 1:
        raise InvalidInput(f"hybrid weight {weight} is not in [0, 1]")
    if len(x_a) != len(x_b) or len(y_a) != len(y_b):
        raise InvalidInput("both models must list the same users and items in the same order")
    rng = np.random.default_rng(seed)
    a = np.sqrt(weight / score_spread(x_a, y_a, rng))
    b = np.sqrt((1 - weight) / score_spread(x_b, y_b, rng))
    x = np.hstack([a * x_a, b * x_b]).astype(np.float32)
    y = np.hstack([a * y_a, b * y_b]).astype(np.float32)
    return x, y
