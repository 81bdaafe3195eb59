"""ALSServingModelManager: applies MODEL, MODEL-REF and UP messages to the VectorServingModel (spec 5.1)."""

from __future__ import annotations

import ctypes
import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.interfaces import ServingModelManager, load_status
from oryxpy.messages import ModelMessage, ModelRefMessage, UpdateMessage, VectorUpdate
from oryxpy.modelfiles import ModelRef, open_model_ref
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from serving.rescorer import load_provider
from serving.vectors.model import VectorServingModel
from serving.vectors.repeats import repeated_updates

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
    """Keeps the current VectorServingModel; loads the rescorer provider at construction (ConfigError if it cannot)."""

    def __init__(self, config: Config, lsh_seed: int | None = None):
        self.config = config
        self.sample_rate = float(config.settings.als.sample_rate)
        self.min_fraction = float(config.settings.serving.min_model_load_fraction)
        self.rescorer_provider: Any = load_provider(config)
        self.lsh_seed = lsh_seed
        self.index_options: dict[str, Any] = {"approximate_index": str(config.settings.serving.approximate_index),
                              "ivf_probes": int(config.settings.serving.ivf.probes),
                              "ivf_lists": int(config.settings.serving.ivf.lists),
                              "hnsw_m": int(config.settings.serving.hnsw.m),
                              "hnsw_ef_search": int(config.settings.serving.hnsw.ef_search),
                              "hnsw_ef_construction": int(config.settings.serving.hnsw.ef_construction),
                              "scan_threads": int(config.settings.serving.scan_threads)}
        self.model: VectorServingModel | None = None
        self._solvers_started = False
        self._last_log = 0.0

    def get_model(self) -> VectorServingModel | None:
        return self.model

    def is_ready(self) -> bool:
        """True when a model is loaded to at least min-model-load-fraction (follows the current model; no latch)."""
        return load_status(self.model, self.min_fraction) == "ready"

    def consume(self, message: UpdateMessage) -> None:
        if isinstance(message, VectorUpdate):
            self._consume_vector(message)
        elif isinstance(message, ModelMessage):
            self._new_model(pmml_to_als_model(message.pmml), None)
        elif isinstance(message, ModelRefMessage):
            self._consume_model_ref(message.uri)
        else:
            raise InvalidInput(f"unknown update message {type(message).__name__}")

    def consume_many(self, messages: Sequence[UpdateMessage]) -> list[Exception | None]:
        """Apply one poll's messages in order; each run of UPs together (one write-lock hold per chunk, not per UP)."""
        errors: list[Exception | None] = [None] * len(messages)
        start = 0
        while start < len(messages):
            run: list[VectorUpdate] = []
            while start + len(run) < len(messages) and isinstance(up := messages[start + len(run)], VectorUpdate):
                run.append(up)
            if run:
                self._consume_vectors(run, errors, start)
                start += len(run)
                continue
            try:
                self.consume(messages[start])
            except Exception as exc:  # reported by the consumer with the message's place on the topic
                errors[start] = exc
            start += 1
        return errors

    def _consume_vector(self, update: VectorUpdate) -> None:
        errors: list[Exception | None] = [None]
        self._consume_vectors([update], errors, 0)
        if errors[0] is not None:
            raise errors[0]

    def _consume_vectors(self, updates: Sequence[VectorUpdate], errors: list[Exception | None], offset: int) -> None:
        """Apply a run of UPs (``errors[offset + i]`` gets the error of ``updates[i]``): user and item vectors are
        independent stores, so each side is applied in its messages' order, in one call."""
        model = self.model
        if model is None:
            return  # an UP before any MODEL is dropped, as Oryx does
        users: list[tuple[str, np.ndarray, Sequence[str]]] = []
        items: list[tuple[str, np.ndarray]] = []
        for pos, update in enumerate(updates):
            if len(update.vector) != model.features:
                errors[offset + pos] = InvalidInput(f"UP for {update.matrix} {update.id} has {len(update.vector)} "
                                                    f"values, model has {model.features}")
            elif update.matrix == "X":
                users.append((update.id, np.asarray(update.vector, dtype=np.float32), update.known or ()))
            else:
                items.append((update.id, np.asarray(update.vector, dtype=np.float32)))
        if items:
            model.set_item_vectors(items)
        if users:
            model.set_user_vectors(users)
        self._note_progress(model)

    def repeated_updates(self, messages: Sequence[tuple[str | None, str]]) -> np.ndarray:
        """Per update-topic message (key, value), whether it is an UP that repeats the current model exactly, so that
        the consumer may skip it (``serving.vectors.repeats``): a MODEL-REF's replay then costs little per UP."""
        model = self.model
        if model is None:
            return np.zeros(len(messages), dtype=bool)
        repeat = repeated_updates(model, messages)
        if repeat.any():
            self._note_progress(model)
        return repeat

    def _note_progress(self, model: VectorServingModel) -> None:
        """Log the model once a minute; once it is loaded enough, start computing Y'Y in the background."""
        now = time.monotonic()
        if now - self._last_log >= 60:
            self._last_log = now
            log.info("%s", model)
            if not self._solvers_started and self.is_ready():
                self._solvers_started = True
                model.yty_solver(blocking=False)  # precompute Y'Y in the background once loaded enough

    def _consume_model_ref(self, uri: str) -> None:
        ref = open_model_ref(uri, self.config)
        if ref is not None:
            self._new_model(ref.info, ref)
            del ref  # its PMML's ID lists (millions of strings) go before the memory is given back
            release_memory()

    def _new_model(self, info: ALSModelInfo, ref: ModelRef | None) -> None:
        model = self.model
        if model is None or model.features != info.features:
            log.info("new model with %d features", info.features)
            model = VectorServingModel(info.features, info.implicit, self.sample_rate, self.lsh_seed, **self.index_options)
            self._solvers_started = False
        model.on_new_model_ids(info.x_ids, info.y_ids, info.implicit, vectors_follow=ref is not None)
        self.model = model
        if ref is not None:
            try:
                self._load_vectors(model, ref)
            finally:
                model.expect_missing()
        log.info("%s", model)

    def _load_vectors(self, model: VectorServingModel, ref: ModelRef) -> None:
        """Load Y/ then X/ (with known items) next to model.pmml when they exist; otherwise wait for UP messages."""
        for side in ("Y", "X"):
            started = time.monotonic()
            with gc_paused():
                table = ref.side(side)
                if table is None:
                    continue
                if side == "Y":
                    model.bulk_load_items(table.ids, table.matrix)
                else:
                    model.bulk_load_users(table.ids, table.matrix, table.known)
                del table
            log.info("loaded %s vectors from %s in %.1f s", side, ref.model_dir, time.monotonic() - started)

    def close(self) -> None:
        self.model = None
