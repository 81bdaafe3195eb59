"""The A/B test join: served lists (user, variant, items, time) against later input (user, item, time).

An exposure is one served list. It converts when the same user interacts with one of its items within the window
after it was served (once per exposure, however many of its items are taken; one interaction converts at most one
exposure). Either stream may run ahead of the other: interactions are kept for one window too, so a list read after
the interaction it caused still converts.
Memory is bounded by the window: both sides are dropped once older than the newest time seen minus the window.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from oryxpy.analytics.stats import two_proportion_test, wilson_interval
from oryxpy.errors import ConfigError


@dataclass
class _Exposure:
    time: float
    variant: str
    items: frozenset[str]
    converted: bool = False


@dataclass
class Counts:
    exposures: int = 0
    conversions: int = 0


@dataclass
class _User:
    exposures: deque[_Exposure] = field(default_factory=deque)
    interactions: deque[list[Any]] = field(default_factory=deque)  # [time, item, used]: each converts once


class ExperimentAnalysis:
    """Per-variant exposures and conversions, rates with Wilson intervals, each variant tested against the control
    (the first variant) with a two-proportion z-test. Thread-safe."""

    def __init__(self, variants: Sequence[str], window_s: float, significance: float = 0.01, confidence: float = 0.95):
        if not variants:
            raise ConfigError("an experiment needs at least one variant")
        if window_s <= 0:
            raise ConfigError(f"conversion window must be positive, not {window_s}")
        self.variants = list(variants)
        self.window_s, self.significance, self.confidence = float(window_s), significance, confidence
        self.counts: dict[str, Counts] = {v: Counts() for v in self.variants}
        self._users: dict[str, _User] = defaultdict(_User)
        self._watermark = float("-inf")
        self._lock = threading.Lock()
        self.unknown_variant = 0  # served lists naming a variant not configured

    def served(self, user: str, variant: str, items: Iterable[str], time: float) -> None:
        """One list served to ``user`` by ``variant`` at ``time`` (seconds)."""
        with self._lock:
            counts = self.counts.get(variant)
            if counts is None:
                self.unknown_variant += 1
                return
            exposure = _Exposure(float(time), variant, frozenset(items))
            counts.exposures += 1
            state = self._users[user]
            for seen in state.interactions:
                at, item, used = seen
                if not used and exposure.time <= at <= exposure.time + self.window_s and item in exposure.items:
                    exposure.converted = seen[2] = True
                    counts.conversions += 1
                    break
            state.exposures.append(exposure)
            self._advance(time)

    def interaction(self, user: str, item: str, time: float) -> bool:
        """An input interaction; True when it converted an exposure (the latest unconverted one holding ``item``)."""
        with self._lock:
            time = float(time)
            state = self._users[user]
            seen = [time, item, False]
            state.interactions.append(seen)
            converted = False
            for exposure in reversed(state.exposures):
                if not exposure.converted and exposure.time <= time <= exposure.time + self.window_s \
                        and item in exposure.items:
                    exposure.converted = True
                    self.counts[exposure.variant].conversions += 1
                    converted = seen[2] = True
                    break
            self._advance(time)
            return converted

    def _advance(self, time: float) -> None:
        """Move the watermark; every so often drop what fell out of the window (under the lock)."""
        if time <= self._watermark:
            return
        before = self._watermark
        self._watermark = time
        if time - before < self.window_s / 4 and before > float("-inf"):
            return
        horizon = time - 2 * self.window_s  # two windows: the other stream may lag by up to one
        for user in [u for u, s in self._users.items() if self._prune(s, horizon)]:
            del self._users[user]

    @staticmethod
    def _prune(state: _User, horizon: float) -> bool:
        while state.exposures and state.exposures[0].time < horizon:
            state.exposures.popleft()
        while state.interactions and state.interactions[0][0] < horizon:
            state.interactions.popleft()
        return not state.exposures and not state.interactions

    def results(self) -> dict[str, Any]:
        """Each variant's exposures, conversions, rate, interval and test against the control; the winner if any."""
        with self._lock:
            counts = {v: Counts(c.exposures, c.conversions) for v, c in self.counts.items()}
        control = self.variants[0]
        base = counts[control]
        rows = []
        for name in self.variants:
            c = counts[name]
            rate = c.conversions / c.exposures if c.exposures else 0.0
            low, high = wilson_interval(c.conversions, c.exposures, self.confidence)
            row: dict[str, Any] = {"name": name, "control": name == control, "exposures": c.exposures,
                                   "conversions": c.conversions, "rate": rate, "interval": [low, high]}
            if name != control:
                test = two_proportion_test(base.conversions, base.exposures, c.conversions, c.exposures)
                significant = test.p_value < self.significance
                row.update(difference=test.difference, z=test.z, p_value=test.p_value,
                           verdict=("better" if test.difference > 0 else "worse") if significant else "no difference")
            rows.append(row)
        return {"control": control, "significance": self.significance, "confidence": self.confidence,
                "window_s": self.window_s, "variants": rows, "winner": _winner(rows),
                "unknown_variant": self.unknown_variant}


def _winner(rows: list[dict[str, Any]]) -> str | None:
    """The best variant significantly better than the control, else the control when every other variant is
    significantly worse, else None (no winner declared)."""
    others = rows[1:]
    if not others:
        return None
    better = [r for r in others if r["verdict"] == "better"]
    if better:
        return str(max(better, key=lambda r: r["rate"])["name"])
    if all(r["verdict"] == "worse" for r in others):
        return str(rows[0]["name"])
    return None
