"""Oryx's ALSUpdate on the local engine: the ALS build (features, lambda, alpha, epsilon) of a vector model; the split,
evaluation (AUC / RMSE and ranking), refit and UP publishing are batch.vector_update.VectorModelUpdate's."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, ClassVar

import numpy as np

from batch.als.engine import ALSParams, train_als
from batch.als.scale import StrengthScale, choose_scale
from batch.interactions import Ratings, aggregate, build_ratings
from batch.search import HyperParam, from_config
from batch.split import split_new
from batch.vector_update import BuiltModel, VectorData, VectorModelUpdate
from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.pmml import ALSModelInfo

log = logging.getLogger(__name__)

ALSData = VectorData  # the old name of the split input (imports that name it)


class ALSUpdate(VectorModelUpdate):
    """Builds ALS models (features, lambda, alpha, epsilon) from all input; publishes MODEL then UP for Y then X."""

    spark_counterpart: ClassVar[str | None] = "batch.spark.update.SparkALSUpdate"

    def __init__(self, config: Config):
        super().__init__(config, config.settings.als.implicit, config.settings.als.seed)
        self.log_strength: bool = config.settings.als.log_strength
        self.iterations: int = config.settings.als.iterations
        self.cg_steps: int = config.settings.als.cg_steps
        self.strength_scale: str = config.settings.als.strength_scale
        if self.metric == ("rmse" if self.implicit else "auc"):
            raise ConfigError(f"oryx.ml.eval.metric = {self.metric!r} needs oryx.als.implicit = {str(not self.implicit).lower()}")
        self._prepared: dict[tuple[int, float], tuple[Ratings, StrengthScale]] = {}
        self._prep_lock = threading.Lock()

    def hyperparams(self) -> list[HyperParam]:
        alpha = from_config(self.config, "oryx.als.hyperparams.alpha", integer=False, log_scale=True)
        if not self.implicit:  # explicit ALS has no confidence: alpha is not searched (one value, unused)
            alpha = HyperParam(alpha.name, False, (alpha.centre(),))
        params = [from_config(self.config, "oryx.als.hyperparams.features", integer=True, log_scale=True),
                  from_config(self.config, "oryx.als.hyperparams.lambda", integer=False, log_scale=True), alpha]
        if self.log_strength:
            params.append(from_config(self.config, "oryx.als.hyperparams.epsilon", integer=False, log_scale=True))
        return params

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> VectorData:
        self.generation_done()  # the prepared matrices are keyed by the train part's id: a new generation starts afresh
        return super().prepare(timestamp_ms, new_values, past_values)

    def second_fold(self, data: VectorData) -> VectorData | None:
        """The finalists' second held-out fold (MLUpdate._confirm): batch.split's rule applied to the train part with
        another seed; None when it cannot split it (or the data is another engine's)."""
        if not isinstance(data, VectorData) or data.test is None:
            return None
        train = data.train
        split = split_new(train.users.astype(str), train.items.astype(str), train.timestamp, self.test_fraction,
                          None if self.seed is None else self.seed + 1)
        if not split.evaluating:
            return None
        return dataclasses.replace(data, train=train.take(~split.test), test=train.take(split.test),
                                   note=f"second fold, {split.method} split of the train part")

    def generation_done(self) -> None:
        with self._prep_lock:
            self._prepared.clear()

    def train_ratings(self, data: VectorData, epsilon: float) -> tuple[Ratings, StrengthScale]:
        """The train part's aggregated matrix and its strength scaling (batch.als.scale), made once per train part
        and epsilon and shared by the candidates."""
        key = (id(data.train), epsilon)
        with self._prep_lock:
            known = self._prepared.get(key)
            if known is None:
                weighted = self.weighted(data.train, data)
                scale = choose_scale(aggregate(weighted, self.implicit)[4], self.strength_scale, self.implicit,
                                     self.log_strength, epsilon)
                log.info("strength scale: %s", scale.note)
                known = (build_ratings(weighted, self.implicit, scale.log_strength, scale.epsilon), scale)
                self._prepared[key] = known
            return known

    def build_model(self, data: VectorData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
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

    def save_model(self, data: VectorData, ratings: Ratings, x: np.ndarray, y: np.ndarray, params: ALSParams,
                   epsilon: float, candidate_uri: str, log_strength: bool | None = None) -> None:
        """Write a candidate's X/, Y/ and model.pmml and keep its factors for :meth:`evaluate`.

        ``params.alpha`` is the alpha trained with (after scaling); ``log_strength`` defaults to the configured one.
        """
        log_strength = self.log_strength if log_strength is None else log_strength
        known = None if self.no_known_items else (data.known().get(u, []) for u in ratings.user_ids)
        self.write_vectors(candidate_uri, ratings.user_ids, x, ratings.item_ids, y, known)
        self.write_pmml(candidate_uri, ALSModelInfo(params.features, self.implicit, ratings.user_ids, ratings.item_ids,
                                                    params.lambda_, params.alpha, log_strength,
                                                    epsilon if log_strength else None))
        self.keep_model(candidate_uri, BuiltModel(ratings, x, y, epsilon, {u: n for n, u in enumerate(ratings.user_ids)},
                                                  {i: n for n, i in enumerate(ratings.item_ids)}, log_strength))
