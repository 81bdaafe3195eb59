"""HybridUpdate: an ALS model and a two-tower model built on the same input and served as one blended model.

Each candidate trains both (ALS with oryx.als.hyperparams.*, the two-tower model with oryx.deep.hyperparams.* and
oryx.hybrid.hyperparams.tower-features) and concatenates their vectors with batch.deep.hybrid.concat_models, so that
x . y = w (ALS score) / s_als + (1 - w) (two-tower score) / s_tower. The result is written and published as a plain
ALS model of features_als + features_tower features: the unchanged serving layer serves it, evaluation, refit and
hyper-parameter search (including the weight, oryx.hybrid.hyperparams.weight) are the vector model base's
(batch.vector_update), and its speed path is
the ALS speed manager's fold-in (speed.als.manager.ALSSpeedModelManager, the default), which updates users and items
in the blended space. Users or items known to one model only get zeros on the other side.

The two models are parts (an implicit ALSUpdate and a TwoTowerUpdate on the same config), not base classes: each
builds its candidate with its own hyper-parameters and the blend is this class's.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from batch.als.update import ALSUpdate
from batch.deep.hybrid import concat_models
from batch.deep.update import DeepData, TwoTowerUpdate
from batch.search import HyperParam, from_config
from batch.vector_update import BuiltModel, VectorData, VectorModelUpdate
from oryxpy.config import Config
from oryxpy.modelfiles import read_vectors
from oryxpy.pmml import ALSModelInfo
from oryxpy.storage import Storage, join_uri, storage_for

log = logging.getLogger(__name__)

ALS_PART, TOWER_PART = ".als", ".tower"


def _aligned(ids: list[str], own_ids: list[str], matrix: np.ndarray) -> np.ndarray:
    """``matrix``'s rows reordered to ``ids``; zeros for IDs it lacks."""
    where = {i: n for n, i in enumerate(own_ids)}
    out = np.zeros((len(ids), matrix.shape[1]), dtype=np.float32)
    rows = [(n, where[i]) for n, i in enumerate(ids) if i in where]
    if rows:
        target, source = zip(*rows, strict=True)
        out[list(target)] = matrix[list(source)]
    return out


class HybridUpdate(VectorModelUpdate):
    """Builds ALS and two-tower models per candidate and publishes their blend as one ALS-format model."""

    def __init__(self, config: Config):
        self.tower = TwoTowerUpdate(config)  # checks the metric: implicit only
        # one seed for the whole blend (oryx.deep.seed), and implicit ALS whatever oryx.als.implicit says
        self.als = ALSUpdate(config.with_overrides({"oryx.als.implicit": True, "oryx.als.seed": self.tower.seed},
                                                   "the hybrid model"))
        super().__init__(config, implicit=True, seed=self.tower.seed)

    def hyperparams(self) -> list[HyperParam]:
        """ALS's (features, lambda, alpha), the two-tower model's with its features as tower-features, the weight."""
        tower = self.tower.hyperparams()[1:]  # learning-rate, l2, id-dropout
        return [*self.als.hyperparams(), from_config(self.config, "oryx.hybrid.hyperparams.tower-features", integer=True),
                *tower, from_config(self.config, "oryx.hybrid.hyperparams.weight", integer=False)]

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> DeepData:
        """The two-tower model's input (the split input and the items' content), which the ALS part reads too."""
        self.als.generation_done()
        return self.tower.prepare(timestamp_ms, new_values, past_values)

    def generation_done(self) -> None:
        self.als.generation_done()
        self.tower.generation_done()

    def build_model(self, data: VectorData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        assert isinstance(data, DeepData), "prepare() made it"
        storage = storage_for(candidate_uri, self.config)
        als_uri, tower_uri = join_uri(candidate_uri, ALS_PART), join_uri(candidate_uri, TOWER_PART)
        tower_params = {**hyperparams, "features": hyperparams["tower-features"]}
        try:
            self.als.build_model(data, hyperparams, als_uri)
            self.tower.build_model(data, tower_params, tower_uri)
            als, tower = self.als.take_model(als_uri), self.tower.take_model(tower_uri)
            if als is None or tower is None:
                log.warning("hybrid: one of its models could not be built; no model")
                return
            self._blend(storage, data, hyperparams, candidate_uri, als, als_uri, tower_uri)
        finally:
            storage.delete(als_uri)
            storage.delete(tower_uri)

    def _blend(self, storage: Storage, data: DeepData, hyperparams: dict[str, Any], candidate_uri: str,
               als: BuiltModel, als_uri: str, tower_uri: str) -> None:
        a_users, a_x, _ = read_vectors(storage, join_uri(als_uri, "X"))
        a_items, a_y, _ = read_vectors(storage, join_uri(als_uri, "Y"))
        b_users, b_x, _ = read_vectors(storage, join_uri(tower_uri, "X"))
        b_items, b_y, _ = read_vectors(storage, join_uri(tower_uri, "Y"))
        users = list(dict.fromkeys([*a_users, *b_users]))
        items = list(dict.fromkeys([*a_items, *b_items]))
        weight = float(hyperparams["weight"])
        x, y = concat_models(_aligned(users, a_users, a_x), _aligned(items, a_items, a_y),
                             _aligned(users, b_users, b_x), _aligned(items, b_items, b_y), weight,
                             seed=0 if self.seed is None else int(self.seed))
        known = data.known()
        self.write_vectors(candidate_uri, users, x, items, y, (known.get(u, []) for u in users))
        features = x.shape[1]
        info = ALSModelInfo(features, True, users, items, extra={
            "hybrid": "als+two-tower", "hybridWeight": repr(weight),
            "hybridFeatures": f"{a_x.shape[1]}+{b_x.shape[1]}"})
        self.write_pmml(candidate_uri, info)
        # evaluation: the blended vectors of the users and items the ALS part trained on, in its matrix's order
        user_rows = {u: n for n, u in enumerate(users)}
        item_rows = {i: n for n, i in enumerate(items)}
        eval_x = x[[user_rows[u] for u in als.ratings.user_ids]]
        eval_y = y[[item_rows[i] for i in als.ratings.item_ids]]
        self.keep_model(candidate_uri, BuiltModel(als.ratings, eval_x, eval_y, als.epsilon, als.user_index,
                                                  als.item_index, als.log_strength))
        log.info("hybrid: %d users, %d items, %s features, ALS weight %.2f", len(users), len(items),
                 info.extra["hybridFeatures"], weight)

    # model_promoted: nothing to add, a blend is a plain ALS model (no two-tower extensions; the ALS speed manager
    # serves it)
