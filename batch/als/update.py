"""Oryx's ALSUpdate on the local engine: time-based split, ALS build, AUC / RMSE and ranking evaluation, UP publishing."""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
from batch.als.scale import StrengthScale, choose_scale
from batch.evaluation import mean_auc, ranking_metrics, rmse
from batch.mlupdate import MODEL_FILE, MLUpdate
from batch.search import HyperParam, from_config
from batch.split import split_new
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
    note: str = ""  # which split was used and why (batch.split)

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
    log_strength: bool = False


def concat(parts: list[Events]) -> Events:
    return Events(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("users", "items", "strength", "timestamp")))


class ALSUpdate(MLUpdate):
    """Builds ALS models (features, lambda, alpha, epsilon) from all input; publishes MODEL then UP for Y then X."""

    spark_counterpart: ClassVar[str | None] = "batch.spark.update.SparkALSUpdate"

    def __init__(self, config: Config):
        super().__init__(config)
        self.implicit: bool = config.settings.als.implicit
        self.log_strength: bool = config.settings.als.log_strength
        self.iterations: int = config.settings.als.iterations
        self.cg_steps: int = config.settings.als.cg_steps
        self.decay_factor: float = config.settings.als.decay.factor
        self.zero_threshold: float = config.settings.als.decay.zero_threshold
        self.no_known_items: bool = config.settings.als.no_known_items
        self.publish_vectors: bool = config.settings.batch.publish_vectors
        self.seed = config.settings.als.seed
        self.strength_scale: str = config.settings.als.strength_scale
        if self.metric == ("rmse" if self.implicit else "auc"):
            raise ConfigError(f"oryx.ml.eval.metric = {self.metric!r} needs oryx.als.implicit = {str(not self.implicit).lower()}")
        self._models: dict[str, BuiltModel] = {}
        self._prepared: dict[tuple[int, float], tuple[Ratings, StrengthScale]] = {}
        self._prep_lock = threading.Lock()
        self._lock = threading.Lock()

    def hyperparams(self) -> list[HyperParam]:
        alpha = from_config(self.config, "oryx.als.hyperparams.alpha", integer=False, log_scale=True)
        if not self.implicit:  # explicit ALS has no confidence: alpha is not searched (one value, unused)
            alpha = HyperParam(alpha.name, False, (alpha.centre(),))
        params = [from_config(self.config, "oryx.als.hyperparams.features", integer=True, log_scale=True),
                  from_config(self.config, "oryx.als.hyperparams.lambda", integer=False, log_scale=True), alpha]
        if self.log_strength:
            params.append(from_config(self.config, "oryx.als.hyperparams.epsilon", integer=False, log_scale=True))
        return params

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> ALSData:
        with self._prep_lock:
            self._prepared.clear()  # keyed by the train part's id: a new generation starts afresh
        new, _ = parse_events(new_values, "this generation's input")
        past, _ = parse_events(past_values, "past input")
        everything = concat([past, new])
        split = split_new(new.users.astype(str), new.items.astype(str), new.timestamp, self.test_fraction, self.seed,
                          set(past.users.astype(str).tolist()), set(past.items.astype(str).tolist()))
        note = f"{split.method} split: {split.reason}"
        if not split.evaluating:
            return ALSData(timestamp_ms, everything, None, everything, note=note)
        train = concat([past, new.take(~split.test)])
        log.info("train: %d records (%d past), test: %d records", len(train), len(past), int(split.test.sum()))
        return ALSData(timestamp_ms, train, new.take(split.test), everything, note=note)

    def run_update(self, timestamp_ms: int, new_data: Any, past_data: Any, model_dir: str,
                   update_producer: TopicProducer | None) -> None:
        try:
            super().run_update(timestamp_ms, new_data, past_data, model_dir, update_producer)
        finally:
            with self._prep_lock:
                self._prepared.clear()

    def refit_data(self, data: ALSData) -> ALSData | None:
        """All data as the train part, for the published model built with the chosen hyper-parameters."""
        if not isinstance(data, ALSData) or data.test is None:
            return None
        return dataclasses.replace(data, train=data.everything, test=None)

    def split_note(self, data: ALSData) -> str:
        return getattr(data, "note", "")

    def has_test_data(self, data: ALSData) -> bool:
        return data.test is not None and len(data.test) > 0

    def _weighted(self, events: Events, data: ALSData) -> Events:
        return decay_and_threshold(events, self.decay_factor, self.zero_threshold, data.timestamp_ms)

    def train_ratings(self, data: ALSData, epsilon: float) -> tuple[Ratings, StrengthScale]:
        """The train part's aggregated matrix and its strength scaling (batch.als.scale), made once per train part
        and epsilon and shared by the candidates."""
        key = (id(data.train), epsilon)
        with self._prep_lock:
            known = self._prepared.get(key)
            if known is None:
                weighted = self._weighted(data.train, data)
                scale = choose_scale(aggregate(weighted, self.implicit)[4], self.strength_scale, self.implicit,
                                     self.log_strength, epsilon)
                log.info("strength scale: %s", scale.note)
                known = (build_ratings(weighted, self.implicit, scale.log_strength, scale.epsilon), scale)
                self._prepared[key] = known
            return known

    def build_model(self, data: ALSData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        epsilon = float(hyperparams.get("epsilon", 1e-5))  # searched only with logStrength
        ratings, scale = self.train_ratings(data, epsilon)
        if ratings.matrix.nnz == 0:
            log.warning("no training data left after aggregation; no model")
            return
        params = ALSParams(int(hyperparams["features"]), float(hyperparams["lambda"]),
                           float(hyperparams["alpha"]) / scale.alpha_divisor, self.implicit, self.iterations, self.seed,
                           self.cg_steps)
        x, y = train_als(ratings.matrix, params)
        self.save_model(data, ratings, x, y, params, scale.epsilon, candidate_uri, log_strength=scale.log_strength)

    def save_model(self, data: Any, ratings: Ratings, x: np.ndarray, y: np.ndarray, params: ALSParams, epsilon: float,
                   candidate_uri: str, log_strength: bool | None = None) -> None:
        """Write a candidate's X/, Y/ and model.pmml and keep its factors for :meth:`evaluate` (shared by the engines).

        ``params.alpha`` is the alpha trained with (after scaling); ``log_strength`` defaults to the configured one.
        """
        log_strength = self.log_strength if log_strength is None else log_strength
        storage = storage_for(candidate_uri, self.config)
        known = None if self.no_known_items else [data.known().get(u, []) for u in ratings.user_ids]
        write_vectors(storage, join_uri(candidate_uri, "X"), ratings.user_ids, x, known)
        write_vectors(storage, join_uri(candidate_uri, "Y"), ratings.item_ids, y)
        info = ALSModelInfo(params.features, self.implicit, ratings.user_ids, ratings.item_ids, params.lambda_,
                            params.alpha, log_strength, epsilon if log_strength else None)
        storage.write_text(join_uri(candidate_uri, MODEL_FILE), als_model_to_pmml(info))
        model = BuiltModel(ratings, x, y, epsilon, {u: n for n, u in enumerate(ratings.user_ids)},
                           {i: n for n, i in enumerate(ratings.item_ids)}, log_strength)
        with self._lock:
            self._models[candidate_uri] = model

    def evaluate(self, data: ALSData, candidate_uri: str) -> dict[str, float]:
        model = self._models[candidate_uri]
        assert data.test is not None
        user_ids, item_ids, u, i, values = aggregate(self._weighted(data.test, data), self.implicit)
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
