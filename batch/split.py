"""The train/test split of a generation's new input, one rule for every engine (local numpy here; Spark mirrors it).

Rule (``fraction`` f in (0, 1), applied to this generation's new records; past data is always train):

1. **Time split by quantile.** Sort the new records' timestamps; the boundary b is the timestamp at position
   floor((1 - f) * n) (0-based, clamped to 1..n-1). Test = records with timestamp >= b; when ties at b make the
   test share larger than 2f, test = records with timestamp > b instead. A quantile, not the span: one record
   at 1970 or in 2100 moves the boundary by one record, not by decades.
2. The time split is used only when it can separate: at least ``MIN_DISTINCT`` distinct timestamps, a test share
   within [f/2, 2f], at least ``MIN_EVALUABLE`` test records whose user and item are both in the train part
   (only those can be scored), and such records for at least ``MIN_USER_SHARE`` of the new input's users (ranking
   metrics are means over users: a test of a few recent heavy users judges the model on too few people).
   Otherwise, with the reason logged:
3. **Seeded random per-user holdout.** Each (user, item) pair gets a uniform key in [0, 1) from the seed; a
   pair is test when its key < f, except each user's pair with the smallest key, which stays train (a user keeps
   at least one train pair). All of a pair's records go the same way. It is used when it yields at least
   ``MIN_EVALUABLE`` evaluable test records; otherwise
4. **No split:** evaluation is impossible; everything is train and the reason is logged.

f <= 0 means no split; f >= 1 means all new records are test (Oryx's behaviour, kept for tests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

MIN_DISTINCT = 10
MIN_EVALUABLE = 10
MIN_USER_SHARE = 0.1
TIME, RANDOM, NONE = "time", "random", "none"


@dataclass(frozen=True)
class Split:
    """Which new records are test, how they were chosen, and why."""

    test: np.ndarray  # bool mask over the new records
    method: str  # "time", "random" or "none"
    reason: str
    boundary_ms: int | None = None

    @property
    def evaluating(self) -> bool:
        return self.method != NONE


def _evaluable(users: np.ndarray, items: np.ndarray, test: np.ndarray, past_users: set[str], past_items: set[str]) -> tuple[int, int]:
    """(test records, distinct users) whose user and item also occur in the train part (new train records or past)."""
    train_users = past_users | set(users[~test].tolist())
    train_items = past_items | set(items[~test].tolist())
    scored = [u for u, i in zip(users[test].tolist(), items[test].tolist(), strict=True) if u in train_users and i in train_items]
    return len(scored), len(set(scored))


def _time_split(timestamps: np.ndarray, fraction: float) -> tuple[np.ndarray | None, int, str]:
    n = len(timestamps)
    distinct = len(np.unique(timestamps))
    if distinct < MIN_DISTINCT:
        return None, 0, f"only {distinct} distinct timestamp(s) (< {MIN_DISTINCT})"
    ordered = np.sort(timestamps)
    boundary = int(ordered[min(max(int(np.floor((1 - fraction) * n)), 1), n - 1)])
    test = timestamps >= boundary
    if test.mean() > 2 * fraction:
        test = timestamps > boundary
    share = float(test.mean())
    if not fraction / 2 <= share <= 2 * fraction:
        return None, boundary, f"timestamps tie too much: the time split's test share is {share:.3f}, not about {fraction}"
    return test, boundary, ""


def random_holdout(users: np.ndarray, items: np.ndarray, fraction: float, seed: int | None) -> np.ndarray:
    """Rule 3: the seeded per-user random holdout over (user, item) pairs; a bool test mask over the records."""
    if len(users) == 0:
        return np.zeros(0, dtype=bool)
    pairs = np.char.add(np.char.add(users.astype(str), "\x00"), items.astype(str))
    pair_ids, pair_of = np.unique(pairs, return_inverse=True)
    keys = np.random.default_rng(0 if seed is None else seed).random(len(pair_ids))
    pair_user = np.unique(users.astype(str), return_inverse=True)[1]
    first_record = np.unique(pair_of, return_index=True)[1]
    owner = pair_user[first_record]  # user index of each pair
    smallest = np.full(owner.max() + 1, np.inf)
    np.minimum.at(smallest, owner, keys)
    test_pair = (keys < fraction) & (keys > smallest[owner])
    return test_pair[pair_of]


def split_new(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, fraction: float, seed: int | None,
              past_users: set[str] | None = None, past_items: set[str] | None = None) -> Split:
    """Choose this generation's test records by the module's rule; logs which split was used and why.

    ``users``/``items``/``timestamps`` are the new records' columns; ``past_users``/``past_items`` the IDs in past
    data (always train), which count when judging whether a test record can be evaluated.
    """
    split = _choose(users, items, timestamps, fraction, seed, past_users or set(), past_items or set())
    n = len(users)
    if split.method == NONE:
        log.warning("no test split (%s): building on all %d new records without evaluation", split.reason, n)
    else:
        log.info("%s split: %d of %d new records are test (%s)", split.method, int(split.test.sum()), n, split.reason)
    return split


def _choose(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, fraction: float, seed: int | None,
            past_users: set[str], past_items: set[str]) -> Split:
    n = len(users)
    if fraction <= 0:
        return Split(np.zeros(n, dtype=bool), NONE, "oryx.ml.eval.test-fraction is 0")
    if n == 0:
        return Split(np.zeros(0, dtype=bool), NONE, "no new input in this generation")
    if fraction >= 1:
        test = np.ones(n, dtype=bool)
        if not past_users:
            return Split(np.zeros(n, dtype=bool), NONE, "test-fraction 1 with no past data would leave nothing to train on")
        return Split(test, TIME, "test-fraction 1: all new input is test")
    test, boundary, why_not = _time_split(timestamps, fraction)
    if test is not None:
        evaluable, scored_users = _evaluable(users, items, test, past_users, past_items)
        needed_users = MIN_USER_SHARE * len(np.unique(users))
        if evaluable >= MIN_EVALUABLE and scored_users >= needed_users:
            return Split(test, TIME, f"timestamps separate: boundary {boundary} ms (the {1 - fraction:g} quantile)", boundary)
        if evaluable < MIN_EVALUABLE:
            why_not = f"the time split leaves only {evaluable} test record(s) of known users and items (< {MIN_EVALUABLE})"
        else:
            why_not = (f"the time split's test scores only {scored_users} users, under {MIN_USER_SHARE:.0%} of the "
                       f"{len(np.unique(users))} users")
    test = random_holdout(users, items, fraction, seed)
    evaluable = _evaluable(users, items, test, past_users, past_items)[0]
    if evaluable >= MIN_EVALUABLE:
        return Split(test, RANDOM, f"{why_not}; using a seeded random per-user holdout")
    return Split(np.zeros(n, dtype=bool), NONE, f"{why_not}, and a random per-user holdout leaves only {evaluable} "
                                                f"evaluable test record(s) (< {MIN_EVALUABLE}): evaluation is impossible")
