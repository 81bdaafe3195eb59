"""HybridUpdate: an ALS model and a two-tower model built on the same input and served as one blended model.

Each candidate trains both (ALS with oryx.als.hyperparams.*, the two-tower model with oryx.deep.hyperparams.* and
oryx.hybrid.hyperparams.tower-features) and concatenates their vectors with batch.deep.hybrid.concat_models, so that
x . y = w (ALS score) / s_als + (1 - w) (two-tower score) / s_tower. The result is written and published as a plain
ALS model of features_als + features_tower features: the unchanged serving layer serves it, evaluation and
hyper-parameter search (including the weight, oryx.hybrid.hyperparams.weight) are ALSUpdate's, and its speed path is
the ALS speed manager's fold-in (speed.als.manager.ALSSpeedModelManager, the default), which updates users and items
in the blended space. Users or items known to one model only get zeros on the other side.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from batch.als.update import ALSData, ALSUpdate, BuiltModel
from batch.deep.hybrid import concat_models
from batch.deep.update import DeepData, TwoTowerUpdate
from batch.mlupdate import MODEL_FILE
from batch.search import HyperParam, from_config
from oryxpy.modelfiles import read_vectors, write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
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


class HybridUpdate(TwoTowerUpdate):
    """Builds ALS and two-tower models per candidate and publishes their blend as one ALS-format model."""

    def hyperparams(self) -> list[HyperParam]:
        """ALS's (features, lambda, alpha), the two-tower model's with its features as tower-features, the weight."""
        tower = TwoTowerUpdate.hyperparams(self)[1:]  # learning-rate, l2, id-dropout
        return [*ALSUpdate.hyperparams(self), from_config(self.config, "oryx.hybrid.hyperparams.tower-features", integer=True),
                *tower, from_config(self.config, "oryx.hybrid.hyperparams.weight", integer=False)]

    def build_model(self, data: ALSData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        assert isinstance(data, DeepData), "prepare() made it"
        storage = storage_for(candidate_uri, self.config)
        als_uri, tower_uri = join_uri(candidate_uri, ALS_PART), join_uri(candidate_uri, TOWER_PART)
        tower_params = {**hyperparams, "features": hyperparams["tower-features"]}
        try:
            ALSUpdate.build_model(self, data, hyperparams, als_uri)
            TwoTowerUpdate.build_model(self, data, tower_params, tower_uri)
            with self._lock:
                als, tower = self._models.pop(als_uri, None), self._models.pop(tower_uri, None)
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
        write_vectors(storage, join_uri(candidate_uri, "X"), users, x,
                      None if self.no_known_items else [known.get(u, []) for u in users])
        write_vectors(storage, join_uri(candidate_uri, "Y"), items, y)
        features = x.shape[1]
        info = ALSModelInfo(features, True, users, items, extra={
            "hybrid": "als+two-tower", "hybridWeight": repr(weight),
            "hybridFeatures": f"{a_x.shape[1]}+{b_x.shape[1]}"})
        storage.write_text(join_uri(candidate_uri, MODEL_FILE), als_model_to_pmml(info))
        # evaluation: the blended vectors of the users and items the ALS part trained on, in its matrix's order
        user_rows = {u: n for n, u in enumerate(users)}
        item_rows = {i: n for n, i in enumerate(items)}
        eval_x = x[[user_rows[u] for u in als.ratings.user_ids]]
        eval_y = y[[item_rows[i] for i in als.ratings.item_ids]]
        model = BuiltModel(als.ratings, eval_x, eval_y, als.epsilon, als.user_index, als.item_index, als.log_strength)
        with self._lock:
            self._models[candidate_uri] = model
        log.info("hybrid: %d users, %d items, %s features, ALS weight %.2f", len(users), len(items),
                 info.extra["hybridFeatures"], weight)

    def model_promoted(self, storage: Storage, final_uri: str) -> None:
        """Nothing to add: a blend is a plain ALS model (no two-tower extensions; the ALS speed manager serves it)."""
