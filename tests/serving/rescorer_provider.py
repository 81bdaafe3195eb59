"""Rescorer providers for the serving tests, after Oryx's TestALSRescorerProvider."""

from __future__ import annotations

from typing import Any

import numpy as np

from serving.rescorer import RescorerProvider


class _EvenLastCharRescorer:
    """Filters IDs whose last character's code is even; doubles every score."""

    def rescore(self, id: str, score: float) -> float:  # noqa: A002
        return 2.0 * score

    def is_filtered(self, id: str) -> bool:  # noqa: A002
        return ord(id[-1]) % 2 == 0


class _VectorizedRescorer(_EvenLastCharRescorer):
    """The same rescorer with the vectorized methods."""

    def rescore_many(self, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return 2.0 * scores

    def is_filtered_many(self, ids: np.ndarray) -> np.ndarray:
        return np.array([ord(i[-1]) % 2 == 0 for i in ids], dtype=bool)


class TestALSRescorerProvider:
    """Active only when rescorerParams are given (like Oryx's); defines every rescorer."""

    __test__ = False  # not a pytest test class

    rescorer_class: Any = _EvenLastCharRescorer

    def _make(self, args: list[str]) -> Any:
        return self.rescorer_class() if args else None

    def get_recommend_rescorer(self, user_ids: list[str], args: list[str]) -> Any:
        return self._make(args)

    def get_recommend_to_anonymous_rescorer(self, item_ids: list[str], args: list[str]) -> Any:
        return self._make(args)

    def get_most_popular_items_rescorer(self, args: list[str]) -> Any:
        return self._make(args)

    def get_most_active_users_rescorer(self, args: list[str]) -> Any:
        return self._make(args)

    def get_most_similar_items_rescorer(self, args: list[str]) -> Any:
        return self._make(args)


class VectorizedRescorerProvider(TestALSRescorerProvider):
    """The same provider, whose rescorers offer rescore_many / is_filtered_many."""

    rescorer_class = _VectorizedRescorer


class NegatingRescorerProvider(RescorerProvider):
    """A second provider (for MultiRescorer): negates recommend scores when args are given."""

    class _Negate:
        def rescore(self, id: str, score: float) -> float:  # noqa: A002
            return -score

        def is_filtered(self, id: str) -> bool:  # noqa: A002
            return False

    def get_recommend_rescorer(self, user_ids: list[str], args: list[str]) -> Any:
        return self._Negate() if args else None


class BrokenProvider:
    """A provider whose constructor fails."""

    def __init__(self) -> None:
        raise RuntimeError("cannot start")
