"""PopularServingModelManager and its model: the same ranking for everyone, served by the generic endpoints.

The model satisfies serving.models.RankedItemsModel, so /recommend, /recommendToMany, /recommendToAnonymous,
/recommendWithContext, /mostPopularItems, /mostActiveUsers, /knownItems and the ID lists answer from it; the
endpoints that need vectors (/similarity, /estimate, /because, ...) answer 501.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection

import numpy as np

from oryxpy.config import Config
from oryxpy.interfaces import Rescorer, ServingModelManager, load_status
from oryxpy.messages import UpdateMessage, VectorUpdate
from popular.model import PopularState, apply_update, model_text, parse_model
from serving.rescorer import apply as apply_rescorer
from serving.rescorer import load_provider
from serving.selection import members

log = logging.getLogger(__name__)


class PopularServingModel:
    """A most-popular model being served: writes come from the update consumer thread, reads from requests."""

    def __init__(self, state: PopularState):
        self.state = state
        self._lock = threading.Lock()
        self._version = 0
        self._ranking: tuple[int, np.ndarray, np.ndarray] | None = None  # version, IDs and scores, best first
        self._counts: dict[str, tuple[int, Counter[str]]] = {}

    def update(self, message: VectorUpdate) -> None:
        with self._lock:
            apply_update(self.state, message)
            self._version += 1

    # ---- serving.models.RankedItemsModel ----

    def fraction_loaded(self) -> float:
        return self.state.fraction_loaded()

    def known_items(self, user: str) -> tuple[str, ...]:
        return tuple(self.state.known.get(user, ()))

    def has_item(self, item: str) -> bool:
        return item in self.state.scores

    def user_ids(self) -> list[str]:
        with self._lock:
            return list(self.state.known)

    def item_ids(self) -> list[str]:
        with self._lock:
            return list(self.state.scores)

    def user_counts(self) -> Counter[str]:
        return self._cached("users", lambda: Counter({u: len(k) for u, k in self.state.known.items()}))

    def item_counts(self) -> Counter[str]:
        return self._cached("items", lambda: Counter(itertools.chain.from_iterable(self.state.known.values())))

    def score_now(self, item: str) -> float | None:
        """The item's score as of now, or None when the model does not rank it."""
        score = self.state.scores.get(item)
        return None if score is None else score * self.state.decay_to(int(time.time() * 1000))

    def top_items(self, how_many: int, exclude: Collection[str], rescorer: Rescorer | None) -> list[tuple[str, float]]:
        """The best items by score as of now (decayed from the model's time), after ``exclude`` and ``rescorer``."""
        if how_many <= 0:
            return []
        ids, scores = self._ranked()
        decay = self.state.decay_to(int(time.time() * 1000))
        if rescorer is None:  # the ranking is the answer: walk it until enough are found
            results: list[tuple[str, float]] = []
            for n, item in enumerate(ids):
                if item not in exclude:
                    results.append((str(item), float(scores[n]) * decay))
                    if len(results) == how_many:
                        break
            return results
        kept, kept_scores = ids, scores * decay
        if exclude:
            candidates = ~members(ids, exclude)
            kept, kept_scores = ids[candidates], kept_scores[candidates]
        rescored = apply_rescorer(rescorer, kept, kept_scores)
        order = np.argsort(-np.nan_to_num(rescored, nan=-np.inf), kind="stable")[:how_many]
        return [(str(kept[n]), float(rescored[n])) for n in order if not math.isnan(rescored[n])]

    def _ranked(self) -> tuple[np.ndarray, np.ndarray]:
        ranking = self._ranking
        if ranking is not None and ranking[0] == self._version:
            return ranking[1], ranking[2]
        with self._lock:
            version, count = self._version, len(self.state.scores)
            ids = np.fromiter(self.state.scores.keys(), dtype=object, count=count)
            scores = np.fromiter(self.state.scores.values(), dtype=np.float64, count=count)
        order = np.argsort(-scores, kind="stable")
        ids, scores = ids[order], scores[order]
        self._ranking = (version, ids, scores)
        return ids, scores

    def _cached(self, name: str, compute: Callable[[], Counter[str]]) -> Counter[str]:
        cached = self._counts.get(name)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        with self._lock:
            version, counts = self._version, compute()
        self._counts[name] = (version, counts)
        return counts

    def __repr__(self) -> str:
        return (f"PopularServingModel[as of {self.state.timestamp_ms}, {len(self.state.scores)} items, "
                f"{len(self.state.known)} users, fraction loaded {self.fraction_loaded():.3f}]")


class PopularServingModelManager(ServingModelManager):
    """Keeps the current most-popular model (``oryx.serving.model-manager-class``)."""

    def __init__(self, config: Config):
        self.config = config
        self.min_fraction = config.settings.serving.min_model_load_fraction
        self.rescorer_provider = load_provider(config)
        self.model: PopularServingModel | None = None

    def get_model(self) -> PopularServingModel | None:
        return self.model

    def is_ready(self) -> bool:
        return load_status(self.model, self.min_fraction) == "ready"

    def consume(self, message: UpdateMessage) -> None:
        if isinstance(message, VectorUpdate):
            if self.model is not None:  # an UP before any model is dropped
                self.model.update(message)
            return
        text = model_text(message, self.config)
        if text is None:
            log.warning("Unable to load the model file of %s; ignoring", message)
            return
        self.model = PopularServingModel(parse_model(text))
        log.info("%s", self.model)

    def close(self) -> None:
        self.model = None
