"""PopularSpeedModelManager: folds new interactions into the item scores and users' known items at once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.interfaces import ModelStatus, SpeedModelManager, load_status
from oryxpy.messages import UpdateMessage, VectorUpdate
from oryxpy.records import Interaction, parse_interaction
from oryxpy.topics import KeyValue
from popular.model import PopularState, apply_update, known_updates, model_text, parse_model
from popular.settings import PopularSettings
from speed.batch import rejecter

log = logging.getLogger(__name__)


class PopularSpeedModelManager(SpeedModelManager):
    """Speed logic of the most-popular model (``oryx.speed.model-manager-class``), for PopularUpdate's models: each
    batch yields the new scores of the items it touched (UP ``Y``) and the known items of its users (UP ``X``)."""

    def __init__(self, config: Config):
        self._config = config
        self._keep_known = config.section(PopularSettings).known_items
        self._min_fraction = config.settings.speed.min_model_load_fraction
        self.model: PopularState | None = None
        self._lock = threading.Lock()

    def consume(self, message: UpdateMessage) -> None:
        if isinstance(message, VectorUpdate):
            with self._lock:
                if self.model is not None:  # an UP before any model is dropped
                    apply_update(self.model, message)
            return
        text = model_text(message, self._config)
        if text is None:
            log.warning("Unable to load the model file of %s; ignoring", message)
            return
        state = parse_model(text)
        with self._lock:
            self.model = state
        log.info("most-popular model of %d: %d items, %d users announced", state.timestamp_ms, len(state.scores),
                 state.announced_users)

    def model_status(self) -> ModelStatus:
        return load_status(self.model, self._min_fraction)

    def build_updates(self, new_data: Sequence[str]) -> list[KeyValue]:
        model = self.model
        if model is None or load_status(model, self._min_fraction) != "ready":
            return []
        reject = rejecter(new_data, log)
        events: list[Interaction] = []
        for index, value in enumerate(new_data):
            try:
                events.append(parse_interaction(value))
            except InvalidInput as exc:
                reject(index, exc)
        with self._lock:
            items, users = model.apply(events, self._keep_known)
            now_ms = int(time.time() * 1000)
            updates: list[KeyValue] = [model.item_update(item, now_ms) for item in sorted(items)]
            updates.extend(known_updates(model, sorted(users)))
        return updates
