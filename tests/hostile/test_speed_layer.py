"""The real speed layer (embedded log and Kafka) fed poison input records: it folds in the good ones, skips and counts
the rest (Oryx's unquoted comma ID among them), and keeps running."""

from __future__ import annotations

from collections.abc import Callable

from oryxpy.config import Config
from oryxpy.topics import TopicConsumer
from oryxpy.validation import BAD_RECORDS
from tests.hostile.test_topics import POISON
from tests.speed.fixtures import model_messages
from tests.speed.test_layer import (
    publish,
    read_ups,
    record,
    start_ready_layer,
    topics_config,
    updates_reader,
    wait_for,
)

__all__ = ["topics_config", "updates_reader"]  # the fixtures, shared with the speed layer's own tests


def test_poison_input_is_skipped_counted_and_the_layer_goes_on(topics_config: Config,
                                                                updates_reader: Callable[[], TopicConsumer]) -> None:
    publish(topics_config, "update", model_messages())
    with start_ready_layer(topics_config) as layer:
        reader = updates_reader()
        fields_before = BAD_RECORDS.count("speed", "fields")
        counted = [p for p in POISON if not p.startswith("{")]  # '{x,...' is an item-content record, not bad
        publish(topics_config, "input", [(None, p) for p in POISON] + [record("W1", "C2")])
        assert ("X", "W1") in read_ups(reader, 1)
        wait_for(lambda: layer.counters.bad_input_records == len(counted), "the poison to be counted")
        assert BAD_RECORDS.count("speed", "fields") == fields_before + 1  # Oryx's 'a,b,i,1.0,5'
        publish(topics_config, "input", [record("W2", "C2", timestamp=1_700_000_000_001)])
        assert ("X", "W2") in read_ups(reader, 1)
        assert layer.counters.failed_batches == 0
