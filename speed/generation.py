"""How a speed model manager knows that a new model's vectors have all arrived."""

from __future__ import annotations

import time
from collections.abc import Collection

from oryxpy.pmml import ALSModelInfo

#: How long input waits, at most, after the last of a new model's vectors that did arrive.
VECTORS_STALL_S = 10.0


class AwaitedVectors:
    """The UP messages a new model announced and that have not arrived yet.

    After a MODEL the batch layer sends one UP per user and item the model names. The previous model's vectors are
    kept until replaced, so the model counts as loaded at once; input folded in before the new vectors have all
    arrived would mix two generations. :attr:`pending` is true while some are still to come, unless none has
    arrived for ``VECTORS_STALL_S`` (a batch layer that stopped while publishing: the model is used as it is).
    """

    def __init__(self) -> None:
        self._count = 0
        self._last = time.monotonic()

    def expect(self, info: ALSModelInfo, loaded: Collection[str] = ()) -> None:
        """A new model: one UP is to come for each user and item it names, except on the sides ("X", "Y") whose
        vectors it ``loaded`` itself (a MODEL-REF with X/ or Y/)."""
        self._count = (0 if "X" in loaded else len(info.x_ids)) + (0 if "Y" in loaded else len(info.y_ids))
        self._last = time.monotonic()

    def arrived(self) -> None:
        """One UP applied."""
        self._count = max(0, self._count - 1)
        self._last = time.monotonic()

    @property
    def pending(self) -> bool:
        return self._count > 0 and time.monotonic() - self._last < VECTORS_STALL_S
