"""The speed layer's ALS model: user and item vectors, the IDs still expected, and cached X'X / Y'Y solvers."""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Sequence

import numpy as np

from oryxpy.als import Solver, SolverCache
from oryxpy.pmml import ALSModelInfo
from speed.als.vectors import FeatureVectors


class ALSSpeedModel:
    """X (users) and Y (items) with the settings of the PMML they came from, as Oryx's ALSSpeedModel."""

    def __init__(self, features: int, implicit: bool, log_strength: bool, epsilon: float):
        self.features = features
        self.implicit = implicit
        self.log_strength = log_strength
        self.epsilon = epsilon
        self.x = FeatureVectors(features)
        self.y = FeatureVectors(features)
        self._expected_users: set[str] = set()
        self._expected_items: set[str] = set()
        self._expected_lock = threading.Lock()
        self.xtx = SolverCache(self.x.gram, "X'X", precomputed=True)
        self.yty = SolverCache(self.y.gram, "Y'Y", precomputed=True)

    @classmethod
    def from_info(cls, info: ALSModelInfo) -> ALSSpeedModel:
        model = cls(info.features, info.implicit, False, math.nan)
        model.update_settings(info)
        return model

    def update_settings(self, info: ALSModelInfo) -> None:
        """Take implicit / logStrength / epsilon from a new PMML with the same features (Oryx ignores them: spec 9.7)."""
        self.implicit = info.implicit
        self.log_strength = info.log_strength
        self.epsilon = float(info.epsilon) if info.log_strength and info.epsilon is not None else math.nan  # checked by the manager

    def set_user_vector(self, id_: str, vector: np.ndarray) -> None:
        self.x.set(id_, vector)
        if self._expected_users:
            with self._expected_lock:
                self._expected_users.discard(id_)
        self.xtx.set_dirty()

    def set_item_vector(self, id_: str, vector: np.ndarray) -> None:
        self.y.set(id_, vector)
        if self._expected_items:
            with self._expected_lock:
                self._expected_items.discard(id_)
        self.yty.set_dirty()

    def set_user_vectors(self, ids: Sequence[str], matrix: np.ndarray) -> None:
        self.x.set_many(ids, matrix)
        self._discard_expected(self._expected_users, ids)
        self.xtx.set_dirty()

    def set_item_vectors(self, ids: Sequence[str], matrix: np.ndarray) -> None:
        self.y.set_many(ids, matrix)
        self._discard_expected(self._expected_items, ids)
        self.yty.set_dirty()

    def _discard_expected(self, expected: set[str], ids: Sequence[str]) -> None:
        if expected:
            with self._expected_lock:
                expected.difference_update(ids)

    def retain_recent_and_ids(self, user_ids: Collection[str], item_ids: Collection[str]) -> None:
        """On a new MODEL: drop vectors neither in it nor recent; expect the model's IDs not yet present."""
        for vectors, ids, expected, solver in (
            (self.x, user_ids, self._expected_users, self.xtx),
            (self.y, item_ids, self._expected_items, self.yty),
        ):
            if vectors.retain_recent_and(ids):
                solver.set_dirty()
            with self._expected_lock:
                expected.clear()
                expected.update(i for i in ids if i not in vectors)

    def fraction_loaded(self) -> float:
        """(|X| + |Y|) / (|X| + |Y| + expected IDs), 1.0 when nothing is expected."""
        with self._expected_lock:
            expected = len(self._expected_users) + len(self._expected_items)
        if expected == 0:
            return 1.0
        loaded = len(self.x) + len(self.y)
        return loaded / (loaded + expected)

    def precompute_solvers(self) -> None:
        """Start recomputing stale solvers in the background."""
        self.xtx.get(blocking=False)
        self.yty.get(blocking=False)

    def solvers(self) -> tuple[Solver | None, Solver | None]:
        """The X'X and Y'Y solvers; waits for the first computation of each, then returns the latest (maybe stale)."""
        return self.xtx.get(blocking=True), self.yty.get(blocking=True)

    def __str__(self) -> str:
        return (f"ALSSpeedModel[features:{self.features}, implicit:{self.implicit}, X:{len(self.x)} users, "
                f"Y:{len(self.y)} items, fractionLoaded:{self.fraction_loaded():.3f}]")
