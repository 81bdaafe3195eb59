"""Interaction input of the vector models (ALS, two-tower, hybrid): parse records, decay, zero threshold, aggregate
per user-item, log strength, known items."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from oryxpy.content import is_content_record
from oryxpy.errors import InvalidInput
from oryxpy.records import parse_interaction
from oryxpy.validation import BAD_RECORDS

log = logging.getLogger(__name__)

DAY_MS = 86_400_000.0


@dataclass
class Events:
    """Parsed interactions in input order; ``strength`` NaN marks a delete."""

    users: np.ndarray  # object (str)
    items: np.ndarray  # object (str)
    strength: np.ndarray  # float64
    timestamp: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.users)

    def take(self, selector: np.ndarray) -> Events:
        return Events(self.users[selector], self.items[selector], self.strength[selector], self.timestamp[selector])


@dataclass
class Ratings:
    """Aggregated strengths as a sparse users x items matrix, with the IDs of its rows and columns (sorted)."""

    user_ids: list[str]
    item_ids: list[str]
    matrix: sp.csr_matrix


def parse_events(lines: Iterable[str], source: str = "input") -> tuple[Events, int]:
    """Parse stored input records; a bad record (oryxpy.validation) is counted and logged once per kind, never fatal."""
    users: list[str] = []
    items: list[str] = []
    strengths: list[float] = []
    stamps: list[int] = []
    bad = 0
    logged: set[tuple[str, str]] = set()  # the first bad record of each kind is logged in full, once per call
    for number, line in enumerate(lines, 1):
        if is_content_record(line):  # item content (oryxpy.content): not an interaction, not bad
            continue
        try:
            event = parse_interaction(line)
        except InvalidInput as exc:
            bad += 1
            BAD_RECORDS.note("batch", exc, f"record {number} of {source} ({line[:80]!r})", logged)
            continue
        users.append(event.user)
        items.append(event.item)
        strengths.append(math.nan if event.strength is None else event.strength)
        stamps.append(event.timestamp_ms)
    if bad:
        log.warning("%d bad record(s) skipped in %s (%d good)", bad, source, len(users))
    events = Events(np.array(users, dtype=object), np.array(items, dtype=object),
                    np.array(strengths, dtype=np.float64), np.array(stamps, dtype=np.int64))
    return events, bad


def decay_and_threshold(events: Events, factor: float, zero_threshold: float, now_ms: int) -> Events:
    """Multiply each strength by ``factor ** days_old`` (fractional days before ``now_ms``), then drop strengths
    whose magnitude is at or below ``zero_threshold``.

    Unlike Oryx (spec 9.2) deletes always survive the threshold, and a negative strength is judged by its magnitude.
    """
    strength = events.strength
    if factor < 1.0:
        age_days = np.maximum(now_ms - events.timestamp, 0) / DAY_MS
        strength = strength * np.power(factor, age_days)
    if zero_threshold > 0:
        keep = np.isnan(strength) | (np.abs(strength) > zero_threshold)
        events = events.take(keep)
        strength = strength[keep]
    return Events(events.users, events.items, strength, events.timestamp)


def sorted_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)`` for an object array of str, in memory proportional to the text.

    A fixed-width string array (``ids.astype(str)``) costs records x longest ID x 4 bytes: one 1,024-byte ID among
    2 M records took 8 GB. Arrow hashes and sorts the variable-length text instead (same code point order).
    """
    encoded = pa.array(ids, type=pa.large_string()).dictionary_encode()
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    unique = np.array(encoded.dictionary.take(pa.array(order)).to_pylist(), dtype=object)
    return unique, rank[encoded.indices.to_numpy(zero_copy_only=False)]


def _pair_order(events: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted unique users/items, per-event indices, and the event order by (user, item, timestamp, arrival)."""
    user_ids, user_idx = sorted_codes(events.users)
    item_ids, item_idx = sorted_codes(events.items)
    order = np.lexsort((events.timestamp, item_idx, user_idx))  # stable: ties keep arrival order
    return user_ids, item_ids, user_idx[order], item_idx[order], order


def _group_starts(user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    change = np.ones(len(user_idx), dtype=bool)
    change[1:] = (user_idx[1:] != user_idx[:-1]) | (item_idx[1:] != item_idx[:-1])
    return np.flatnonzero(change)


def aggregate(events: Events, implicit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Combine each user-item pair's events in time order: implicit sums the strengths since the last delete,
    explicit keeps the last value; a pair whose last event is a delete is dropped.

    Returns (user_ids, item_ids, user index, item index, value) of the surviving pairs.
    """
    if len(events) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=str), np.zeros(0, dtype=str), empty, empty, np.zeros(0)
    user_ids, item_ids, user_idx, item_idx, order = _pair_order(events)
    values = events.strength[order]
    starts = _group_starts(user_idx, item_idx)
    ends = np.append(starts[1:], len(values)) - 1
    if implicit:
        group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(values))))
        positions = np.arange(len(values))
        last_delete = np.maximum.reduceat(np.where(np.isnan(values), positions, -1), starts)
        after = positions > last_delete[group]
        totals = np.bincount(group[after], weights=values[after], minlength=len(starts))
        alive = np.bincount(group[after], minlength=len(starts)) > 0
        result = np.where(alive, totals, np.nan)
    else:
        result = values[ends]
    keep = ~np.isnan(result)
    return user_ids, item_ids, user_idx[ends][keep], item_idx[ends][keep], result[keep]


def build_ratings(events: Events, implicit: bool, log_strength: bool, epsilon: float) -> Ratings:
    """Aggregate events into the users x items matrix a model trains on; only users and items with a surviving pair get a row/column."""
    user_ids, item_ids, u, i, values = aggregate(events, implicit)
    if log_strength:
        values = np.log1p(values / epsilon)
        finite = np.isfinite(values)
        if not finite.all():
            log.warning("dropping %d pair(s) whose strength is <= -epsilon, which has no logarithm", int((~finite).sum()))
            u, i, values = u[finite], i[finite], values[finite]
    used_users, u = np.unique(u, return_inverse=True)
    used_items, i = np.unique(i, return_inverse=True)
    matrix = sp.csr_matrix((values, (u, i)), shape=(len(used_users), len(used_items)))
    return Ratings([str(x) for x in user_ids[used_users]], [str(x) for x in item_ids[used_items]], matrix)


def known_items(events: Events) -> dict[str, list[str]]:
    """Each user's known items over all data in time order: an event adds the item, a delete removes it."""
    if len(events) == 0:
        return {}
    user_ids, item_ids, user_idx, item_idx, order = _pair_order(events)
    starts = _group_starts(user_idx, item_idx)
    ends = np.append(starts[1:], len(order)) - 1
    present = ~np.isnan(events.strength[order][ends])
    known: dict[str, list[str]] = {}
    for u, i in zip(user_idx[ends][present].tolist(), item_idx[ends][present].tolist(), strict=True):
        known.setdefault(str(user_ids[u]), []).append(str(item_ids[i]))
    return known
