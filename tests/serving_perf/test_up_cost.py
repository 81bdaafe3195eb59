"""UP messages that repeat a loaded MODEL-REF cost next to nothing: no write lock, no version change, no graph work;
user UPs of known users never wait for in-flight queries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from oryxpy.config import Config
from oryxpy.messages import ModelRefMessage, VectorUpdate
from oryxpy.modelfiles import write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.storage import LocalStorage
from serving.als.manager import ALSServingModelManager


def publish(root: Path, users: int, items: int) -> tuple[str, np.ndarray, np.ndarray, list[list[str]]]:
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((users, 6), dtype=np.float32), rng.standard_normal((items, 6), dtype=np.float32)
    known = [[f"I{j}" for j in rng.integers(0, items, 5)] for _ in range(users)]
    storage, model_dir = LocalStorage(), f"file:{root}/model/1"
    user_ids, item_ids = [f"U{u}" for u in range(users)], [f"I{i}" for i in range(items)]
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(ALSModelInfo(6, True, user_ids, item_ids)))
    write_vectors(storage, f"{model_dir}/Y", item_ids, y)
    write_vectors(storage, f"{model_dir}/X", user_ids, x, known)
    return f"{model_dir}/model.pmml", x, y, known


def test_replayed_ups_take_no_write_lock(embedded_config: Config, tmp_path: Path) -> None:
    uri, x, y, known = publish(tmp_path, 3000, 4000)
    config = embedded_config.with_overrides({"oryx.serving.approximate-index": "hnsw"})
    manager = ALSServingModelManager(config)
    manager.consume(ModelRefMessage(uri))
    model = manager.get_model()
    assert model is not None and model.ann_ready.wait(60)
    writes = [0]
    original = model.lock.write

    @contextmanager
    def counted() -> Iterator[None]:
        writes[0] += 1
        with original():
            yield

    model.lock.write = counted  # type: ignore[method-assign]
    version = model.version
    for i in range(len(y)):
        manager.consume(VectorUpdate("Y", f"I{i}", y[i]))
    for u in range(len(x)):
        manager.consume(VectorUpdate("X", f"U{u}", x[u], tuple(known[u])))
    assert writes[0] == 0 and model.version == version and not model.ann.pending  # type: ignore[union-attr]
    # a known user's new vector and a new pair for a user with known items: still no write lock
    manager.consume(VectorUpdate("X", "U1", x[1] * 2, ("I7",)))
    assert writes[0] == 0 and model.version > version and "I7" in model.known_items("U1")
    np.testing.assert_array_equal(model.user_vector("U1"), x[1] * 2)


def test_user_ups_do_not_wait_for_a_running_query(embedded_config: Config, tmp_path: Path) -> None:
    uri, x, _, _ = publish(tmp_path, 500, 500)
    manager = ALSServingModelManager(embedded_config)
    manager.consume(ModelRefMessage(uri))
    model = manager.get_model()
    assert model is not None
    applied = threading.Event()

    def writer() -> None:
        for u in range(200):
            manager.consume(VectorUpdate("X", f"U{u}", x[u] + 1, (f"I{u}",)))
        applied.set()

    with model.lock.read():  # a query in flight: item writes would wait, user writes go through
        thread = threading.Thread(target=writer)
        thread.start()
        assert applied.wait(30), "user UPs waited for the read lock"
    thread.join()
    np.testing.assert_array_equal(model.user_vector("U3"), x[3] + 1)
