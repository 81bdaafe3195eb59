"""TwoTowerUpdate: the batch update class of the two-tower model, a drop-in for ALSUpdate (same runner, files, messages).

A vector model (batch.vector_update.VectorModelUpdate): the input split, decay, evaluation (AUC and ranking
metrics), hyper-parameter search, refit and UP publishing are the base's. Writes ``X/`` and ``Y/`` as ALS does (so the unchanged serving layer serves it), plus ``tower/``
(the item and user tower weights as ``.npy``) and ``E/`` (the item ID embeddings, Parquet) for the speed layer,
named in the PMML's extensions ``modelType``, ``towerPath``, ``embeddingPath`` and ``modelDir`` (the model
directory's fully qualified URI, added when the model is promoted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from batch.deep.model_format import EMBEDDING_DIR, KNOWN_ITEMS, MODEL_TYPE, TOWER_DIR, USER_EMBEDDING_DIR
from batch.deep.settings import DeepSettings
from batch.deep.trainer import TowerParams, train_two_tower, user_vectors
from batch.interactions import build_ratings
from batch.mlupdate import MODEL_FILE
from batch.search import HyperParam, from_config
from batch.vector_update import BuiltModel, VectorData, VectorModelUpdate
from oryxpy.config import Config
from oryxpy.content import ItemContent, hashed_features, is_content_record, parse_content_record
from oryxpy.errors import ConfigError, InvalidInput
from oryxpy.modelfiles import write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml, pmml_to_als_model
from oryxpy.storage import Storage, join_uri, storage_for

log = logging.getLogger(__name__)

MAX_LOGGED_BAD = 20


@dataclass
class DeepData(VectorData):
    """The parsed, split input plus the latest content of each item."""

    contents: dict[str, ItemContent] = field(default_factory=dict)


def latest_contents(values: list[str], source: str) -> dict[str, ItemContent]:
    """The last valid content record of each item; bad ones are logged with the problem and skipped."""
    contents: dict[str, ItemContent] = {}
    bad = 0
    for value in values:
        if not is_content_record(value):
            continue
        try:
            content = parse_content_record(value)
        except InvalidInput as exc:
            bad += 1
            if bad <= MAX_LOGGED_BAD:
                log.warning("skipping bad content record of %s: %s", source, exc)
            continue
        contents[content.item] = content
    if bad:
        log.warning("%d bad content record(s) skipped in %s", bad, source)
    return contents


def padded(matrix: sp.csr_matrix, columns: int) -> sp.csr_matrix:
    """The same rows with more (empty) columns."""
    m = sp.csr_matrix(matrix)
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], columns))


def history_matrix(users: list[str], lists: list[list[str]], item_index: dict[str, int]) -> sp.csr_matrix:
    """A users x items 0/1 matrix of each user's listed items (items without a vector left out)."""
    rows, cols = [], []
    for row, items in enumerate(lists):
        for item in items:
            col = item_index.get(item)
            if col is not None:
                rows.append(row)
                cols.append(col)
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(users), len(item_index)))


