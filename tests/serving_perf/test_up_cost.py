"""UP messages that repeat a loaded MODEL-REF cost next to nothing: no write lock, no version change, no graph work;
user UPs of known users never wait for in-flight queries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from oryxpy.config import Config
from oryxpy.messages import ModelRefMessage, VectorUpdate
from oryxpy.modelfiles import write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.storage import LocalStorage
from serving.als.manager import ALSServingModelManager
from serving.vectors.model import WRITE_CHUNK, VectorServingModel


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


def count_writes(model: VectorServingModel) -> list[int]:
    """Count the model's write-lock holds from now on (in the returned list's one entry)."""
    writes = [0]
    original = model.lock.write

    @contextmanager
    def counted() -> Iterator[None]:
        writes[0] += 1
        with original():
            yield

    model.lock.write = counted  # type: ignore[method-assign]
    return writes


def test_replayed_ups_take_no_write_lock(embedded_config: Config, tmp_path: Path) -> None:
    uri, x, y, known = publish(tmp_path, 3000, 4000)
    config = embedded_config.with_overrides({"oryx.serving.approximate-index": "hnsw"})
    manager = ALSServingModelManager(config)
    manager.consume(ModelRefMessage(uri))
    model = manager.get_model()
    assert model is not None and model.ann_ready.wait(60)
    writes = count_writes(model)
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


def test_a_poll_of_new_ids_takes_the_write_lock_once_per_chunk_not_per_message(embedded_config: Config,
                                                                               tmp_path: Path) -> None:
    uri, x, y, _ = publish(tmp_path, 100, 100)
    manager = ALSServingModelManager(embedded_config)
    manager.consume(ModelRefMessage(uri))
    model = manager.get_model()
    assert model is not None
    writes = count_writes(model)
    rng = np.random.default_rng(3)
    poll = [VectorUpdate("Y", f"new-item-{i}", rng.standard_normal(6).astype(np.float32)) for i in range(700)]
    poll += [VectorUpdate("X", f"new-user-{u}", rng.standard_normal(6).astype(np.float32), (f"new-item-{u}", "I3"))
             for u in range(700)]
    assert manager.consume_many(poll) == [None] * len(poll)
    chunks = -(-700 // WRITE_CHUNK)
    assert writes[0] == 2 * chunks  # items, then users with their pairs: not 1,400 holds
    assert len(model.X) == 100 + 700 and len(model.Y) == 100 + 700
    np.testing.assert_array_equal(model.user_vector("new-user-699"), poll[-1].vector)
    assert set(model.known_items("new-user-5")) == {"new-item-5", "I3"}


@pytest.mark.parametrize("sample_rate", [1.0, 0.3])  # one block of items, or one per LSH bucket
def test_ups_applied_a_poll_at_a_time_equal_ups_applied_one_by_one(embedded_config: Config, tmp_path: Path,
                                                                    sample_rate: float) -> None:
    uri, x, y, known = publish(tmp_path, 60, 80)
    config = embedded_config.with_overrides({"oryx.als.sample-rate": sample_rate})
    one_by_one, together = ALSServingModelManager(config, lsh_seed=4), ALSServingModelManager(config, lsh_seed=4)
    rng = np.random.default_rng(5)
    messages: list[VectorUpdate] = []
    for _ in range(600):  # the same IDs again and again, new IDs, repeats of the model, items named before they exist
        user, item = f"U{rng.integers(75)}", f"I{rng.integers(95)}"
        vector = rng.standard_normal(6).astype(np.float32)
        kind = rng.integers(4)
        if kind == 0:
            messages.append(VectorUpdate("Y", item, vector))
        elif kind == 1:
            messages.append(VectorUpdate("X", user, vector, (item, f"I{rng.integers(95)}")))
        elif kind == 2:
            u = int(rng.integers(60))
            messages.append(VectorUpdate("X", f"U{u}", x[u], tuple(known[u])))
        else:
            messages.append(VectorUpdate("X", user, vector))
    messages[100] = VectorUpdate("X", "U1", np.ones(5, dtype=np.float32))  # the wrong number of features
    errors_one: list[Exception | None] = []
    for manager in (one_by_one, together):
        manager.consume(ModelRefMessage(uri))
    for message in messages:
        try:
            one_by_one.consume(message)
            errors_one.append(None)
        except Exception as exc:
            errors_one.append(exc)
    errors_together = [e for start in range(0, len(messages), 37) for e in together.consume_many(messages[start : start + 37])]
    assert [e is None for e in errors_together] == [e is None for e in errors_one]
    assert errors_together[100] is not None and "5 values" in str(errors_together[100])
    a, b = one_by_one.get_model(), together.get_model()
    assert a is not None and b is not None
    assert sorted(a.user_ids()) == sorted(b.user_ids()) and sorted(a.item_ids()) == sorted(b.item_ids())
    for user in a.user_ids():
        np.testing.assert_array_equal(a.user_vector(user), b.user_vector(user))
    for user in {m.id for m in messages if m.matrix == "X"}:
        assert sorted(a.known_items(user)) == sorted(b.known_items(user)), user
    for item in a.item_ids():
        np.testing.assert_array_equal(a.item_vector(item), b.item_vector(item))
