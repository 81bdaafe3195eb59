"""VectorModelUpdate: the batch update of any model whose output is user (X) and item (Y) vectors scored by dot
products (ALS, the two-tower model, their hybrid), abstract about how the vectors are trained.

It holds what such models share on top of MLUpdate's search: parsing the input and the train/test split
(batch.split's rule), decay and the zero threshold, AUC / RMSE and ranking evaluation of the factors kept in memory,
refit on all data, writing ``X/`` and ``Y/`` (Parquet) and ``model.pmml``, and the UP messages (Y, then X with the
known items) that follow the MODEL message. A model type provides :meth:`hyperparams` and :meth:`build_model`, which
writes a candidate with :meth:`write_vectors` and :meth:`write_pmml` and keeps its factors with :meth:`keep_model`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from batch.evaluation import mean_auc, ranking_metrics, rmse
from batch.interactions import Events, Ratings, aggregate, decay_and_threshold, known_items, parse_events
from batch.mlupdate import MODEL_FILE, MLUpdate
from batch.search import HyperParam
from batch.split import split_new
from oryxpy.config import Config
from oryxpy.messages import UP, up_value
from oryxpy.modelfiles import read_vectors
from oryxpy.modelfiles import write_vectors as write_vector_files
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.storage import join_uri, storage_for
from oryxpy.topics import TopicProducer

log = logging.getLogger(__name__)

SEND_CHUNK = 10_000
RANK_K = 10


@dataclass
class VectorData:
    """One generation's parsed input, split in train and test."""

    timestamp_ms: int
    train: Events
    test: Events | None
    everything: Events
    _known: dict[str, list[str]] | None = None
    note: str = ""  # which split was used and why (batch.split)

    def known(self) -> dict[str, list[str]]:
        if self._known is None:
            self._known = known_items(self.everything)
        return self._known


@dataclass
class BuiltModel:
    """A candidate's factors kept in memory for its evaluation: the train matrix they were fitted to, X and Y in its
    row and column order, and how the strengths were scaled (``log_strength``: log1p(value / epsilon))."""

    ratings: Ratings
    x: np.ndarray
    y: np.ndarray
    epsilon: float
    user_index: dict[str, int] = field(default_factory=dict)
    item_index: dict[str, int] = field(default_factory=dict)
    log_strength: bool = False


def concat(parts: list[Events]) -> Events:
    return Events(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("users", "items", "strength", "timestamp")))


