"""Hybrid by concatenated vectors: scores are the weighted sum of each model's spread-normalized scores."""

from __future__ import annotations

import numpy as np
import pytest

from batch.deep.hybrid import concat_models, score_spread
from oryxpy.errors import InvalidInput


def test_concatenated_scores_are_the_weighted_blend() -> None:
    rng = np.random.default_rng(0)
    x_a, y_a, x_b, y_b = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)), rng.normal(size=(5, 4)), 9 * rng.normal(size=(7, 4))
    x, y = concat_models(x_a, y_a, x_b, y_b, 0.3)
    assert x.shape == (5, 7) and y.shape == (7, 7)
    s_a = score_spread(x_a, y_a, np.random.default_rng(0))
    s_b = score_spread(x_b, y_b, np.random.default_rng(0))
    expected = 0.3 * (x_a @ y_a.T) / s_a + 0.7 * (x_b @ y_b.T) / s_b
    np.testing.assert_allclose(x @ y.T, expected, rtol=0.05, atol=0.05)
    only_a = concat_models(x_a, y_a, x_b, y_b, 1.0)
    assert (np.argsort(only_a[0] @ only_a[1].T, axis=1) == np.argsort(x_a @ y_a.T, axis=1)).all()


def test_bad_inputs() -> None:
    with pytest.raises(InvalidInput, match="not in"):
        concat_models(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), 1.5)
    with pytest.raises(InvalidInput, match="same users and items"):
        concat_models(np.ones((2, 1)), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), 0.5)
