"""Conversion-rate statistics: Wilson score intervals and the pooled two-proportion z-test (scipy's normal law)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Comparison:
    """A variant against the control: difference of rates, z statistic and two-sided p-value."""

    difference: float
    z: float
    p_value: float


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> Comparison:
    """Pooled two-proportion z-test of rate b against rate a (two-sided); p = 1 when either side has no trials or
    the pooled rate is 0 or 1 (nothing to tell the two apart)."""
    if trials_a <= 0 or trials_b <= 0:
        return Comparison(0.0, 0.0, 1.0)
    rate_a, rate_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return Comparison(rate_b - rate_a, 0.0, 1.0)
    z = (rate_b - rate_a) / math.sqrt(variance)
    return Comparison(rate_b - rate_a, z, float(2 * norm.sf(abs(z))))
