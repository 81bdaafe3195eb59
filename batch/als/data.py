"""ALS input preparation, shared by every vector model since it moved to :mod:`batch.interactions` (kept at this path
for the imports that name it)."""

from batch.interactions import (
    DAY_MS,
    Events,
    Ratings,
    aggregate,
    build_ratings,
    decay_and_threshold,
    known_items,
    parse_events,
    sorted_codes,
)

__all__ = ["DAY_MS", "Events", "Ratings", "aggregate", "build_ratings", "decay_and_threshold", "known_items",
           "parse_events", "sorted_codes"]
