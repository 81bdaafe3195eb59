"""Rescorer providers (spec 5.4): loading them from config, combining several, applying a rescorer to many candidates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.interfaces import Rescorer, load_class

KEY = "oryx.als.rescorer-provider-class"
METHODS = ("get_recommend_rescorer", "get_recommend_to_anonymous_rescorer", "get_most_popular_items_rescorer",
           "get_most_active_users_rescorer", "get_most_similar_items_rescorer")


class RescorerProvider:
    """Base provider: every rescorer is None (Oryx's AbstractRescorerProvider).

    A provider is any class with a no-argument constructor and these five methods (none needs to subclass this).
    A rescorer has ``rescore(id, score) -> float`` (NaN excludes the ID) and ``is_filtered(id) -> bool``; it may
    also offer vectorized ``rescore_many(ids, scores) -> ndarray`` and ``is_filtered_many(ids) -> ndarray[bool]``
    (``ids`` a numpy object array), used when present. ``rescore`` must be a pure function: it is applied to every
    allowed candidate, then again to the few results to report their double-precision scores.
    """

    def get_recommend_rescorer(self, user_ids: list[str], args: list[str]) -> Rescorer | None:
        return None

    def get_recommend_to_anonymous_rescorer(self, item_ids: list[str], args: list[str]) -> Rescorer | None:
        return None

    def get_most_popular_items_rescorer(self, args: list[str]) -> Rescorer | None:
        return None

    def get_most_active_users_rescorer(self, args: list[str]) -> Rescorer | None:
        return None

    def get_most_similar_items_rescorer(self, args: list[str]) -> Rescorer | None:
        return None


class MultiRescorer:
    """Filtered if any rescorer filters; scores pass through each rescorer in order, stopping at NaN."""

    def __init__(self, rescorers: Sequence[Any]):
        flat: list[Any] = []
        for r in rescorers:
            flat.extend(r.rescorers if isinstance(r, MultiRescorer) else [r])
        self.rescorers: list[Any] = flat

    def rescore(self, id: str, score: float) -> float:  # noqa: A002
        for r in self.rescorers:
            score = r.rescore(id, score)
            if math.isnan(score):
                return score
        return score

    def is_filtered(self, id: str) -> bool:  # noqa: A002
        return any(r.is_filtered(id) for r in self.rescorers)

    def rescore_many(self, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        scores = np.array(scores, dtype=np.float64)
        for r in self.rescorers:
            live = ~np.isnan(scores)
            scores[live] = rescore_all(r, ids[live], scores[live])
        return scores

    def is_filtered_many(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), dtype=bool)
        for r in self.rescorers:
            out |= filtered_all(r, ids)
        return out


class MultiRescorerProvider(RescorerProvider):
    """Several providers: no rescorer -> None, one -> itself, several -> a MultiRescorer."""

    def __init__(self, providers: Sequence[Any]):
        self.providers = list(providers)

    def _combine(self, method: str, *args: Any) -> Any:
        found = [r for p in self.providers if (r := getattr(p, method)(*args)) is not None]
        return None if not found else found[0] if len(found) == 1 else MultiRescorer(found)

    def get_recommend_rescorer(self, user_ids: list[str], args: list[str]) -> Rescorer | None:
        return self._combine("get_recommend_rescorer", user_ids, args)  # type: ignore[no-any-return]

    def get_recommend_to_anonymous_rescorer(self, item_ids: list[str], args: list[str]) -> Rescorer | None:
        return self._combine("get_recommend_to_anonymous_rescorer", item_ids, args)  # type: ignore[no-any-return]

    def get_most_popular_items_rescorer(self, args: list[str]) -> Rescorer | None:
        return self._combine("get_most_popular_items_rescorer", args)  # type: ignore[no-any-return]

    def get_most_active_users_rescorer(self, args: list[str]) -> Rescorer | None:
        return self._combine("get_most_active_users_rescorer", args)  # type: ignore[no-any-return]

    def get_most_similar_items_rescorer(self, args: list[str]) -> Rescorer | None:
        return self._combine("get_most_similar_items_rescorer", args)  # type: ignore[no-any-return]


def load_provider(config: Config) -> Any | None:
    """The provider(s) named by ``oryx.als.rescorer-provider-class``, or None; ConfigError naming the key otherwise."""
    setting = config[KEY]
    if not setting or not str(setting).strip():
        return None
    providers = []
    for dotted in (d.strip() for d in str(setting).split(",")):
        if not dotted:
            continue
        cls = load_class(dotted, KEY)
        try:
            provider = cls()
        except Exception as exc:
            raise ConfigError(f"{KEY} = {dotted!r}: its no-argument constructor failed: {exc}") from exc
        missing = [m for m in METHODS if not callable(getattr(provider, m, None))]
        if missing:
            raise ConfigError(f"{KEY} = {dotted!r} is not a rescorer provider: it lacks {', '.join(missing)}")
        providers.append(provider)
    if not providers:
        return None
    return providers[0] if len(providers) == 1 else MultiRescorerProvider(providers)


def filtered_all(rescorer: Any, ids: np.ndarray) -> np.ndarray:
    """``is_filtered`` of each ID, vectorized when the rescorer allows."""
    many = getattr(rescorer, "is_filtered_many", None)
    if many is not None:
        return np.asarray(many(ids), dtype=bool)
    return np.fromiter((bool(rescorer.is_filtered(i)) for i in ids), dtype=bool, count=len(ids))


def rescore_all(rescorer: Any, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``rescore`` of each (ID, score) as float64, vectorized when the rescorer allows."""
    many = getattr(rescorer, "rescore_many", None)
    if many is not None:
        return np.asarray(many(ids, scores), dtype=np.float64)
    return np.fromiter((rescorer.rescore(i, float(s)) for i, s in zip(ids, scores, strict=True)),
                       dtype=np.float64, count=len(ids))


def apply(rescorer: Any, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores (float64) with NaN where an ID is already excluded (NaN or -inf), filtered, or rescored to NaN."""
    out = np.asarray(scores, dtype=np.float64).copy()
    out[out == -np.inf] = np.nan
    live = np.flatnonzero(~np.isnan(out))
    if len(live):
        out[live[filtered_all(rescorer, ids[live])]] = np.nan
        live = np.flatnonzero(~np.isnan(out))
        out[live] = rescore_all(rescorer, ids[live], out[live])
    return out
