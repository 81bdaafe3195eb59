"""The train/test split of a generation's new input: one rule for every engine, :func:`decide`, which asks an engine's
:class:`SplitOps` for counts and masks (numpy arrays here, DataFrames in batch.spark.split).

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
from typing import Generic, Protocol, TypeVar

import numpy as np

log = logging.getLogger(__name__)

MIN_DISTINCT = 10
MIN_EVALUABLE = 10
MIN_USER_SHARE = 0.1
TIME, RANDOM, NONE = "time", "random", "none"

Mask = TypeVar("Mask")


class SplitOps(Protocol[Mask]):
    """What an engine computes over this generation's new records for :func:`decide`; a ``Mask`` marks test records
    (numpy: a bool array; Spark: the records with a boolean ``test`` column)."""

    def size(self) -> int: ...
    def has_past(self) -> bool: ...
    def distinct_users(self) -> int: ...
    def distinct_timestamps(self) -> int: ...
    def kth_timestamp(self, k: int) -> int: ...
    def time_test(self, boundary: int, inclusive: bool) -> Mask: ...
    def random_test(self, fraction: float, seed: int | None) -> Mask: ...
    def all_test(self) -> Mask: ...
    def count(self, test: Mask) -> int: ...
    def evaluable(self, test: Mask) -> tuple[int, int]:
        """(test records, distinct users) whose user and item also occur in the train part (new train or past)."""
        ...


@dataclass(frozen=True)
class Decision(Generic[Mask]):
    """The rule's verdict: the test records (None: no split), how they were chosen and why."""

    test: Mask | None
    method: str  # TIME, RANDOM or NONE
    reason: str
    test_count: int = 0
    boundary_ms: int | None = None


def decide(ops: SplitOps[Mask], fraction: float, seed: int | None) -> Decision[Mask]:
    """The module's rule, for any engine; logs which split was used and why."""
    decision = _decide(ops, fraction, seed)
    if decision.method == NONE:
        log.warning("no test split (%s): building on all new records without evaluation", decision.reason)
    else:
        log.info("%s split: %d of %d new records are test (%s)", decision.method, decision.test_count, ops.size(),
                 decision.reason)
    return decision


def _decide(ops: SplitOps[Mask], fraction: float, seed: int | None) -> Decision[Mask]:
    if fraction <= 0:
        return Decision(None, NONE, "oryx.ml.eval.test-fraction is 0")
    n = ops.size()
    if n == 0:
        return Decision(None, NONE, "no new input in this generation")
    if fraction >= 1:
        if not ops.has_past():
            return Decision(None, NONE, "test-fraction 1 with no past data would leave nothing to train on")
        return Decision(ops.all_test(), TIME, "test-fraction 1: all new input is test", n)
    distinct = ops.distinct_timestamps()
    if distinct < MIN_DISTINCT:
        why_not = f"only {distinct} distinct timestamp(s) (< {MIN_DISTINCT})"
    else:
        boundary = ops.kth_timestamp(min(max(int(np.floor((1 - fraction) * n)), 1), n - 1))
        test = ops.time_test(boundary, True)
        count = ops.count(test)
        if count > 2 * fraction * n:  # ties at the boundary: leave them in train
            test = ops.time_test(boundary, False)
            count = ops.count(test)
        if not fraction / 2 <= count / n <= 2 * fraction:
            why_not = f"timestamps tie too much: the time split's test share is {count / n:.3f}, not about {fraction}"
        else:
            evaluable, scored_users = ops.evaluable(test)
            users = ops.distinct_users()
            if evaluable >= MIN_EVALUABLE and scored_users >= MIN_USER_SHARE * users:
                return Decision(test, TIME, f"timestamps separate: boundary {boundary} ms (the {1 - fraction:g} quantile)",
                                count, boundary)
            if evaluable < MIN_EVALUABLE:
                why_not = f"the time split leaves only {evaluable} test record(s) of known users and items (< {MIN_EVALUABLE})"
            else:
                why_not = (f"the time split's test scores only {scored_users} users, under {MIN_USER_SHARE:.0%} of the "
                           f"{users} users")
    test = ops.random_test(fraction, seed)
    evaluable = ops.evaluable(test)[0]
    if evaluable >= MIN_EVALUABLE:
        return Decision(test, RANDOM, f"{why_not}; using a seeded random per-user holdout", ops.count(test))
    return Decision(None, NONE, f"{why_not}, and a random per-user holdout leaves only {evaluable} "
                                f"evaluable test record(s) (< {MIN_EVALUABLE}): evaluation is impossible")


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
    return np.asarray(test_pair[pair_of], dtype=bool)


@dataclass
class _ArrayOps:
    """SplitOps over numpy columns of the new records, with the IDs of past data (always train)."""

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    past_users: set[str]
    past_items: set[str]

    def size(self) -> int:
        return len(self.users)

    def has_past(self) -> bool:
        return bool(self.past_users)

    def distinct_users(self) -> int:
        return len(np.unique(self.users))

    def distinct_timestamps(self) -> int:
        return len(np.unique(self.timestamps))

    def kth_timestamp(self, k: int) -> int:
        return int(np.partition(self.timestamps, k)[k])

    def time_test(self, boundary: int, inclusive: bool) -> np.ndarray:
        return np.asarray(self.timestamps >= boundary if inclusive else self.timestamps > boundary, dtype=bool)

    def random_test(self, fraction: float, seed: int | None) -> np.ndarray:
        return random_holdout(self.users, self.items, fraction, seed)

    def all_test(self) -> np.ndarray:
        return np.ones(len(self.users), dtype=bool)

    def count(self, test: np.ndarray) -> int:
        return int(test.sum())

    def evaluable(self, test: np.ndarray) -> tuple[int, int]:
        train_users = self.past_users | set(self.users[~test].tolist())
        train_items = self.past_items | set(self.items[~test].tolist())
        scored = [u for u, i in zip(self.users[test].tolist(), self.items[test].tolist(), strict=True)
                  if u in train_users and i in train_items]
        return len(scored), len(set(scored))


def split_new(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray, fraction: float, seed: int | None,
              past_users: set[str] | None = None, past_items: set[str] | None = None) -> Split:
    """Choose this generation's test records by the module's rule; logs which split was used and why.

    ``users``/``items``/``timestamps`` are the new records' columns; ``past_users``/``past_items`` the IDs in past
    data (always train), which count when judging whether a test record can be evaluated.
    """
    decision = decide(_ArrayOps(users, items, timestamps, past_users or set(), past_items or set()), fraction, seed)
    test = decision.test if decision.test is not None else np.zeros(len(users), dtype=bool)
    return Split(test, decision.method, decision.reason, decision.boundary_ms)
