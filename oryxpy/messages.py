"""Update-topic messages: MODEL (PMML text), MODEL-REF (URI of model.pmml) and UP (one vector), in Oryx's JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

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
        update = _load_json(value)
        if isinstance(update, list) and _holds_float_ids(update):  # an integer beyond 64 bits: its exact text
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


def _load_json(text: str) -> Any:
    """orjson where it takes the text (faster than the standard parser); the standard parser for what only it accepts
    (NaN, Infinity, numbers beyond float range, lone surrogates). :func:`decode` checks the one thing orjson reads
    differently: integers beyond 64 bits, which it returns as floats."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _holds_float_ids(update: list[Any]) -> bool:
    """Whether the ID or a known ID of a parsed UP is a float (such IDs are turned into text)."""
    if len(update) > 1 and isinstance(update[1], float):
        return True
    known = update[3] if len(update) > 3 else None
    return isinstance(known, list) and any(isinstance(k, float) for k in known)


UpParts: TypeAlias = tuple[str, str, str, list[str] | None]
"""An UP message's matrix, ID, vector text and known items as its text holds them (:func:`split_up`)."""


def split_up(value: str) -> UpParts | None:
    """The parts of an UP value written compactly without escapes (``["X","u",[1.0,...],["i",...]]``, as Oryx and this
    project write them), or None for any other shape: such a message takes the full :func:`decode`. The vector text is
    not checked here (see :func:`parse_vectors`)."""
    if "\\" in value or not value.startswith('["') or value[3:6] != '","' or value[2] not in "XY":
        return None
    id_end = value.find('"', 6)
    if id_end < 0 or value[id_end : id_end + 3] != '",[':
        return None
    vector_end = value.find("]", id_end + 3)
    if vector_end < 0:
        return None
    rest = value[vector_end + 1 :]
    known: list[str] | None
    if rest == "]" or rest == ",null]":
        known = None
    elif rest == ",[]]":
        known = []
    elif rest.startswith(',["') and rest.endswith('"]]'):
        known = rest[3:-3].split('","')  # no escapes: a quote cannot be inside an ID, so this split is exact
    else:
        return None
    return value[2], value[6:id_end], value[id_end + 3 : vector_end], known


_NUMBER_BYTES = b"0123456789.-+eE,"


def parse_vectors(texts: Sequence[str], features: int) -> tuple[np.ndarray, np.ndarray]:
    """Many vectors' JSON texts (``1.0,-2.5e-3,...``) parsed at once in Arrow: ``(ok, matrix)``, where ``ok[i]`` says
    whether text i holds exactly ``features`` numbers and ``matrix`` (float32, len(texts) x features) holds them
    (zeros where not ok). A character other than digits, signs, points, exponents and commas anywhere (NaN, Infinity,
    spaces), or a text that is not a number, leaves every text unparsed, for :func:`decode` to read or report.
    Numbers are parsed as float64 and then rounded to float32, as :func:`decode` does; the parser also takes a few
    spellings JSON does not (``+1``, ``.5``, ``5.``), with the values they plainly mean."""
    matrix = np.zeros((len(texts), features), dtype=np.float32)
    ok = np.zeros(len(texts), dtype=bool)
    array = pa.array(texts, type=pa.string())
    data = array.buffers()[2]
    if features < 1 or not len(texts) or data is None or data.to_pybytes().translate(None, _NUMBER_BYTES):
        return ok, matrix
    lists = pc.split_pattern(array, ",")
    ok = pc.list_value_length(lists).to_numpy(zero_copy_only=False) == features
    if not ok.any():
        return ok, matrix
    try:
        values = pc.cast((lists if ok.all() else lists.filter(pa.array(ok))).flatten(), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # an empty or malformed number
        return np.zeros(len(texts), dtype=bool), matrix
    matrix[ok] = values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, features)
    return ok, matrix
