"""The speed layer publishes nothing from a half-loaded model: after a new MODEL it waits for the model's vectors."""

from __future__ import annotations

import time

from oryxpy.messages import MODEL, UP, encode
from oryxpy.topics import open_consumer, open_producer
from speed.runner import SpeedLayer
from tests.conftest import embedded_config_at
from tests.serving import golden


def update_log(config) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with open_consumer(config, "update", None, "earliest") as consumer:
        consumer.wait_ready()
        out: list[tuple[str, str]] = []
        while batch := consumer.poll(timeout_s=0.3):
            out += [(r.key or "", r.value) for r in batch]
    return out


def test_input_waits_until_a_new_models_vectors_have_arrived(tmp_path):
    config = embedded_config_at(tmp_path / "state", **{"oryx.id": "whole"})
    messages = [encode(m) for m in golden.messages()]  # type: ignore[arg-type]
    model, vectors = messages[0], messages[1:]
    with open_producer(config, "update") as producer:
        producer.send_all(messages)
    layer = SpeedLayer(config)
    layer.start()
    try:
        deadline = time.monotonic() + 30
        while not layer.caught_up:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with open_producer(config, "update") as producer, open_producer(config, "input") as input_producer:
            seen = layer.counters.update_messages
            producer.send(*model)  # a new generation: the old vectors are still there, the new ones follow
            while layer.counters.update_messages == seen:  # input sent before the speed layer saw the MODEL may
                assert time.monotonic() < deadline      # still be folded into the old model, as in Oryx
                time.sleep(0.01)
            input_producer.send(None, f"U0,I2,1,{int(time.time() * 1000)}")
            time.sleep(2.5)  # the batch layer is still reading the vectors from storage: the update topic is quiet
            producer.send_all(vectors)
        deadline = time.monotonic() + 30
        while layer.counters.updates_published == 0:
            assert time.monotonic() < deadline, layer.counters
            time.sleep(0.05)
    finally:
        layer.stop()
    log = update_log(config)  # cut back to the new MODEL
    assert log[0] == model
    assert log[1:1 + len(vectors)] == vectors  # nothing from the speed layer between the model and its vectors
    assert any(key == UP for key, _ in log[1 + len(vectors):]) and MODEL not in {k for k, _ in log[1:]}
