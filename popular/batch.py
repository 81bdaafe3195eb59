"""PopularUpdate: the batch update class of the most-popular model (``oryx.batch.update-class``)."""

from __future__ import annotations

import logging

import pyarrow as pa

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.interfaces import BatchLayerUpdate
from oryxpy.messages import MODEL, MODEL_REF
from oryxpy.records import Interaction, parse_interaction
from oryxpy.storage import join_uri, storage_for
from oryxpy.topics import TopicProducer
from popular.model import PopularState, half_life_ms, known_updates
from popular.settings import PopularSettings

log = logging.getLogger(__name__)

MODEL_FILE = "model.json"
SEND_CHUNK = 10_000


def interactions(tables: list[pa.Table | None]) -> tuple[list[Interaction], int]:
    """Every valid interaction of the stored input, and how many values were skipped (content records, bad ones)."""
    events: list[Interaction] = []
    skipped = 0
    for table in tables:
        if table is None:
            continue
        for value in table.column("value").to_pylist():
            try:
                events.append(parse_interaction(value))
            except (InvalidInput, TypeError):
                skipped += 1
    return events, skipped


class PopularUpdate(BatchLayerUpdate):
    """Scores every item from all input as of the generation's time, writes ``<model-dir>/<time>/model.json`` and
    publishes it (MODEL, or MODEL-REF when larger than a message), then each user's known items (UP ``X``)."""

    def __init__(self, config: Config):
        self.config = config
        self.half_life_ms = half_life_ms(config)
        popular = config.section(PopularSettings)
        self.max_items = popular.max_items
        self.keep_known = popular.known_items
        self.max_message_size = config.settings.update_topic.message.max_size

    def build(self, timestamp_ms: int, new_data: pa.Table, past_data: pa.Table | None) -> PopularState:
        events, skipped = interactions([past_data, new_data])
        if skipped:
            log.info("skipped %d input values that are not interactions (item content or bad records)", skipped)
        state = PopularState(timestamp_ms, self.half_life_ms)
        state.apply(events, self.keep_known)
        state.scores = {item: score for item, score in state.scores.items() if score > 0}
        if self.max_items and len(state.scores) > self.max_items:
            kept = sorted(state.scores.items(), key=lambda kv: -kv[1])[: self.max_items]
            state.scores = dict(kept)
        state.known = {user: items for user, items in state.known.items() if items}
        return state

    def run_update(self, timestamp_ms: int, new_data: pa.Table, past_data: pa.Table | None, model_dir: str,
                   update_producer: TopicProducer | None) -> None:
        state = self.build(timestamp_ms, new_data, past_data)
        if not state.scores:
            log.warning("no item has a positive score; no model")
            return
        storage = storage_for(model_dir, self.config)
        final_uri = join_uri(model_dir, str(timestamp_ms))
        text = state.model_json()
        storage.write_text(join_uri(final_uri, MODEL_FILE), text)
        log.info("new most-popular model %s: %d items, %d users", final_uri, len(state.scores), len(state.known))
        if update_producer is None:
            return
        if len(text.encode("utf-8")) <= self.max_message_size:
            update_producer.send(MODEL, text)
        else:
            update_producer.send(MODEL_REF, storage.qualify(join_uri(final_uri, MODEL_FILE)))
        users = list(state.known)
        for start in range(0, len(users), SEND_CHUNK):
            update_producer.send_all(known_updates(state, users[start:start + SEND_CHUNK]))
