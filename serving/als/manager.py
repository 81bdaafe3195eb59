"""ALSServingModelManager: applies MODEL, MODEL-REF and UP messages to the ALSServingModel (spec 5.1)."""

from __future__ import annotations

import ctypes
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from oryxpy.config import Config
from oryxpy.errors import InvalidInput, StorageError
from oryxpy.interfaces import ServingModelManager
from oryxpy.messages import ModelMessage, ModelRefMessage, UpdateMessage, VectorUpdate
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.storage import join_uri, storage_for
from serving.als.loading import read_side
from serving.als.model import ALSServingModel
from serving.rescorer import load_provider

log = logging.getLogger(__name__)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (a bulk load creates only acyclic objects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def release_memory() -> None:
    """Give the temporary memory of a bulk load (Arrow buffers, freed Python objects) back to the OS."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class ALSServingModelManager(ServingModelManager):
    """Keeps the current ALSServingModel; loads the rescorer provider at construction (ConfigError if it cannot)."""

    def __init__(self, config: Config, lsh_seed: int | None = None):
        self.config = config
        self.sample_rate = float(config["oryx.als.sample-rate"])
        self.min_fraction = float(config["oryx.serving.min-model-load-fraction"])
        self.rescorer_provider: Any = load_provider(config)
        self.lsh_seed = lsh_seed
        self.index_options = {"approximate_index": str(config["oryx.serving.approximate-index"]),
                              "ivf_probes": int(config["oryx.serving.ivf.probes"]),
                              "ivf_lists": int(config["oryx.serving.ivf.lists"]),
                              "hnsw_m": int(config["oryx.serving.hnsw.m"]),
                              "hnsw_ef_search": int(config["oryx.serving.hnsw.ef-search"])}
        self.model: ALSServingModel | None = None
        self._solvers_started = False
        self._last_log = 0.0

    def get_model(self) -> ALSServingModel | None:
        return self.model

    def is_ready(self) -> bool:
        """True when a model is loaded to at least min-model-load-fraction (follows the current model; no latch)."""
        model = self.model
        return model is not None and model.fraction_loaded() >= self.min_fraction

    def consume(self, message: UpdateMessage) -> None:
        if isinstance(message, VectorUpdate):
            self._consume_vector(message)
        elif isinstance(message, ModelMessage):
            self._new_model(pmml_to_als_model(message.pmml), None)
        elif isinstance(message, ModelRefMessage):
            self._consume_model_ref(message.uri)
        else:
            raise InvalidInput(f"unknown update message {type(message).__name__}")

    def _consume_vector(self, update: VectorUpdate) -> None:
        model = self.model
        if model is None:
            return  # an UP before any MODEL is dropped, as Oryx does
        if len(update.vector) != model.features:
            raise InvalidInput(f"UP for {update.matrix} {update.id} has {len(update.vector)} values, model has {model.features}")
        if update.matrix == "X":
            model.set_user_vector(update.id, update.vector)
            if update.known:
                model.add_known_items(update.id, update.known)
        else:
            model.set_item_vector(update.id, update.vector)
        now = time.monotonic()
        if now - self._last_log >= 60:
            self._last_log = now
            log.info("%s", model)
            if not self._solvers_started and self.is_ready():
                self._solvers_started = True
                model.yty_solver(blocking=False)  # precompute Y'Y in the background once loaded enough

    def _consume_model_ref(self, uri: str) -> None:
        storage = storage_for(uri, self.config)
        try:
            if not storage.exists(uri):
                log.warning("Unable to load model file at %s; ignoring", uri)
                return
            info = pmml_to_als_model(storage.read_text(uri))
        except StorageError as exc:
            log.warning("Unable to load model file at %s (%s); ignoring", uri, exc)
            return
        self._new_model(info, uri.rsplit("/", 1)[0])

    def _new_model(self, info: ALSModelInfo, model_dir: str | None) -> None:
        model = self.model
        if model is None or model.features != info.features:
            log.info("new model with %d features", info.features)
            model = ALSServingModel(info.features, info.implicit, self.sample_rate, self.lsh_seed, **self.index_options)
            self._solvers_started = False
        model.on_new_model_ids(info.x_ids, info.y_ids, info.implicit)
        self.model = model
        if model_dir is not None:
            self._load_vectors(model, info, model_dir)
        log.info("%s", model)

    def _load_vectors(self, model: ALSServingModel, info: ALSModelInfo, model_dir: str) -> None:
        """Load Y/ then X/ (with known items) next to model.pmml when they exist; otherwise wait for UP messages."""
        storage = storage_for(model_dir, self.config)
        for side, path in (("Y", info.y_path), ("X", info.x_path)):
            uri = join_uri(model_dir, path)
            if not storage.exists(uri):
                log.info("no %s vectors at %s; waiting for UP messages", side, uri)
                continue
            started = time.monotonic()
            with gc_paused():  # millions of new containers would trigger many full collections
                ids, matrix, known = read_side(storage, uri, model.item_id_objects() if side == "X" else None)
                if len(ids) and matrix.shape[1] != model.features:
                    raise InvalidInput(f"{uri} holds vectors of {matrix.shape[1]} values, model has {model.features}")
                if side == "Y":
                    model.bulk_load_items(ids, matrix)
                else:
                    model.bulk_load_users(ids, matrix, known, canonical=True)
                del ids, matrix, known
            release_memory()
            log.info("loaded %s vectors from %s in %.1f s", side, uri, time.monotonic() - started)

    def close(self) -> None:
        self.model = None
