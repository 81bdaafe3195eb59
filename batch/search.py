"""Model-agnostic hyper-parameter search: values from config keys; random, grid (spec 3.2, fixed) and staged
(coarse to fine) combinations; and the rule that confirms the best few on a second held-out fold
(:func:`finalists`, :func:`confirmed_choice`, driven by batch.mlupdate)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from oryxpy.config import Config
from oryxpy.errors import ConfigError

MAX_COMBOS = 65536
STAGED = "staged"
SEARCHES = ("random", "grid", STAGED)
REFINE_LEADERS = 2  # the staged search's last round refines around this many of the best combinations


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
            return int(rng.integers(int(low), int(high) + 1)) if self.integer else float(rng.uniform(low, high))
        return self.values[int(rng.integers(len(self.values)))]

    def _typed(self, value: float) -> Any:
        return int(round(value)) if self.integer else float(value)

    def centre(self) -> Any:
        """The value to use when nothing can choose: a range's middle (geometric for log scale), the middle listed value."""
        if not self.is_range:
            return self.values[(len(self.values) - 1) // 2]
        return self.trial_values(1)[0]

    def neighbours(self, value: float, k: int) -> list[Any]:
        """The values half a step of a k-value grid below and above ``value`` (a range only), kept in the range."""
        if not self.is_range or k < 2:
            return []
        low, high = self.values
        if self.log_scale:
            factor = (high / low) ** (0.5 / (k - 1))
            moved = [value / factor, value * factor]
        else:
            step = (high - low) / (k - 1) / 2
            moved = [value - step, value + step]
        return [self._typed(min(max(v, low), high)) for v in moved]

    def trial_values(self, k: int) -> list[Any]:
        """Up to k values spread over a range, for a grid; every one of explicit values."""
        if not self.is_range:
            return list(self.values)
        low, high = self.values
        if self.integer and k > high - low:
            return list(range(int(low), int(high) + 1))
        if self.log_scale:
            if k == 1:
                return [self._typed(math.sqrt(low * high))]
            spread = sorted({self._typed(v) for v in np.geomspace(low, high, k)})
            if len(spread) == k or not self.integer:
                return spread  # else rounding merged values of a short integer range: spread it linearly
        if k == 1:
            return [(low + high) // 2 if self.integer else (low + high) / 2]
        if self.integer:
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
    k, previous = 1, 0.0
    while True:
        product = math.prod(min(k, p.distinct) if p.is_range else p.distinct for p in params)
        if product >= candidates or product == previous or product >= MAX_COMBOS:
            return k
        previous, k = float(product), k + 1


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


class SearchPlan:
    """A generation's candidates, round by round. ``grid`` and ``random`` are one round (:func:`choose_combos`).

    ``staged`` (coarse to fine, each round around the best so far):

    1. a grid of the real-valued parameters (``candidates`` combinations at most; integers at their centre);
    2. each integer parameter's other grid values (3 over a range, or every listed value), one parameter at a time,
       the rest at the best so far (for ALS: features sized to the data after lambda and alpha fit the centre);
    3. each real range's value moved half a round-1 grid step down and up, around each of the best two so far.

    Combinations already built are never built again; ``candidates`` 1 builds one (the centre). Round 1 costs
    ``candidates`` builds; rounds 2 and 3 add at most 2 per integer range (or its other listed values) and 4 per
    real range.
    """

    def __init__(self, params: list[HyperParam], search: str, candidates: int, rng: np.random.Generator):
        if search not in SEARCHES:
            raise ConfigError(f"oryx.ml.eval.hyperparam-search = {search!r}: expected one of {', '.join(SEARCHES)}")
        self.params = params
        self.search = search
        self.candidates = candidates
        self.rng = rng
        self._tried: set[tuple[Any, ...]] = set()
        self._grid_k = 2
        self._stage = 0

    def first_round(self) -> list[tuple[Any, ...]]:
        if self.search != STAGED:
            return self._fresh(choose_combos(self.params, self.search, self.candidates, self.rng))
        reals = [n for n, p in enumerate(self.params) if not p.integer]
        if self.candidates < 1:
            raise ConfigError("oryx.ml.eval.candidates must be >= 1")
        self._grid_k = max(2, _grid_size([self.params[n] for n in reals], self.candidates))
        centre = [p.centre() for p in self.params]
        combos = []
        for values in choose_combos([self.params[n] for n in reals], "grid", self.candidates, self.rng):
            combo = list(centre)
            for n, value in zip(reals, values, strict=True):
                combo[n] = value
            combos.append(tuple(combo))
        return self._fresh(combos)

    def next_round(self, leaders: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The next round's new combinations around ``leaders`` (the scored combinations so far, best first); [] when
        the search is over."""
        while self.search == STAGED and self.candidates > 1 and self._stage < 2 and leaders:
            self._stage += 1
            if self._stage == 1:
                combos = self._integers(leaders[0])
            else:  # around the best two: scores a hair apart on a held-out part are often a tie
                combos = [c for leader in leaders[:REFINE_LEADERS] for c in self._refined(leader)]
            fresh = self._fresh(combos)
            if fresh:
                return fresh
        return []

    def _integers(self, best: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return [_replaced(best, n, v) for n, p in enumerate(self.params) if p.integer for v in p.trial_values(3)]

    def _refined(self, best: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        combos = []
        for n, p in enumerate(self.params):
            if p.integer or not p.is_range:
                continue
            combos += [_replaced(best, n, v) for v in p.neighbours(best[n], self._grid_k)]
        return combos

    def _fresh(self, combos: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        fresh = []
        for combo in combos:
            key = tuple(round(v, 12) if isinstance(v, float) else v for v in combo)
            if key not in self._tried:
                self._tried.add(key)
                fresh.append(combo)
        return fresh


def _replaced(combo: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    return (*combo[:index], value, *combo[index + 1 :])


def finalists(scores: list[float], count: int) -> list[int]:
    """The indices of the best ``count`` scores (higher is better; NaN never), best first; [] when fewer than two
    can be compared, since a confirmation then has nothing to choose between."""
    ranked = sorted((n for n, s in enumerate(scores) if not math.isnan(s)), key=lambda n: -scores[n])[:count]
    return ranked if len(ranked) >= 2 else []


def confirmed_choice(first: list[float], second: list[float]) -> int:
    """Which finalist wins on two held-out folds: the best mean of its two scores (ties: the better first-fold
    score, so the order of ``first`` decides). When the second fold could not score every finalist, the first fold
    alone decides: a mean over one fold for some and two for others would not compare like with like."""
    if len(first) != len(second) or not first:
        raise ValueError("confirmed_choice needs one first- and one second-fold score per finalist")
    if any(math.isnan(s) for s in first + second):
        return max(range(len(first)), key=lambda n: (first[n], -n))
    return max(range(len(first)), key=lambda n: ((first[n] + second[n]) / 2, first[n], -n))
