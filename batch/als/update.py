"""Oryx's ALSUpdate on the local engine: time-based split, ALS build, AUC / RMSE and ranking evaluation, UP publishing."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from batch.als.data import (
    Events,
    Ratings,
    aggregate,
    build_ratings,
    decay_and_threshold,
    known_items,
    parse_events,
)
from batch.als.engine import ALSParams, train_als
from batch.evaluation import mean_auc, ranking_metrics, rmse
from batch.mlupdate import MODEL_FILE, MLUpdate
from batch.search import HyperParam, from_config
from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.messages import UP, up_value
from oryxpy.modelfiles import read_vectors, write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.storage import join_uri, storage_for
from oryxpy.topics import TopicProducer

log = logging.getLogger(__name__)

SEND_CHUNK = 10_000
RANK_K = 10


@dataclass
class ALSData:
    """One generation's parsed input, split in train and test."""

    timestamp_ms: int
    train: Events
    test: Events | None
    everything: Events
    _known: dict[str, list[str]] | None = None

    def known(self) -> dict[str, list[str]]:
        if self._known is None:
            self._known = known_items(self.everything)
        return self._known


@dataclass
class BuiltModel:
    """A candidate's factors kept in memory for its evaluation and publication."""

    ratings: Ratings
    x: np.ndarray
    y: np.ndarray
    epsilon: float
    user_index: dict[str, int] = field(default_factory=dict)
    item_index: dict[str, int] = field(default_factory=dict)


def concat(parts: list[Events]) -> Events:
    return Events(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("users", "items", "strength", "timestamp")))


