"""Helpers of the batch tests: generated input, topic I/O and model-directory checks."""

from __future__ import annotations

import time

import numpy as np

from oryxpy.config import Config
from oryxpy.messages import ModelMessage, ModelRefMessage, UpdateMessage, VectorUpdate, decode
from oryxpy.pmml import ALSModelInfo, pmml_to_als_model
from oryxpy.storage import join_uri, name_of, storage_for
from oryxpy.topics import open_consumer, open_producer

T0 = 1_600_000_000_000

#: Small fast model settings for generation tests.
FAST = {"oryx.als.hyperparams.features": 4, "oryx.als.iterations": 3, "oryx.als.seed": 1}


def interactions(users: int, items: int, count: int, seed: int = 0, start_ms: int = T0) -> list[str]:
    """Random implicit input records with increasing timestamps."""
    rng = np.random.default_rng(seed)
    u, i = rng.integers(0, users, count), rng.integers(0, items, count)
    return [f"user{a},item{b},1,{start_ms + n * 1000}" for n, (a, b) in enumerate(zip(u, i, strict=True))]


def send_input(config: Config, lines: list[str]) -> None:
    with open_producer(config, "input") as producer:
        producer.send_all([(None, line) for line in lines])


def read_updates(config: Config, idle_s: float = 0.5) -> list[UpdateMessage]:
    """Every message on the update topic, decoded, in order."""
    messages: list[UpdateMessage] = []
    with open_consumer(config, "update", None, "earliest") as consumer:
        consumer.wait_ready()
        deadline = time.monotonic() + idle_s
        while time.monotonic() < deadline or consumer.lag() > 0:
            batch = consumer.poll(timeout_s=0.3, max_records=100_000)
            if batch:
                deadline = time.monotonic() + idle_s
            messages.extend(decode(r.key, r.value) for r in batch)
    return messages


def model_dirs(config: Config) -> list[str]:
    storage = storage_for(config.model_dir, config)
    return [u for u in storage.list(config.model_dir) if not name_of(u).startswith(".")]


def check_published(config: Config, messages: list[UpdateMessage]) -> ALSModelInfo:
    """Assert MODEL or MODEL-REF comes first, then a Y UP for every item, then an X UP for every user; return the model."""
    first = messages[0]
    if isinstance(first, ModelRefMessage):
        info = pmml_to_als_model(storage_for(first.uri, config).read_text(first.uri))
    else:
        assert isinstance(first, ModelMessage)
        info = pmml_to_als_model(first.pmml)
    ups = messages[1:]
    assert all(isinstance(m, VectorUpdate) for m in ups)
    kinds = [m.matrix for m in ups if isinstance(m, VectorUpdate)]
    assert kinds == ["Y"] * len(info.y_ids) + ["X"] * len(info.x_ids)
    assert sorted(m.id for m in ups[: len(info.y_ids)] if isinstance(m, VectorUpdate)) == sorted(info.y_ids)
    assert sorted(m.id for m in ups[len(info.y_ids):] if isinstance(m, VectorUpdate)) == sorted(info.x_ids)
    assert all(len(m.vector) == info.features for m in ups if isinstance(m, VectorUpdate))
    return info


def check_model_dir(config: Config, model_uri: str) -> None:
    storage = storage_for(model_uri, config)
    for part in ("model.pmml", "metrics.json", "X", "Y"):
        assert storage.exists(join_uri(model_uri, part)), part