class TwoTowerUpdate(VectorModelUpdate):
    """Builds two-tower models (features, learning-rate, l2, id-dropout searched) and publishes them like ALS."""

    spark_counterpart: ClassVar[str | None] = None  # the Spark engine runs this class on collected input

    def __init__(self, config: Config):
        deep = config.section(DeepSettings)
        super().__init__(config, implicit=True, seed=deep.seed)
        if self.metric == "rmse":
            raise ConfigError("oryx.ml.eval.metric = 'rmse' does not apply to the two-tower model (implicit only)")
        self.log_strength: bool = config.settings.als.log_strength  # which pairs survive aggregation, as for ALS
        self.epochs = deep.epochs
        self.batch_size = deep.batch_size
        self.negatives = deep.negatives
        self.hidden = deep.hidden
        self.buckets = deep.hash_buckets
        self.user_embedding = deep.user_embedding

    def hyperparams(self) -> list[HyperParam]:
        return [from_config(self.config, "oryx.deep.hyperparams.features", integer=True),
                from_config(self.config, "oryx.deep.hyperparams.learning-rate", integer=False),
                from_config(self.config, "oryx.deep.hyperparams.l2", integer=False),
                from_config(self.config, "oryx.deep.hyperparams.id-dropout", integer=False)]

    def prepare(self, timestamp_ms: int, new_values: list[str], past_values: list[str]) -> DeepData:
        data = super().prepare(timestamp_ms, new_values, past_values)
        contents = latest_contents(past_values, "past input")
        contents.update(latest_contents(new_values, "this generation's input"))
        log.info("item content for %d items", len(contents))
        return DeepData(data.timestamp_ms, data.train, data.test, data.everything, note=data.note, contents=contents)

    def tower_params(self, hyperparams: dict[str, Any]) -> TowerParams:
        return TowerParams(int(hyperparams["features"]), float(hyperparams["learning-rate"]), float(hyperparams["l2"]),
                           float(hyperparams["id-dropout"]), self.epochs, self.batch_size, self.negatives, self.hidden,
                           self.user_embedding, self.seed)

    def build_model(self, data: VectorData, hyperparams: dict[str, Any], candidate_uri: str) -> None:
        assert isinstance(data, DeepData), "prepare() made it"
        ratings = build_ratings(self.weighted(data.train, data), True, self.log_strength, 1e-5)
        if ratings.matrix.nnz == 0:
            log.warning("no training data left after aggregation; no model")
            return
        item_ids = ratings.item_ids + sorted(set(data.contents) - set(ratings.item_ids))
        history = padded(ratings.matrix > 0, len(item_ids)).astype(np.float32)
        features = hashed_features([data.contents.get(i) for i in item_ids], self.buckets)
        params = self.tower_params(hyperparams)
        trained = train_two_tower(history, features, params)
        log.info("two-tower: %d users, %d items (%d with content), %.2fs per epoch, final loss %.4f",
                 len(ratings.user_ids), len(item_ids), len(data.contents), trained.seconds_per_epoch, trained.final_loss)
        y = trained.item_vectors(features)
        item_index = {item: n for n, item in enumerate(item_ids)}
        x_train = trained.user_vectors(history, y)
        # published users: everyone's whole known history (what the speed layer folds from), not just the train split
        known = data.known()
        users = sorted(u for u, items in known.items() if any(i in item_index for i in items))
        lists = [known[u] for u in users]
        x_all = user_vectors(trained.tower, history_matrix(users, lists, item_index), y)
        trained_users = {u: n for n, u in enumerate(ratings.user_ids)}
        own = [(n, trained_users[u]) for n, u in enumerate(users) if u in trained_users]
        if own:
            rows, source = zip(*own, strict=True)
            x_all[list(rows)] += trained.user_embedding[list(source)]
        storage = storage_for(candidate_uri, self.config)
        self.write_vectors(candidate_uri, users, x_all, item_ids, y, lists)
        with_id = [n for n in range(len(item_ids)) if n < len(ratings.item_ids)]
        write_vectors(storage, join_uri(candidate_uri, EMBEDDING_DIR), [item_ids[n] for n in with_id],
                      trained.item_embedding[with_id])
        trained.tower.save(storage, join_uri(candidate_uri, TOWER_DIR))
        if params.user_embedding:
            write_vectors(storage, join_uri(candidate_uri, USER_EMBEDDING_DIR), ratings.user_ids, trained.user_embedding)
        extra = {"modelType": MODEL_TYPE, "towerPath": f"{TOWER_DIR}/", "embeddingPath": f"{EMBEDDING_DIR}/",
                 "hashBuckets": str(self.buckets), "hidden": str(self.hidden),
                 "learningRate": repr(params.learning_rate), "l2": repr(params.l2), "idDropout": repr(params.id_dropout),
                 KNOWN_ITEMS: "false" if self.no_known_items else "true"}
        if params.user_embedding:
            extra["userEmbeddingPath"] = f"{USER_EMBEDDING_DIR}/"
        self.write_pmml(candidate_uri, ALSModelInfo(params.features, True, users, item_ids, extra=extra))
        model = BuiltModel(type(ratings)(ratings.user_ids, item_ids, history.tocsr()), x_train, y, 1e-5,
                           {u: n for n, u in enumerate(ratings.user_ids)}, item_index)
        self.keep_model(candidate_uri, model)

    def model_promoted(self, storage: Storage, final_uri: str) -> None:
        """Record the final directory's URI in the PMML: the speed layer loads the tower weights from there."""
        pmml_uri = join_uri(final_uri, MODEL_FILE)
        info = pmml_to_als_model(storage.read_text(pmml_uri))
        info.extra["modelDir"] = storage.qualify(final_uri)
        storage.write_text(pmml_uri, als_model_to_pmml(info))