class ALSUpdate(MLUpdate):
    """Builds ALS models (features, lambda, alpha, epsilon) from all input; publishes MODEL then UP for Y then X."""

    def __init__(self, config: Config):
        super().__init__(config)
        self.implicit: bool = config["oryx.als.implicit"]
        self.log_strength: bool = config["oryx.als.logStrength"]
        self.iterations: int = config["oryx.als.iterations"]
        self.cg_steps: int = config["oryx.als.cg-steps"]
        self.decay_factor: float = config["oryx.als.decay.factor"]
        self.zero_threshold: float = config["oryx.als.decay.zero-threshold"]
        self.no_known_items: bool = config["oryx.als.no-known-items"]
        self.publish_vectors: bool = config["oryx.batch.publish-vectors"]
        self.seed = config["oryx.als.seed"]
        if self.metric == ("rmse" if self.implicit else "auc"):
            raise ConfigError(f"oryx.ml.eval.metric = {self.metric!r} needs oryx.als.implicit = {str(not self.implicit).lower()}")
        self._models: dict[str, BuiltModel] = {}
        self._lock = threading.Lock()

    def hyperparams(self) -> list[HyperParam]:
        params = [from_config(self.config, "oryx.als.hyperparams.features", integer=True),
                  from_config(self.config, "oryx.als.hyperparams.lambda", integer=False),
                  from_config(self.config, "oryx.als.hyperparams.alpha", integer=False)]
        if self.log_strength:
            params.append(from_config(self.config, "oryx.als.hyperparams.epsilon", integer=False))
        return params

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> ALSData:
        new, _ = parse_events(new_values, "this generation's input")
        past, _ = parse_events(past_values, "past input")
        everything = concat([past, new])
        fraction = self.test_fraction
        if fraction <= 0 or len(new) == 0:
            return ALSData(timestamp_ms, everything, None, everything)
        if fraction >= 1:
            test_mask = np.ones(len(new), dtype=bool)
        else:
            low, high = int(new.timestamp.min()), int(new.timestamp.max())
            test_mask = new.timestamp >= int(high - fraction * (high - low))
        train = concat([past, new.take(~test_mask)])
        if len(train) == 0:
            log.info("the test split would leave no training data (one timestamp, no past data); training on all of it")
            return ALSData(timestamp_ms, everything, None, everything)
        log.info("train: %d records (%d past), test: %d records", len(train), len(past), int(test_mask.sum()))
        return ALSData(timestamp_ms, train, new.take(test_mask), everything)

    def has_test_data(self, data: ALSData) -> bool:
        return data.test is not None and len(data.test) > 0

    def _weighted(self, events: Events, data: ALSData) -> Events:
        return decay_and_threshold(events, self.decay_factor, self.zero_threshold, data.timestamp_ms)

    def build_model(self, data: ALSData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        epsilon = float(hyperparams.get("epsilon", 1e-5))  # searched only with logStrength
        ratings = build_ratings(self._weighted(data.train, data), self.implicit, self.log_strength, epsilon)
        if ratings.matrix.nnz == 0:
            log.warning("no training data left after aggregation; no model")
            return
        params = ALSParams(int(hyperparams["features"]), float(hyperparams["lambda"]), float(hyperparams["alpha"]),
                           self.implicit, self.iterations, self.seed, self.cg_steps)
        x, y = train_als(ratings.matrix, params)
        self.save_model(data, ratings, x, y, params, epsilon, candidate_uri)

    def save_model(self, data: Any, ratings: Ratings, x: np.ndarray, y: np.ndarray, params: ALSParams, epsilon: float,
                   candidate_uri: str) -> None:
        """Write a candidate's X/, Y/ and model.pmml and keep its factors for :meth:`evaluate` (shared by the engines)."""
        storage = storage_for(candidate_uri, self.config)
        known = None if self.no_known_items else [data.known().get(u, []) for u in ratings.user_ids]
        write_vectors(storage, join_uri(candidate_uri, "X"), ratings.user_ids, x, known)
        write_vectors(storage, join_uri(candidate_uri, "Y"), ratings.item_ids, y)
        info = ALSModelInfo(params.features, self.implicit, ratings.user_ids, ratings.item_ids, params.lambda_,
                            params.alpha, self.log_strength, epsilon if self.log_strength else None)
        storage.write_text(join_uri(candidate_uri, MODEL_FILE), als_model_to_pmml(info))
        model = BuiltModel(ratings, x, y, epsilon, {u: n for n, u in enumerate(ratings.user_ids)},
                           {i: n for n, i in enumerate(ratings.item_ids)})
        with self._lock:
            self._models[candidate_uri] = model

    def evaluate(self, data: ALSData, candidate_uri: str) -> dict[str, float]:
        model = self._models[candidate_uri]
        assert data.test is not None
        user_ids, item_ids, u, i, values = aggregate(self._weighted(data.test, data), self.implicit)
        if self.log_strength:
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

    def release(self, candidate_uri: str) -> None:
        with self._lock:
            self._models.pop(candidate_uri, None)

    def publish_additional(self, data: ALSData, model_uri: str, producer: TopicProducer) -> None:
        if not self.publish_vectors:
            log.info("oryx.batch.publish-vectors is false: no UP messages (consumers load X/ and Y/ from %s)", model_uri)
            return
        storage = storage_for(model_uri, self.config)
        item_ids, y, _ = read_vectors(storage, join_uri(model_uri, "Y"))
        self._send(producer, (up_value("Y", id_, vec) for id_, vec in zip(item_ids, y, strict=True)))
        user_ids, x, known = read_vectors(storage, join_uri(model_uri, "X"))
        knowns = known if known is not None and not self.no_known_items else [None] * len(user_ids)
        self._send(producer, (up_value("X", id_, vec, k) for id_, vec, k in zip(user_ids, x, knowns, strict=True)))
        log.info("published %d item and %d user vectors", len(item_ids), len(user_ids))

    @staticmethod
    def _send(producer: TopicProducer, values: Any) -> None:
        chunk: list[tuple[str, str]] = []
        for value in values:
            chunk.append((UP, value))
            if len(chunk) >= SEND_CHUNK:
                producer.send_all(chunk)
                chunk = []
        if chunk:
            producer.send_all(chunk)
