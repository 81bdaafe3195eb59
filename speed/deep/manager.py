"""TwoTowerSpeedModelManager: content records get item vectors from the item tower; interactions refold user vectors.

An item's content record yields ``["Y", item, tower(content) + its ID embedding]`` at once, so the item can be
recommended and found similar before anyone interacts with it. An interaction (strength > 0 adds the item to
the user's history; a delete or a strength <= 0 removes it) yields ``["X", user, mean(history vectors) P,
history]``: the user tower applied exactly (the user's own embedding, when the model has one, plus the projected
mean of the history's item vectors), not an approximation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from batch.deep.model_format import KNOWN_ITEMS, MODEL_TYPE, ItemTower
from oryxpy.config import Config
from oryxpy.content import ItemContent, hashed_features, is_content_record, parse_content_record
from oryxpy.errors import InvalidInput
from oryxpy.interfaces import ModelStatus, SpeedModelManager, load_status
from oryxpy.messages import UP, ModelMessage, ModelRefMessage, UpdateMessage, VectorUpdate, up_value
from oryxpy.modelfiles import read_vectors
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.records import Interaction, parse_interaction
from oryxpy.storage import join_uri, storage_for
from oryxpy.topics import KeyValue
from speed.batch import rejecter
from speed.generation import AwaitedVectors

log = logging.getLogger(__name__)


class TwoTowerSpeedModel:
    """The towers, item vectors, ID embeddings and users' histories of the current two-tower model."""

    def __init__(self, info: ALSModelInfo, tower: ItemTower, embedding: dict[str, np.ndarray],
                 user_embedding: dict[str, np.ndarray]):
        self.features = info.features
        self.tower = tower
        self.embedding = embedding
        self.user_embedding = user_embedding
        self.y: dict[str, np.ndarray] = {}
        self.known: dict[str, dict[str, None]] = {}  # user -> items, as an ordered set
        self.expected = {"X": set(info.x_ids), "Y": set(info.y_ids)}
        self.publishes_known_items = info.extra.get(KNOWN_ITEMS, "true") != "false"  # as the batch layer did

    def fraction_loaded(self) -> float:
        loaded, expected = len(self.y) + len(self.known), len(self.expected["X"]) + len(self.expected["Y"])
        return 1.0 if not expected else loaded / (loaded + expected)

    def item_vector(self, content: ItemContent) -> np.ndarray:
        vector: np.ndarray = self.tower.content_vectors(hashed_features([content], self.tower.buckets))[0]
        own = self.embedding.get(content.item)
        return vector if own is None else vector + own

    def user_vector(self, user: str) -> np.ndarray:
        vectors = [self.y[i] for i in self.known.get(user, {}) if i in self.y]
        vector = self.tower.user_vector(np.array(vectors, dtype=np.float32).reshape(len(vectors), self.features))
        own = self.user_embedding.get(user)
        return vector if own is None else vector + own