class VectorModelUpdate(MLUpdate):
    """Searches, evaluates, refits and publishes a vector model; subclasses say how its vectors are trained.

    ``implicit`` chooses the evaluation (AUC and ranking metrics on the positive test pairs, or RMSE and ranking
    metrics); ``seed`` fixes the split, the search and the AUC's negative sampling (None: different every run).
    The input keys are Oryx's (``oryx.als.decay.*``, ``oryx.als.no-known-items``): every vector model reads its
    input as Oryx's ALS application does.
    """

    def __init__(self, config: Config, implicit: bool, seed: int | None):
        super().__init__(config)
        self.implicit = implicit
        self.seed = seed
        self.decay_factor: float = config.settings.als.decay.factor
        self.zero_threshold: float = config.settings.als.decay.zero_threshold
        self.no_known_items: bool = config.settings.als.no_known_items
        self.publish_vectors: bool = config.settings.batch.publish_vectors
        self._models: dict[str, BuiltModel] = {}
        self._lock = threading.Lock()

    # ---- what a vector model provides ----------------------------------------------------------------------
    @abstractmethod
    def hyperparams(self) -> list[HyperParam]:
        """The search space, in a fixed order."""

    @abstractmethod
    def build_model(self, data: VectorData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        """Train on ``data.train``, write the candidate (:meth:`write_vectors`, :meth:`write_pmml`) and keep its
        factors for evaluation (:meth:`keep_model`); write nothing when no model can be built."""

    def generation_done(self) -> None:  # noqa: B027 - optional hook
        """Called after each generation's update, whatever its outcome: drop what was cached for its input."""

    # ---- input, split and refit ----------------------------------------------------------------------------
    def run_update(self, timestamp_ms: int, new_data: Any, past_data: Any, model_dir: str,
                   update_producer: TopicProducer | None) -> None:
        try:
            super().run_update(timestamp_ms, new_data, past_data, model_dir, update_producer)
        finally:
            self.generation_done()

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> VectorData:
        new, _ = parse_events(new_values, "this generation's input")
        past, _ = parse_events(past_values, "past input")
        everything = concat([past, new])
        split = split_new(new.users.astype(str), new.items.astype(str), new.timestamp, self.test_fraction, self.seed,
                          set(past.users.astype(str).tolist()), set(past.items.astype(str).tolist()))
        note = f"{split.method} split: {split.reason}"
        if not split.evaluating:
            return VectorData(timestamp_ms, everything, None, everything, note=note)
        train = concat([past, new.take(~split.test)])
        log.info("train: %d records (%d past), test: %d records", len(train), len(past), int(split.test.sum()))
        return VectorData(timestamp_ms, train, new.take(split.test), everything, note=note)

    def refit_data(self, data: VectorData) -> VectorData | None:
        """All data as the train part, for the published model built with the chosen hyper-parameters."""
        if not isinstance(data, VectorData) or data.test is None:
            return None
        return dataclasses.replace(data, train=data.everything, test=None)

    def split_note(self, data: VectorData) -> str:
        return getattr(data, "note", "")

    def has_test_data(self, data: VectorData) -> bool:
        return data.test is not None and len(data.test) > 0

    def weighted(self, events: Events, data: VectorData) -> Events:
        """``events`` decayed to the generation's time, strengths under the zero threshold dropped (spec 3.3)."""
        return decay_and_threshold(events, self.decay_factor, self.zero_threshold, data.timestamp_ms)

    # ---- a candidate's files and factors -------------------------------------------------------------------
    def write_vectors(self, candidate_uri: str, user_ids: list[str], x: np.ndarray, item_ids: list[str],
                      y: np.ndarray, known: Iterable[list[str]] | None) -> None:
        """Write ``X/`` (with each user's known items unless oryx.als.no-known-items) and ``Y/``."""
        storage = storage_for(candidate_uri, self.config)
        lists = None if self.no_known_items or known is None else list(known)
        write_vector_files(storage, join_uri(candidate_uri, "X"), user_ids, x, lists)
        write_vector_files(storage, join_uri(candidate_uri, "Y"), item_ids, y)

    def write_pmml(self, candidate_uri: str, info: ALSModelInfo) -> None:
        """Write the candidate's ``model.pmml`` (Oryx's ALS PMML, with the model type's extensions in ``info.extra``)."""
        storage_for(candidate_uri, self.config).write_text(join_uri(candidate_uri, MODEL_FILE), als_model_to_pmml(info))

    def keep_model(self, candidate_uri: str, model: BuiltModel) -> None:
        """Keep a candidate's factors for :meth:`evaluate` (until :meth:`release`)."""
        with self._lock:
            self._models[candidate_uri] = model

    def take_model(self, candidate_uri: str) -> BuiltModel | None:
        """The factors kept for a candidate, no longer kept; None when it built none."""
        with self._lock:
            return self._models.pop(candidate_uri, None)

    def release(self, candidate_uri: str) -> None:
        self.take_model(candidate_uri)

    # ---- evaluation --------------------------------------------------------------------------------------------
    def evaluate(self, data: VectorData, candidate_uri: str) -> dict[str, float]:
        """AUC (implicit) or RMSE, then nDCG, precision, recall and MAP at RANK_K, over the test pairs whose user and
        item the candidate knows; ``test_pairs`` counts them."""
        with self._lock:
            model = self._models[candidate_uri]
        assert data.test is not None
        user_ids, item_ids, u, i, values = aggregate(self.weighted(data.test, data), self.implicit)
        if model.log_strength:
            values = np.log1p(values / model.epsilon)
        users = np.array([model.user_index.get(str(x), -1) for x in user_ids], dtype=np.int64)[u]
        items = np.array([model.item_index.get(str(x), -1) for x in item_ids], dtype=np.int64)[i]
        inside = (users >= 0) & (items >= 0)
        users, items, values = users[inside], items[inside], values[inside]
        metrics: dict[str, float] = {}
        if self.implicit:
            metrics["auc"] = mean_auc(model.x, model.y, users, items, np.random.default_rng(self.seed))
            positive = values > 0
        else:
            metrics["rmse"] = rmse(model.x, model.y, users, items, values)
            positive = np.ones(len(values), dtype=bool)
        relevant = sp.csr_matrix((np.ones(int(positive.sum())), (users[positive], items[positive])), shape=model.ratings.matrix.shape)
        metrics.update(ranking_metrics(model.x, model.y, relevant, model.ratings.matrix, RANK_K))
        metrics["test_pairs"] = float(len(users))
        return metrics

    # ---- publication ---------------------------------------------------------------------------------------
    def publish_additional(self, data: VectorData, model_uri: str, producer: TopicProducer) -> None:
        """UP messages: every item vector, then every user vector with its known items (spec 2.3)."""
        if not self.publish_vectors:
            log.info("oryx.batch.publish-vectors is false: no UP messages (consumers load X/ and Y/ from %s)", model_uri)
            return
        storage = storage_for(model_uri, self.config)
        item_ids, y, _ = read_vectors(storage, join_uri(model_uri, "Y"))
        send_updates(producer, (up_value("Y", id_, vec) for id_, vec in zip(item_ids, y, strict=True)))
        user_ids, x, known = read_vectors(storage, join_uri(model_uri, "X"))
        knowns = known if known is not None and not self.no_known_items else [None] * len(user_ids)
        send_updates(producer, (up_value("X", id_, vec, k) for id_, vec, k in zip(user_ids, x, knowns, strict=True)))
        log.info("published %d item and %d user vectors", len(item_ids), len(user_ids))


def send_updates(producer: TopicProducer, values: Iterable[str]) -> None:
    """Send UP messages in chunks of SEND_CHUNK."""
    chunk: list[tuple[str, str]] = []
    for value in values:
        chunk.append((UP, value))
        if len(chunk) >= SEND_CHUNK:
            producer.send_all(chunk)
            chunk = []
    if chunk:
        producer.send_all(chunk)

