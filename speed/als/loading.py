"""Reading a MODEL-REF: the model.pmml it names and, when present, the X/ and Y/ Parquet vectors beside it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.modelfiles import read_vectors
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.storage import Storage, join_uri, storage_for

log = logging.getLogger(__name__)

Vectors = tuple[list[str], np.ndarray]


@dataclass(frozen=True)
class LoadedModel:
    """A model's PMML settings and its vectors (None where the model directory holds none)."""

    info: ALSModelInfo
    x: Vectors | None
    y: Vectors | None


def load_model_ref(uri: str, config: Config) -> LoadedModel | None:
    """Load what a MODEL-REF points to; None (with a warning) when the model file no longer exists."""
    storage = storage_for(uri, config)
    if not storage.exists(uri):
        log.warning("Unable to load model file at %s; ignoring", uri)
        return None
    info = pmml_to_als_model(storage.read_text(uri))
    base = uri.rstrip("/").rsplit("/", 1)[0]
    x = _read_side(storage, join_uri(base, info.x_path), info.features)
    y = _read_side(storage, join_uri(base, info.y_path), info.features)
    return LoadedModel(info, x, y)


def _read_side(storage: Storage, dir_uri: str, features: int) -> Vectors | None:
    if not storage.is_dir(dir_uri) or not any(u.endswith(".parquet") for u in storage.list(dir_uri)):
        log.info("No vector files under %s; waiting for UP messages", dir_uri)
        return None
    ids, matrix, _ = read_vectors(storage, dir_uri)
    if len(ids) and matrix.shape[1] != features:
        raise InvalidInput(f"vectors under {dir_uri} have {matrix.shape[1]} features, the model says {features}")
    return ids, matrix
