"""UP messages that repeat what the serving model already holds, found for a whole poll of the update topic at once.

After a MODEL-REF the batch layer publishes every vector of the model again as an UP message (Oryx does the same), so a
replay of the update topic brings millions of UPs that change nothing. Decoding each one as JSON and looking it up one
by one cost more than 2x ``json.loads``; here the messages of a poll are split without a JSON parser
(:func:`oryxpy.messages.split_up`), their vectors parsed in one pass (:func:`oryxpy.messages.parse_vectors`), their IDs
and known items looked up in bulk and compared bit for bit with the model. A message is reported as a repeat only
when applying it could change nothing; every other message (new, changed, malformed, or of a shape the fast split
does not take) is left to the full decode and apply, in order.

Only the consumer thread writes the model, so reading it unlocked here is safe.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from oryxpy.messages import UP, UpParts, parse_vectors, split_up
from serving.vectors.model import VectorServingModel

PROBE = 16  # messages of a poll checked before the rest (see repeated_updates)


def repeated_updates(model: VectorServingModel, messages: Sequence[tuple[str | None, str]]) -> np.ndarray:
    """Per message (key, value), whether it is an UP that repeats the model exactly: the same vector bit for bit and,
    for a user, every known item already known. Only a leading run of UPs of the compact shape is checked; after a
    message that is not a repeat, later messages for the same ID are not repeats either (it may change that ID).

    A poll of the speed layer's live updates holds next to no repeats, and checking it cost the consumer more than
    decoding it (38 % of its time against 18 %, applying new user vectors while serving over HTTP). So the first
    ``PROBE`` messages are checked alone, and the rest only if one of them repeats the model, as in a replay. A repeat
    left unmarked is applied again, which changes nothing."""
    if len(messages) > 2 * PROBE:
        probe = _repeats(model, messages[:PROBE])
        if not probe.any():
            return np.concatenate([probe, np.zeros(len(messages) - PROBE, dtype=bool)])
    return _repeats(model, messages)


def _repeats(model: VectorServingModel, messages: Sequence[tuple[str | None, str]]) -> np.ndarray:
    repeat = np.zeros(len(messages), dtype=bool)
    parts: list[UpParts] = []
    for key, value in messages:
        split = split_up(value) if key == UP else None
        if split is None:
            break  # a MODEL, another shape or a bad message: it and everything after it take the full path
        parts.append(split)
    if not parts:
        return repeat
    matrices, ids, texts, known = zip(*parts, strict=True)
    ok, vectors = parse_vectors(texts, model.features)
    users = np.array(matrices) == "X"
    for side_users, store in ((True, model.X), (False, model.Y)):
        chosen = np.flatnonzero(ok & (users == side_users))
        if len(chosen):
            picked = chosen.tolist()
            nums = store.table.find_many([ids[i] for i in picked] if len(picked) < len(parts) else list(ids))
            same = store.equal_rows(nums, vectors[chosen])
            if side_users:
                same &= _known_held(model, nums, [known[i] for i in picked])
            repeat[chosen] = same
    if not repeat[: len(parts)].all():
        _unmark_after_changes(repeat, parts)
    return repeat


def _known_held(model: VectorServingModel, users: np.ndarray, known: list[list[str] | None]) -> np.ndarray:
    """Per user message, whether each of its known items is already known to that user."""
    lengths = np.fromiter((len(k) if k else 0 for k in known), dtype=np.int64, count=len(known))
    if not lengths.any():
        return np.ones(len(known), dtype=bool)
    items = model.Y.table.find_many(list(itertools.chain.from_iterable(k for k in known if k)))
    held = model.known.holds_pairs(np.repeat(users, lengths), items)
    missing = np.bincount(np.repeat(np.arange(len(known)), lengths), weights=~held, minlength=len(known))
    all_held: np.ndarray = missing == 0
    return all_held


def _unmark_after_changes(repeat: np.ndarray, parts: list[UpParts]) -> None:
    """A message checked as a repeat against the model before the poll is not one if an earlier message of the poll
    that will be applied names the same ID."""
    changed: set[tuple[str, str]] = set()
    for pos, part in enumerate(parts):
        key = (part[0], part[1])
        if not repeat[pos]:
            changed.add(key)
        elif key in changed:
            repeat[pos] = False
