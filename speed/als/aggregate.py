"""One batch of input records turned into (user, item, strength) triples, aggregated as Oryx's batch and speed layers do."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from oryxpy.content import is_content_record
from oryxpy.errors import InvalidInput
from oryxpy.records import Interaction, parse_interaction
from oryxpy.validation import BAD_RECORDS

#: Called with the index of a record that could not be parsed and the reason.
RejectFn = Callable[[int, InvalidInput], None]


@dataclass(frozen=True)
class Aggregated:
    """Distinct (user, item) pairs of a batch with their aggregated strengths, in first-seen (time) order."""

    users: list[str]
    items: list[str]
    values: np.ndarray  # float64


def parse_batch(values: Sequence[str], reject: RejectFn) -> list[Interaction]:
    """Parse every record; a bad one (oryxpy.validation) is counted, goes to ``reject`` and is left out."""
    parsed = []
    for index, value in enumerate(values):
        if is_content_record(value):  # item content (oryxpy.content): not an interaction, not bad
            continue
        try:
            parsed.append(parse_interaction(value))
        except InvalidInput as exc:
            BAD_RECORDS.note("speed", exc, f"record {index} of the batch ({value[:80]!r})")
            reject(index, exc)
    return parsed


def aggregate(interactions: list[Interaction], implicit: bool, log_strength: bool, epsilon: float) -> Aggregated:
    """Per (user, item) in timestamp order: implicit sums strengths since the last delete, explicit keeps the last.

    Pairs that end deleted are dropped (the speed layer does not fold in deletes, as in Oryx), then
    ``log1p(v / epsilon)`` is applied when ``log_strength``; the value is rounded to float32 as in Oryx, and a
    non-finite result is dropped too.
    """
    totals: dict[tuple[str, str], float] = {}
    for event in sorted(interactions, key=lambda e: e.timestamp_ms):
        pair = (event.user, event.item)
        strength = math.nan if event.strength is None else event.strength
        previous = totals.get(pair, math.nan)
        totals[pair] = previous + strength if implicit and not math.isnan(previous) else strength
    pairs = [(pair, total) for pair, total in totals.items() if not math.isnan(total)]
    values = np.fromiter((total for _, total in pairs), dtype=np.float64, count=len(pairs))
    if log_strength:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log1p(values / epsilon)
    with np.errstate(over="ignore"):
        values = values.astype(np.float32).astype(np.float64)  # Oryx carries the strength as a float
    finite = np.isfinite(values)
    kept = [pair for (pair, _), ok in zip(pairs, finite.tolist(), strict=True) if ok]
    return Aggregated([u for u, _ in kept], [i for _, i in kept], values[finite])