class TwoTowerSpeedModelManager(SpeedModelManager):
    """Speed logic of the two-tower model (``oryx.speed.model-manager-class``), for TwoTowerUpdate's models."""

    def __init__(self, config: Config):
        self._config = config
        self._min_fraction = float(config.settings.speed.min_model_load_fraction)
        self.model: TwoTowerSpeedModel | None = None
        self._lock = threading.RLock()
        self._awaited = AwaitedVectors()

    # -- the update topic -------------------------------------------------------------------------------

    def consume(self, message: UpdateMessage) -> None:
        if isinstance(message, VectorUpdate):
            self._consume_vector(message)
        elif isinstance(message, ModelMessage):
            info = pmml_to_als_model(message.pmml)
            self._install(info, None)
            self._awaited.expect(info)
        elif isinstance(message, ModelRefMessage):
            storage = storage_for(message.uri, self._config)
            if not storage.exists(message.uri):
                log.warning("Unable to load model file at %s; ignoring", message.uri)
                return
            base = message.uri.rstrip("/").rsplit("/", 1)[0]
            info = pmml_to_als_model(storage.read_text(message.uri))
            model = self._install(info, base)
            self._awaited.expect(info, loaded=self._load_vectors(model, base))

    def _consume_vector(self, update: VectorUpdate) -> None:
        with self._lock:
            model = self.model
            if model is None:
                return
            if len(update.vector) != model.features:
                raise InvalidInput(f"UP for {update.matrix} {update.id} has {len(update.vector)} features, model has {model.features}")
            if update.matrix == "Y":
                model.y[update.id] = update.vector
            elif update.known is not None:
                model.known[update.id] = dict.fromkeys(update.known)
            else:
                model.known.setdefault(update.id, {})
            model.expected[update.matrix].discard(update.id)
        self._awaited.arrived()

    def _install(self, info: ALSModelInfo, base: str | None) -> TwoTowerSpeedModel:
        if info.extra.get("modelType") != MODEL_TYPE:
            raise InvalidInput(f"model is not a two-tower model (modelType {info.extra.get('modelType')!r}); "
                               "oryx.speed.model-manager-class must match oryx.batch.update-class")
        model_dir = info.extra.get("modelDir") or base
        if model_dir is None:
            raise InvalidInput("two-tower model names no modelDir for its tower weights")
        storage = storage_for(model_dir, self._config)
        tower = ItemTower.load(storage, join_uri(model_dir, info.extra.get("towerPath", "tower/")))
        if tower.p.shape[0] != info.features:
            raise InvalidInput(f"two-tower weights have {tower.p.shape[0]} features, the model says {info.features}")
        ids, matrix, _ = read_vectors(storage, join_uri(model_dir, info.extra.get("embeddingPath", "E/")))
        user_embedding: dict[str, np.ndarray] = {}
        if "userEmbeddingPath" in info.extra:
            user_ids, user_matrix, _ = read_vectors(storage, join_uri(model_dir, info.extra["userEmbeddingPath"]))
            user_embedding = dict(zip(user_ids, user_matrix, strict=True))
        model = TwoTowerSpeedModel(info, tower, dict(zip(ids, matrix, strict=True)), user_embedding)
        with self._lock:
            old = self.model
            if old is not None and old.features == model.features:  # keep what we have until replaced
                model.y.update(old.y)
                model.known.update(old.known)
                model.expected["Y"].difference_update(old.y)
                model.expected["X"].difference_update(old.known)
            self.model = model
        log.info("Two-tower model: %d features, %d users, %d items, tower %d buckets", info.features,
                 len(info.x_ids), len(info.y_ids), tower.buckets)
        return model

    def _load_vectors(self, model: TwoTowerSpeedModel, base: str) -> set[str]:
        """Load X/ and Y/ where the model directory has them; returns the sides loaded."""
        storage = storage_for(base, self._config)
        loaded: set[str] = set()
        for side in ("X", "Y"):
            uri = join_uri(base, side)
            if not storage.is_dir(uri):
                continue
            loaded.add(side)
            ids, matrix, known = read_vectors(storage, uri)
            with self._lock:
                if side == "Y":
                    model.y.update(zip(ids, matrix, strict=True))
                else:
                    for n, user in enumerate(ids):
                        model.known[user] = dict.fromkeys(known[n] if known is not None else [])
                model.expected[side].difference_update(ids)
        return loaded

    def model_status(self) -> ModelStatus:
        """'none' before any model; 'loading' below min-model-load-fraction, or while the latest model's vectors are
        still arriving (:class:`AwaitedVectors`); else 'ready' (read by the speed runner)."""
        status = load_status(self.model, self._min_fraction)
        return "loading" if status == "ready" and self._awaited.pending else status

    # -- the input topic --------------------------------------------------------------------------------

    def build_updates(self, new_data: Sequence[str]) -> list[KeyValue]:
        model = self.model
        if model is None or self.model_status() != "ready":
            return []
        reject = rejecter(new_data, log)
        contents: dict[str, ItemContent] = {}
        events: list[Interaction] = []
        for index, value in enumerate(new_data):
            try:
                if is_content_record(value):
                    content = parse_content_record(value)
                    contents[content.item] = content
                else:
                    events.append(parse_interaction(value))
            except InvalidInput as exc:
                reject(index, exc)
        updates: list[KeyValue] = []
        with self._lock:
            for item, content in contents.items():
                vector = model.item_vector(content)
                model.y[item] = vector
                updates.append((UP, up_value("Y", item, vector)))
            changed: dict[str, None] = {}
            for event in sorted(events, key=lambda e: e.timestamp_ms):
                history = model.known.setdefault(event.user, {})
                if event.strength is not None and event.strength > 0:
                    history[event.item] = None
                else:
                    history.pop(event.item, None)
                changed[event.user] = None
            for user in changed:
                known = list(model.known[user]) if model.publishes_known_items else None
                updates.append((UP, up_value("X", user, model.user_vector(user), known)))
        return updates

