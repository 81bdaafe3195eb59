"""The two-tower model's file layout, PMML extensions and item tower weights, shared by its batch update (which
writes them) and its speed manager (which reads them): one place, light to import (no training code)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from oryxpy.errors import InvalidInput, StorageError
from oryxpy.storage import Storage, join_uri

MODEL_TYPE = "two-tower"  # PMML extension modelType
TOWER_DIR = "tower"  # the item and user tower weights (.npy)
EMBEDDING_DIR = "E"  # item ID embeddings
USER_EMBEDDING_DIR = "U"  # user ID embeddings, with oryx.deep.user-embedding
#: PMML extension that says whether X/ and the X UP messages carry users' known items ("true" / "false"); the speed
#: manager follows it, so that it needs no key of another model (oryx.als.no-known-items)
KNOWN_ITEMS = "knownItems"


@dataclass
class ItemTower:
    """The content part of the two-tower model: item y = relu(f W1 + b1) W2 (+ the item's ID embedding); user
    x = mean(y of the user's items) P."""

    w1: np.ndarray  # buckets x hidden
    b1: np.ndarray  # hidden
    w2: np.ndarray  # hidden x features
    p: np.ndarray  # features x features

    FILES = ("w1", "b1", "w2", "p")

    @property
    def buckets(self) -> int:
        return int(self.w1.shape[0])

    def content_vectors(self, features: sp.csr_matrix) -> np.ndarray:
        """The content part of the item vectors of hashed feature rows."""
        vectors: np.ndarray = (np.maximum(features @ self.w1 + self.b1, 0.0) @ self.w2).astype(np.float32)
        return vectors

    def user_vector(self, history: np.ndarray) -> np.ndarray:
        """A user's vector from the vectors of the items in their history (zero for none)."""
        if len(history) == 0:
            return np.zeros(self.p.shape[1], dtype=np.float32)
        vector: np.ndarray = (history.mean(axis=0) @ self.p).astype(np.float32)
        return vector

    def save(self, storage: Storage, dir_uri: str) -> None:
        storage.makedirs(dir_uri)
        for name in self.FILES:
            buffer = io.BytesIO()
            np.save(buffer, getattr(self, name).astype(np.float32), allow_pickle=False)
            storage.write_bytes(join_uri(dir_uri, f"{name}.npy"), buffer.getvalue())

    @classmethod
    def load(cls, storage: Storage, dir_uri: str) -> ItemTower:
        arrays: dict[str, Any] = {}
        for name in cls.FILES:
            uri = join_uri(dir_uri, f"{name}.npy")
            try:
                arrays[name] = np.load(io.BytesIO(storage.read_bytes(uri)), allow_pickle=False)
            except (OSError, ValueError, StorageError) as exc:
                raise InvalidInput(f"cannot read two-tower weights {uri}: {exc}") from None
        tower = cls(**arrays)
        if tower.w1.shape[1] != tower.w2.shape[0] or tower.b1.shape != (tower.w1.shape[1],) or \
                tower.p.shape != (tower.w2.shape[1], tower.w2.shape[1]):
            raise InvalidInput(f"two-tower weights under {dir_uri} have inconsistent shapes")
        return tower
