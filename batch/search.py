"""Model-agnostic hyper-parameter search: values from config keys, random and grid combinations (spec 3.2, fixed)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from oryxpy.config import Config
from oryxpy.errors import ConfigError

MAX_COMBOS = 65536


@dataclass(frozen=True)
class HyperParam:
    """One hyper-parameter's search space: a fixed value, a [min, max] range, or explicit values."""

    name: str
    integer: bool
    values: tuple[float, ...]
    is_range: bool = False
    log_scale: bool = False  # a range of positive values spread evenly in log space (sampling, grid and centre)

    @property
    def distinct(self) -> float:
        """How many different values it can take (inf for a real range)."""
        if not self.is_range:
            return len(self.values)
        low, high = self.values
        return high - low + 1 if self.integer else math.inf

    def sample(self, rng: np.random.Generator) -> Any:
        """A uniform random value."""
        if self.is_range:
            low, high = self.values
            if self.log_scale:
                return self._typed(math.exp(rng.uniform(math.log(low), math.log(high))))
            return int(rng.integers(low, high + 1)) if self.integer else float(rng.uniform(low, high))
        return self.values[int(rng.integers(len(self.values)))]

    def _typed(self, value: float) -> Any:
        return int(round(value)) if self.integer else float(value)

    def centre(self) -> Any:
        """The value to use when nothing can choose: a range's middle (geometric for log scale), the middle listed value."""
        if not self.is_range:
            return self.values[(len(self.values) - 1) // 2]
        return self.trial_values(1)[0]

    def trial_values(self, k: int) -> list[Any]:
        """Up to k values spread over a range, for a grid; every one of explicit values."""
        if not self.is_range:
            return list(self.values)
        low, high = self.values
        if self.log_scale:
            if k == 1:
                return [self._typed(math.sqrt(low * high))]
            return sorted({self._typed(v) for v in np.geomspace(low, high, k)})
        if k == 1:
            return [(low + high) // 2 if self.integer else (low + high) / 2]
        if self.integer:
            if k > high - low:
                return list(range(int(low), int(high) + 1))
            return sorted({int(round(v)) for v in np.linspace(low, high, k)})
        return [float(v) for v in np.linspace(low, high, k)]


def _typed(name: str, value: float, integer: bool) -> float:
    if not integer:
        return float(value)
    if float(value) != int(value):
        raise ConfigError(f"config key {name} = {value!r} must be a whole number")
    return int(value)


def from_config(config: Config, key: str, integer: bool, log_scale: bool = False) -> HyperParam:
    """Read a hyper-parameter key: a number is fixed; [a, b] is the range a..b; a longer list is those values.

    The key decides int or float (unlike Oryx, where the literal's spelling did, spec 9.4). ``log_scale``: a range
    of positive values is searched evenly in log space (a range reaching 0 stays linear).
    """
    raw = config[key]
    values = raw if isinstance(raw, list) else [raw]
    typed = tuple(_typed(key, v, integer) for v in values)
    if len(typed) == 2:
        low, high = typed
        if low > high:
            raise ConfigError(f"config key {key} = {raw!r}: a range [min, max] needs min <= max")
        return HyperParam(key, integer, typed if low != high else (low,), is_range=low != high,
                          log_scale=log_scale and low > 0)
    return HyperParam(key, integer, tuple(dict.fromkeys(typed)))


def _grid_size(params: list[HyperParam], candidates: int) -> int:
    """Smallest k with prod(min(k, distinct)) >= candidates (or where the product stops growing); explicit
    value lists always count in full."""
    k, previous = 1, 0
    while True:
        product = math.prod(min(k, p.distinct) if p.is_range else p.distinct for p in params)
        if product >= candidates or product == previous or product >= MAX_COMBOS:
            return k
        previous, k = product, k + 1


def choose_combos(params: list[HyperParam], search: str, candidates: int, rng: np.random.Generator) -> list[tuple[Any, ...]]:
    """``candidates`` combinations (fewer when the grid is smaller), one value per parameter in order.

    Grid: ranges spread over k values as Oryx's grid, explicit value lists in full, and a uniform random sample of
    the grid when it has more combinations than candidates (Oryx took the first ones in cartesian order and only
    the first k listed values). Random: each value drawn independently.
    """
    if candidates < 1:
        raise ConfigError("oryx.ml.eval.candidates must be >= 1")
    if search == "random":
        return [tuple(p.sample(rng) for p in params) for _ in range(candidates)]
    if search != "grid":
        raise ConfigError(f"oryx.ml.eval.hyperparam-search = {search!r}: expected 'random' or 'grid'")
    k = _grid_size(params, candidates)
    axes = [p.trial_values(k) for p in params]
    # first parameter varies fastest, as Oryx's grid
    combos = [tuple(reversed(c)) for c in itertools.islice(itertools.product(*reversed(axes)), MAX_COMBOS)]
    chosen = rng.permutation(len(combos))[:candidates]
    return [combos[i] for i in chosen]
