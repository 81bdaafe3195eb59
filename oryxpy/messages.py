"""Update-topic messages: MODEL (PMML text), MODEL-REF (URI of model.pmml) and UP (one vector), in Oryx's JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from oryxpy.errors import InvalidInput
from oryxpy.javafmt import float32_list_text

MODEL = "MODEL"
MODEL_REF = "MODEL-REF"
UP = "UP"


@dataclass(frozen=True)
class ModelMessage:
    """A whole model as PMML text."""

    pmml: str


@dataclass(frozen=True)
class ModelRefMessage:
    """A model too large for one message: the fully qualified URI of its model.pmml."""

    uri: str


@dataclass(frozen=True, eq=False)
class VectorUpdate:
    """One user (``X``) or item (``Y``) vector; ``known`` are the user's known items (or the triggering user for Y)."""

    matrix: str
    id: str
    vector: np.ndarray
    known: tuple[str, ...] | None = None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, VectorUpdate)
            and (self.matrix, self.id, self.known) == (other.matrix, other.id, other.known)
            and np.array_equal(self.vector, other.vector)
        )


UpdateMessage = ModelMessage | ModelRefMessage | VectorUpdate


def up_value(matrix: str, id_: str, vector: np.ndarray | Sequence[float], known: Sequence[str] | None = None) -> str:
    """The JSON text of an UP message: ``["X","u",[0.1,...],["i1",...]]``; the known list is left out when None or empty."""
    parts = [json.dumps(matrix), json.dumps(id_, ensure_ascii=False), float32_list_text(vector)]
    if known:
        parts.append(json.dumps(list(known), ensure_ascii=False, separators=(",", ":")))
    return "[" + ",".join(parts) + "]"


def encode(message: UpdateMessage) -> tuple[str, str]:
    """The (key, value) pair that carries ``message`` on the update topic."""
    if isinstance(message, ModelMessage):
        return MODEL, message.pmml
    if isinstance(message, ModelRefMessage):
        return MODEL_REF, message.uri
    return UP, up_value(message.matrix, message.id, message.vector, message.known)


def decode(key: str | None, value: str) -> UpdateMessage:
    """Parse an update-topic message; raises InvalidInput saying what is wrong."""
    if key == MODEL:
        return ModelMessage(value)
    if key == MODEL_REF:
        return ModelRefMessage(value.strip())
    if key != UP:
        raise InvalidInput(f"bad update message key {key!r} (expected MODEL, MODEL-REF or UP)")
    try:
        update = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"UP message is not JSON: {exc.msg}") from None
    if not isinstance(update, list) or len(update) < 3 or update[0] not in ("X", "Y"):
        raise InvalidInput('UP message must be ["X"|"Y", id, [vector], ...]')
    id_ = update[1]
    if isinstance(id_, bool) or not isinstance(id_, str | int | float):
        raise InvalidInput("UP message ID must be a string")
    vector = update[2]
    if not isinstance(vector, list) or not set(map(type, vector)) <= {int, float}:  # fast; bools are rejected
        raise InvalidInput(f"UP message for {id_} has a vector that is not a list of numbers")
    known = None
    if len(update) > 3 and update[3] is not None:
        if not isinstance(update[3], list):
            raise InvalidInput(f"UP message for {id_} has known IDs that are not a list")
        known = tuple(str(k) for k in update[3])
    return VectorUpdate(update[0], str(id_), np.asarray(vector, dtype=np.float32), known)
