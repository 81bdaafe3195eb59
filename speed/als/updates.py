"""The UP messages of one aggregated input batch: exact fold-in (spec 4.4), vectorized, sequential per vector."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oryxpy.als import Solver, fold_in_many
from oryxpy.messages import UP
from oryxpy.topics import KeyValue
from speed.als.aggregate import Aggregated
from speed.als.encoding import up_texts
from speed.als.model import ALSSpeedModel


def fold_in_batch(model: ALSSpeedModel, batch: Aggregated, xtx: Solver | None, yty: Solver | None,
                  no_known_items: bool) -> list[KeyValue]:
    """For each pair, the new X (with Y'Y) then the new Y (with X'X) as Oryx's buildUpdates, in pair order.

    The other side's vectors are those of the model, as in Oryx. Unlike Oryx, a user (item) met several times in
    one batch is folded in once per pair in time order, each step from the previous one, so a burst is not
    reduced to its last interaction; each step is published, so the last UP of an ID carries its final vector.
    """
    xu, has_xu = model.x.gather(batch.users)
    yi, has_yi = model.y.gather(batch.items)
    x_side = _Side("X", yty, xu, has_xu, yi, has_yi, batch.users, None if no_known_items else batch.items)
    y_side = _Side("Y", xtx, yi, has_yi, xu, has_xu, batch.items, batch.users)
    slots: list[str | None] = [None] * (2 * len(batch.users))
    for slot, side in ((0, x_side), (1, y_side)):
        for row, text in side.texts(batch.values, model.implicit):
            slots[2 * row + slot] = text
    return [(UP, text) for text in slots if text is not None]


@dataclass(frozen=True)
class _Side:
    """One side of the fold-in: the vectors to update (``own``) from the other side's vectors and the solver."""

    name: str
    solver: Solver | None
    own: np.ndarray
    has_own: np.ndarray
    other: np.ndarray
    has_other: np.ndarray
    ids: list[str]
    known: list[str] | None

    def texts(self, values: np.ndarray, implicit: bool) -> list[tuple[int, str]]:
        """(pair index, UP text) of every step that changes a vector."""
        if self.solver is None or not self.has_other.any():
            return []
        rows = np.nonzero(self.has_other)[0]
        slot_of: dict[str, int] = {}
        occurrence: dict[str, int] = {}
        slots = np.empty(len(rows), dtype=np.int64)
        step = np.empty(len(rows), dtype=np.int64)
        for n, id_ in enumerate(self.ids[r] for r in rows.tolist()):
            slots[n] = slot_of.setdefault(id_, len(slot_of))
            step[n] = occurrence.get(id_, 0)
            occurrence[id_] = step[n] + 1
        state = np.empty((len(slot_of), self.own.shape[1]), dtype=np.float32)
        state[slots] = self.own[rows]
        state_known = np.zeros(len(slot_of), dtype=bool)
        state_known[slots] = self.has_own[rows]
        changed_rows, vectors = [], []
        for current in range(int(step.max()) + 1):  # each ID at most once per step
            in_step = np.nonzero(step == current)[0]
            at = slots[in_step]
            new, changed = fold_in_many(self.solver, values[rows[in_step]], state[at], state_known[at],
                                        self.other[rows[in_step]], implicit)
            state[at[changed]] = new[changed]
            state_known[at[changed]] = True
            changed_rows.append(rows[in_step][changed])
            vectors.append(new[changed])
        order = np.concatenate(changed_rows)
        rows_out = order.tolist()
        known = None if self.known is None else [self.known[r] for r in rows_out]
        texts = up_texts(self.name, [self.ids[r] for r in rows_out], np.concatenate(vectors), known)
        return list(zip(rows_out, texts, strict=True))
