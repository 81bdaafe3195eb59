"""The most-popular model's state and messages, shared by its batch, speed and serving parts.

Scores are kept as of the model's reference time ``timestamp_ms`` (the batch generation's): an interaction of
strength s at time t adds ``s * 2 ** ((t - timestamp_ms) / half_life_ms)``; the score as of any later time is the
same sum times one common factor, so the ranking never needs rescaling. Messages on the update topic:

- MODEL: JSON ``{"modelType": "time-decayed-popular", "timestampMs", "halfLifeMs", "users", "items": [[id, score]]}``
  (MODEL-REF: the URI of that JSON when it is too large for one message);
- UP ``["Y", item, [score], ["<model timestampMs>", "<score time ms>"]]``: an item's score as of the time it names
  (the speed layer's clock: the value stays within a 32-bit float however old the model), ignored by another model;
- UP ``["X", user, [], [items]]``: all of a user's known items.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.messages import UP, ModelMessage, ModelRefMessage, VectorUpdate, up_value
from oryxpy.records import Interaction
from oryxpy.storage import storage_for
from oryxpy.topics import KeyValue
from popular.settings import PopularSettings

MODEL_TYPE = "time-decayed-popular"
HOUR_MS = 3_600_000
MAX_EXPONENT = 1000.0  # half-lives between an event and the model's time that a score can span


def half_life_ms(config: Config) -> float:
    return config.section(PopularSettings).half_life_hours * HOUR_MS


@dataclass
class PopularState:
    """Item scores as of ``timestamp_ms`` and users' known items (ordered sets); the users announced by the MODEL."""

    timestamp_ms: int
    half_life_ms: float
    scores: dict[str, float] = field(default_factory=dict)
    known: dict[str, dict[str, None]] = field(default_factory=dict)
    announced_users: int = 0

    def weight(self, at_ms: int) -> float:
        """What an interaction at ``at_ms`` adds per unit of strength, as of the reference time."""
        return _power_of_two((at_ms - self.timestamp_ms) / self.half_life_ms)

    def decay_to(self, at_ms: int) -> float:
        """The factor turning scores as of the reference time into scores as of ``at_ms`` (0.0 when that is so many
        half-lives later that it underflows: the ranking, kept as of the reference time, is unchanged)."""
        return _power_of_two((self.timestamp_ms - at_ms) / self.half_life_ms)

    def apply(self, events: Iterable[Interaction], keep_known: bool) -> tuple[set[str], set[str]]:
        """Fold interactions in (in time order): strengths add to scores; a positive one makes the item known to the
        user, a delete or a negative one no longer known.
        Returns the items whose score changed and the users whose known items changed."""
        items: set[str] = set()
        users: set[str] = set()
        for event in sorted(events, key=lambda e: e.timestamp_ms):
            if event.strength is not None:
                added = event.strength * self.weight(event.timestamp_ms)
                if math.isfinite(added):
                    self.scores[event.item] = self.scores.get(event.item, 0.0) + added
                    items.add(event.item)
            if keep_known:
                history = self.known.setdefault(event.user, {})
                if event.strength is not None and event.strength > 0:
                    history[event.item] = None
                else:  # a delete, or a negative strength: no longer a known item
                    history.pop(event.item, None)
                users.add(event.user)
        return items, users

    def fraction_loaded(self) -> float:
        """Users whose known items arrived, of those the MODEL announced (items come with the MODEL itself)."""
        if self.announced_users <= 0:
            return 1.0
        return min(1.0, len(self.known) / self.announced_users)

    # ---- messages ----

    def model_json(self) -> str:
        """The MODEL message: the scores, most popular first."""
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
        return json.dumps({"modelType": MODEL_TYPE, "timestampMs": self.timestamp_ms, "halfLifeMs": self.half_life_ms,
                           "users": len(self.known), "items": ranked}, ensure_ascii=False, separators=(",", ":"))

    def item_update(self, item: str, as_of_ms: int) -> KeyValue:
        """The UP ``Y`` message of an item's score as of ``as_of_ms`` (so that it fits the message's 32-bit float
        however old the model is), naming this model's reference time."""
        score = self.scores[item] * self.decay_to(as_of_ms)
        return UP, up_value("Y", item, [score], [str(self.timestamp_ms), str(as_of_ms)])


def _power_of_two(exponent: float) -> float:
    """2 ** exponent, with the exponent bounded so that it never overflows a float (2 ** 1000 is about 1e301)."""
    return float(2.0 ** min(max(exponent, -MAX_EXPONENT), MAX_EXPONENT))


def parse_model(text: str) -> PopularState:
    """A MODEL message's JSON as a new state; InvalidInput when it is not a most-popular model."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidInput("MODEL is not a most-popular model (not JSON); oryx.speed.model-manager-class and "
                           "oryx.serving.model-manager-class must match oryx.batch.update-class") from None
    if not isinstance(data, dict) or data.get("modelType") != MODEL_TYPE:
        raise InvalidInput(f"MODEL is not a {MODEL_TYPE} model; the model manager classes must match "
                           "oryx.batch.update-class")
    try:
        state = PopularState(int(data["timestampMs"]), float(data["halfLifeMs"]), announced_users=int(data["users"]))
        state.scores = {str(item): float(score) for item, score in data["items"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"most-popular MODEL is malformed: {exc}") from None
    if not state.half_life_ms > 0:
        raise InvalidInput(f"most-popular MODEL has half-life {state.half_life_ms} ms")
    return state


def model_text(message: ModelMessage | ModelRefMessage, config: Config) -> str | None:
    """The model JSON of a MODEL, or read from the file a MODEL-REF names (None when that file is gone)."""
    if isinstance(message, ModelMessage):
        return message.pmml
    storage = storage_for(message.uri, config)
    if not storage.exists(message.uri):
        return None
    return storage.read_text(message.uri)


def apply_update(state: PopularState, update: VectorUpdate) -> None:
    """An UP message: an item's score (as of the time it names, for this model), or a user's known items."""
    if update.matrix == "Y":
        if len(update.vector) != 1 or update.known is None or len(update.known) != 2:
            raise InvalidInput(f"UP for item {update.id} is not [\"Y\", item, [score], [model time, score time]]")
        model_ms, as_of_ms = update.known
        if model_ms != str(state.timestamp_ms):
            return  # folded into another model: this model (newer) supersedes it
        try:
            weight = state.weight(int(as_of_ms))
        except ValueError:
            raise InvalidInput(f"UP for item {update.id} has score time {as_of_ms!r}, not epoch milliseconds") from None
        state.scores[update.id] = float(update.vector[0]) * weight
    else:
        state.known[update.id] = dict.fromkeys(update.known or ())


def known_updates(state: PopularState, users: Sequence[str]) -> list[KeyValue]:
    """UP ``X`` messages with each user's known items (all of them: a consumer replaces what it had)."""
    return [(UP, up_value("X", user, [], list(state.known[user]))) for user in users]
