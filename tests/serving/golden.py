"""The golden serving fixture of Oryx's TestALSModelFactory (spec 5.9) and helpers to load it into a manager."""

from __future__ import annotations

import numpy as np

from oryxpy.messages import ModelMessage, VectorUpdate
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml

X = np.array([[-0.35837504, 0.60391283], [-0.7757129, 0.4327127], [-0.7757129, -0.4327127], [-0.35837504, -0.60391283],
              [-1.1340879, 1.0366255], [-1.5514258, -3.5398357e-16], [-1.1340879, -1.0366255]], dtype=np.float32)
Y = np.array([[-0.23176478, 0.504302], [-0.53749436, 0.45167503], [-0.53749436, -0.45167503], [-0.23176478, -0.504302],
              [-0.7692591, 0.9559771], [-1.0749887, 1.0619507e-16], [-0.7692591, -0.9559771], [-1.3067534, 0.504302],
              [-1.3067534, -0.504302]], dtype=np.float32)
USERS = [f"U{i}" for i in range(7)]
ITEMS = [f"I{i}" for i in range(9)]
KNOWN = {"U0": [0, 4, 7], "U1": [1, 4, 5, 7, 8], "U2": [2, 5, 6, 7, 8], "U3": [3, 6, 8], "U4": [0, 1, 4, 5, 7, 8],
         "U5": [1, 2, 4, 5, 6, 7, 8], "U6": [2, 3, 5, 6, 7, 8]}


def messages(users: list[str] = USERS, items: list[str] = ITEMS) -> list[object]:
    """MODEL, then the Y and X UPs of the fixture (optionally under other IDs)."""
    out: list[object] = [ModelMessage(als_model_to_pmml(ALSModelInfo(2, True, list(users), list(items))))]
    out += [VectorUpdate("Y", items[j], Y[j]) for j in range(len(items))]
    out += [VectorUpdate("X", users[u], X[u], tuple(items[j] for j in KNOWN[USERS[u]])) for u in range(len(users))]
    return out


def load(manager: object, users: list[str] = USERS, items: list[str] = ITEMS) -> None:
    for message in messages(users, items):
        manager.consume(message)  # type: ignore[attr-defined]
