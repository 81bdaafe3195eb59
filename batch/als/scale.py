"""Strength scaling that adapts to the data (implicit ALS): log for heavy-tailed counts, alpha in units of the mean.

With confidence c = 1 + alpha * r and regularization lambda * n, what matters is alpha times a typical strength:
the same alpha is far too weak on 0/1 purchases and far too strong on play counts in the thousands. ``auto``:

1. if the aggregated positive strengths are heavy-tailed (99th percentile > ``HEAVY_TAIL`` times the median), use
   log strength r' = ln(1 + r / epsilon) with epsilon = the median strength;
2. measure alpha in units of the mean (transformed) positive strength: the model is trained and published with
   alpha / mean, so the searched alpha means the same on ratings, 0/1 data and counts.

Both are expressed in the published PMML (logStrength, epsilon, alpha), so the speed and serving layers need
nothing new. ``none`` keeps Oryx's behaviour (strengths as given, alpha as configured).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

HEAVY_TAIL = 10.0
MODES = ("auto", "none")


@dataclass(frozen=True)
class StrengthScale:
    """How one generation's strengths are transformed: log with epsilon, and the divisor of alpha."""

    log_strength: bool
    epsilon: float
    alpha_divisor: float = 1.0
    note: str = ""


def choose_scale(values: np.ndarray, mode: str, implicit: bool, log_strength: bool, epsilon: float) -> StrengthScale:
    """The scaling for aggregated pair strengths ``values`` (before any log); ``log_strength``/``epsilon`` as configured."""
    configured = StrengthScale(log_strength, epsilon, 1.0, "strengths as configured")
    positive = values[np.isfinite(values) & (values > 0)]
    if mode == "none" or not implicit or len(positive) == 0:
        return configured
    median = float(np.median(positive))
    heavy = not log_strength and float(np.percentile(positive, 99)) > HEAVY_TAIL * median
    if heavy:
        log_strength, epsilon = True, median
    transformed = np.log1p(positive / epsilon) if log_strength else positive
    mean = float(np.mean(transformed))
    if not mean > 0 or not np.isfinite(mean):
        return StrengthScale(log_strength, epsilon, 1.0, "strengths as configured (no usable mean)")
    how = (f"heavy-tailed strengths (99th percentile > {HEAVY_TAIL:g} x median {median:g}): log strength, "
           f"epsilon {epsilon:g}; " if heavy else "")
    return StrengthScale(log_strength, epsilon, mean, f"{how}alpha in units of the mean strength {mean:.4g}")
