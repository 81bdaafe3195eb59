"""Strength scaling that adapts to the data's shape (batch/als/scale.py)."""

from __future__ import annotations

import numpy as np
import pytest

from batch.als.scale import choose_scale


def test_ratings_measure_alpha_in_units_of_the_mean_rating() -> None:
    scale = choose_scale(np.array([1.0, 3.0, 4.0, 4.0, 5.0, 5.0]), "auto", True, False, 1e-5)
    assert not scale.log_strength and scale.alpha_divisor == pytest.approx(22 / 6)


def test_purchases_of_one_keep_alpha_as_is() -> None:
    scale = choose_scale(np.ones(100), "auto", True, False, 1e-5)
    assert not scale.log_strength and scale.alpha_divisor == 1.0


def test_heavy_tailed_counts_get_log_strength_with_the_median_as_epsilon() -> None:
    counts = np.floor(np.random.default_rng(0).pareto(1.0, 5000) * 3 + 1)
    scale = choose_scale(counts, "auto", True, False, 1e-5)
    assert scale.log_strength and scale.epsilon == np.median(counts)
    assert scale.alpha_divisor == pytest.approx(np.mean(np.log1p(counts / np.median(counts))))
    assert "heavy-tailed" in scale.note


def test_none_explicit_and_deletes_keep_strengths_as_configured() -> None:
    counts = np.array([1.0, 2.0, 5000.0] * 10)
    assert choose_scale(counts, "none", True, False, 1e-5).alpha_divisor == 1.0
    assert not choose_scale(counts, "auto", False, False, 1e-5).log_strength  # explicit ratings are never rescaled
    assert choose_scale(np.array([np.nan, -1.0]), "auto", True, False, 1e-5).alpha_divisor == 1.0
    configured = choose_scale(counts, "auto", True, True, 0.5)  # logStrength set by the user: its epsilon is kept
    assert configured.log_strength and configured.epsilon == 0.5
