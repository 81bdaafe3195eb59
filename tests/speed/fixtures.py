"""The rank-2 SVD model of Oryx's ALSSpeedIT, as PMML and UP messages, for the speed layer's tests."""

from __future__ import annotations

import numpy as np

from oryxpy.messages import MODEL, UP, up_value
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml

USERS = ["G6", "H7", "I8", "J9"]
ITEMS = ["B1", "C2", "D3", "E4", "F5"]
A = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 1, 1], [1, 1, 1, 1, 0], [0, 0, 1, 0, 0]], dtype=np.float64)


def svd_factors() -> tuple[np.ndarray, np.ndarray]:
    """X = U_2 sqrt(S_2), Y = V_2 sqrt(S_2): a rank-2 factorization of A (float32)."""
    u, s, vt = np.linalg.svd(A, full_matrices=False)
    root = np.sqrt(s[:2])
    return (u[:, :2] * root).astype(np.float32), (vt[:2].T * root).astype(np.float32)


def model_info(**changes: object) -> ALSModelInfo:
    fields: dict[str, object] = {"features": 2, "implicit": True, "x_ids": list(USERS), "y_ids": list(ITEMS)}
    fields.update(changes)
    return ALSModelInfo(**fields)  # type: ignore[arg-type]


def model_messages(**changes: object) -> list[tuple[str, str]]:
    """MODEL then a Y UP per item and an X UP per user (as the batch layer publishes them)."""
    x, y = svd_factors()
    messages = [(MODEL, als_model_to_pmml(model_info(**changes)))]
    messages += [(UP, up_value("Y", item, y[n])) for n, item in enumerate(ITEMS)]
    messages += [(UP, up_value("X", user, x[n], [])) for n, user in enumerate(USERS)]
    return messages


def expected_new_vector(known: np.ndarray, others: np.ndarray, value: float = 1.0) -> np.ndarray:
    """Closed form of a new user's (item's) vector after one interaction with a known item (user), implicit:
    target 0.75 (from 0.5, strength 1) and Q = 0, so v = 0.75 * y (Y'Y)^-1."""
    target = 0.5 + value / (1 + value) * 0.5
    others64 = others.astype(np.float64)
    return target * known.astype(np.float64) @ np.linalg.inv(others64.T @ others64)
