"""How a speed model manager knows that a new model's vectors have all arrived."""

from __future__ import annotations

import time

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

    def expect(self, count: int) -> None:
        """A new model: ``count`` vectors are to come as UPs (0 when it brought its vectors itself)."""
        self._count = count
        self._last = time.monotonic()

    def arrived(self) -> None:
        """One UP applied."""
        self._count = max(0, self._count - 1)
        self._last = time.monotonic()

    @property
    def pending(self) -> bool:
        return self._count > 0 and time.monotonic() - self._last < VECTORS_STALL_S
