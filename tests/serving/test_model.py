"""The serving model: vector storage, MODEL/UP semantics (recent IDs, expected IDs, known items), bulk loads, concurrency."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from oryxpy.config import Config
from oryxpy.lsh import LocalitySensitiveHash
from oryxpy.messages import ModelMessage, VectorUpdate
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from serving.als.manager import ALSServingModelManager
from serving.vectors.model import VectorServingModel
from serving.vectors.queries import top_n
from serving.vectors.vectors import VectorStore


def model_message(users: list[str], items: list[str], features: int = 2) -> ModelMessage:
    return ModelMessage(als_model_to_pmml(ALSModelInfo(features, True, users, items)))


def vec(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_store_grows_and_swap_removes() -> None:
    store = VectorStore(3)
    for i in range(100):
        store.set(f"v{i}", vec(i, 0, 1))
    assert len(store) == 100 and store.blocks[0].n == 100 and len(store.blocks[0].norms) < 160
    store.remove("v0")
    store.remove("v50")
    assert len(store) == 98 and "v0" not in store
    for i in range(1, 100):
        if i != 50:
            assert store.get(f"v{i}")[0] == i  # type: ignore[index]
    assert store.blocks[0].norms[store.locate("v3")[1]] == np.float32(np.sqrt(10))  # type: ignore[index]
    store.set("v3", vec(0, 0, 2))
    assert store.get("v3").tolist() == [0, 0, 2] and len(store) == 98  # type: ignore[union-attr]


def assert_store_holds(store: VectorStore, expected: dict[str, np.ndarray]) -> None:
    """Every way to read the store agrees with ``expected`` (ID -> vector)."""
    assert len(store) == len(expected) and sorted(store.ids()) == sorted(expected)
    for id_, vector in expected.items():
        bucket, row = store.locate(id_)  # type: ignore[misc]
        assert store.id_at(bucket, row) == id_ and store.get(id_).tolist() == vector.tolist()  # type: ignore[union-attr]
        norms = store.blocks[bucket].norms
        assert np.isclose(norms[row], np.linalg.norm(vector)) if store.with_norms else norms is None
    nums = store.table.find_many(list(expected))
    rows = store.rows_of(nums)
    assert (rows >= 0).all() and store.equal_rows(nums, np.array(list(expected.values()))).all()
    assert "ghost" not in store and (store.rows_of(store.table.find_many(["ghost"])) < 0).all()


@pytest.mark.parametrize(("order", "with_norms"), [("C", True), ("F", True), ("C", False)])
def test_a_store_numbered_by_position_keeps_no_arrays_until_an_update_breaks_that_order(order: str,
                                                                                        with_norms: bool) -> None:
    """After a bulk load, row r holds ID number r: the store keeps no number arrays (8 bytes an ID) while updates
    keep that order, and makes them, with every vector still in place, at the first that does not."""
    rng = np.random.default_rng(5)
    store = VectorStore(3, order=order, with_norms=with_norms)  # users keep no norms: nothing ranks them by cosine
    ids = [f"i{i}" for i in range(50)]
    matrix = rng.standard_normal((50, 3), dtype=np.float32)
    store.fill(ids, matrix)
    expected = dict(zip(ids, matrix, strict=True))
    steps = [
        ("overwrite", lambda: store.set("i7", vec(1, 2, 3)), {"i7": vec(1, 2, 3)}, True),
        ("new in order", lambda: store.set("i50", vec(0, 0, 5)), {"i50": vec(0, 0, 5)}, True),
        ("last removed", lambda: store.remove("i50"), {"i50": None}, True),
        ("re-added last", lambda: store.set("i50", vec(0, 3, 0)), {"i50": vec(0, 3, 0)}, True),
        ("number without vector", lambda: store.add_id("ghost"), {}, True),
        ("new past it", lambda: store.set("i51", vec(4, 0, 0)), {"i51": vec(4, 0, 0)}, False),
        ("middle removed", lambda: store.remove("i3"), {"i3": None}, False),
        ("rows rewritten", lambda: store.write_rows(store.table.find_many(["i9", "i49"]), np.ones((2, 3), np.float32)),
         {"i9": vec(1, 1, 1), "i49": vec(1, 1, 1)}, False),
    ]
    for name, step, changes, by_position in steps:
        step()
        for id_, vector in changes.items():
            if vector is None:
                expected.pop(id_)
            else:
                expected[id_] = vector
        assert (store.loc is None) == by_position and (store.blocks[0].nums is None) == by_position, name
        assert_store_holds(store, expected)
    other = VectorStore(3, order=order)
    other.fill(["a", "b", "c"], np.eye(3, dtype=np.float32))
    other.remove("a")  # the first of three: the last row moves into its place
    assert other.loc is not None and other.id_at(0, 0) == "c"
    assert_store_holds(other, {"b": vec(0, 1, 0), "c": vec(0, 0, 1)})


@pytest.mark.parametrize(("index", "sample_rate"), [("none", 1.0), ("hnsw", 1.0), ("none", 0.3)])
def test_a_poll_of_item_ups_rewrites_changed_vectors_in_place_and_adds_new_ones(index: str, sample_rate: float) -> None:
    """A poll of item UPs (more than a handful) is looked up at once: repeats change nothing, changed items are
    rewritten in place with their norms (or moved between LSH buckets), new items are added, and the last UP of an ID
    wins; exact and cosine answers then match brute force over the expected vectors."""
    rng = np.random.default_rng(9)
    model = VectorServingModel(3, True, sample_rate=sample_rate, lsh_seed=4, approximate_index=index)
    ids = [f"i{i}" for i in range(100)]
    base = rng.standard_normal((100, 3), dtype=np.float32)
    model.bulk_load_items(ids, base)
    if index == "hnsw":
        model.ann_ready.wait(30)
    expected = dict(zip(ids, base, strict=True))
    updates = [(f"i{i}", rng.standard_normal(3, dtype=np.float32)) for i in range(0, 40, 2)]  # changed
    updates += [(f"i{i}", base[i]) for i in range(1, 20, 2)]  # repeats
    updates += [(f"n{i}", rng.standard_normal(3, dtype=np.float32)) for i in range(10)]  # new
    updates += [("i0", np.array([5, 0, 0], np.float32))]  # a second UP of i0: the last wins
    expected.update(updates)
    version = model.version
    model.set_item_vectors(updates)
    assert model.version > version and len(model.Y) == 110
    assert all(model.item_vector(i).tolist() == v.tolist() for i, v in expected.items())  # type: ignore[union-attr]
    matrix, names = np.array(list(expected.values()), dtype=np.float64), list(expected)
    for target in rng.standard_normal((5, 3)):
        for cosine in (False, True):
            scores = matrix @ target / (np.linalg.norm(matrix, axis=1) if cosine else 1)
            got = [i for i, _ in top_n(model, target, 5, cosine=cosine)]
            if sample_rate == 1.0 and index == "none":
                assert got == [names[j] for j in np.argsort(-scores)[:5]]
            assert all(np.isclose(v, scores[names.index(i)], rtol=1e-5)
                       for i, v in top_n(model, target, 5, cosine=cosine))
    if index == "hnsw":
        changed = {i for i, _ in updates[:20]} | {f"n{i}" for i in range(10)} | {"i0"}
        assert changed <= set(model.ann.pending)  # type: ignore[union-attr]  # scanned exactly until they join the graph
        assert not {f"i{i}" for i in range(1, 20, 2)} & set(model.ann.pending)  # type: ignore[union-attr]


def test_a_column_major_store_keeps_its_layout_through_loads_writes_and_growth() -> None:
    """Items scanned exactly are stored feature by feature ("F"); every way in keeps that layout and the vectors."""
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((1000, 5)).astype(np.float32)
    vectors.flags.writeable = False  # as a bulk load's view of Arrow memory
    store = VectorStore(5, order="F")
    store.fill([f"i{j}" for j in range(1000)], vectors)
    matrix = store.blocks[0].matrix
    assert matrix.flags.f_contiguous and matrix.flags.writeable
    np.testing.assert_array_equal(matrix[:1000], vectors)
    store.set("i7", vec(1, 2, 3, 4, 5))
    for j in range(1000, 1700):  # grows the block
        store.set(f"i{j}", np.full(5, j, dtype=np.float32))
    store.remove("i0")  # the last row moves into the hole
    block = store.blocks[0]
    assert block.matrix.strides[0] == 4 and len(block.matrix) > block.n == 1699
    assert store.get("i7").tolist() == [1, 2, 3, 4, 5] and store.get("i1699").tolist() == [1699] * 5  # type: ignore[union-attr]
    np.testing.assert_array_equal(store.get("i500"), vectors[500])  # type: ignore[arg-type]
    store.write_rows(store.table.find_many(["i8", "i9"]), np.ones((2, 5), dtype=np.float32))
    assert store.get("i9").tolist() == [1] * 5 and store.equal_rows(store.table.find_many(["i8"]), np.ones((1, 5), np.float32))[0]  # type: ignore[union-attr]
    merged = store.merged_with(["i1", "new"], np.zeros((2, 5), dtype=np.float32))
    assert merged.blocks[0].matrix.strides[0] == 4 and merged.get("i1").tolist() == [0] * 5  # type: ignore[union-attr]
    assert merged.get("i1699").tolist() == [1699] * 5 and len(merged) == 1700  # type: ignore[union-attr]
    np.testing.assert_allclose(merged.blocks[0].norms[: merged.blocks[0].n],
                               np.linalg.norm(np.asarray(merged.blocks[0].matrix[: merged.blocks[0].n], np.float64), axis=1),
                               rtol=1e-6)


def test_items_are_column_major_for_scans_and_row_major_for_a_graph() -> None:
    assert VectorServingModel(4, True).Y.order == "F" and VectorServingModel(4, True).X.order == "C"
    assert VectorServingModel(4, True, approximate_index="hnsw").Y.order == "C"


def test_store_moves_vectors_between_buckets() -> None:
    lsh = LocalitySensitiveHash(0.3, 2, num_cores=2, seed=1)
    store = VectorStore(2, lsh.num_buckets, lsh.indices_for)
    store.set("a", vec(1, 1))
    store.set("b", vec(1, 1.1))
    before = store.locate("a")[0]  # type: ignore[index]
    store.set("a", vec(-1, -1))
    assert store.locate("a")[0] != before and store.get("b").tolist() == vec(1, 1.1).tolist()  # type: ignore[index,union-attr]
    assert sum(b.n for b in store.blocks) == 2
    merged = store.merged_with(["c", "a"], np.array([[2, -1], [3, 3]], dtype=np.float32))
    assert store.retain_recent_and([]) is store and not store.recent  # everything was recent: nothing goes
    assert sorted(merged.ids()) == ["a", "b", "c"] and merged.get("a").tolist() == [3, 3]  # type: ignore[union-attr]
    assert merged.locate("a")[0] == lsh.index_for(vec(3, 3))  # type: ignore[index]
    gram = merged.gram()
    assert gram is not None
    np.testing.assert_allclose(gram, np.array([[2, -1], [3, 3], [1, 1.1]]).T @ np.array([[2, -1], [3, 3], [1, 1.1]]),
                               rtol=1e-6)


def test_new_model_keeps_listed_and_recent_ids(embedded_config: Config) -> None:
    manager = ALSServingModelManager(embedded_config)
    manager.consume(VectorUpdate("X", "early", vec(1, 1)))  # an UP before any MODEL is dropped
    assert manager.get_model() is None
    manager.consume(model_message(["u1", "u2"], ["i1", "i2"]))
    model = manager.get_model()
    assert model is not None and model.fraction_loaded() == 0.0
    for i in ("i1", "i2", "i3"):
        manager.consume(VectorUpdate("Y", i, vec(1, 0)))
    manager.consume(VectorUpdate("X", "u1", vec(0, 1), ("i1", "i3")))
    manager.consume(VectorUpdate("X", "u1", vec(0, 2), ("i2", "i1")))  # known items only grow
    assert model.known_items("u1") == ("i1", "i3", "i2")
    assert model.fraction_loaded() == 4 / 5
    # next MODEL lists u2 and i2 only: everything present is recent (arrived since the last MODEL) so is kept
    manager.consume(model_message(["u2"], ["i2"]))
    assert manager.get_model() is model and sorted(model.item_ids()) == ["i1", "i2", "i3"]
    assert model.known_items("u1") == ("i1", "i3", "i2") and model.expected_users == {"u2"}
    # the MODEL after that drops what is neither listed nor recent; known items restart from the pairs added since
    # the last MODEL (none for u1, whose pairs that MODEL did not repeat in UPs), plus what the new model brings
    manager.consume(VectorUpdate("Y", "i4", vec(0, 1)))
    manager.consume(VectorUpdate("X", "u2", vec(1, 1), ("i4", "i1")))
    manager.consume(model_message(["u1"], ["i1", "i9"]))
    assert sorted(model.item_ids()) == ["i1", "i4"] and model.user_ids() == ["u1", "u2"]
    assert model.known_items("u1") == () and model.known_items("u2") == ("i4", "i1")
    assert model.expected_items == {"i9"} and model.fraction_loaded() == 4 / 5
    manager.consume(VectorUpdate("X", "u1", vec(0, 1), ("i1",)))  # the new model's own UP
    assert model.known_items("u1") == ("i1",)


def test_deleted_pairs_leave_known_items_at_the_next_model() -> None:
    model = VectorServingModel(2, True)
    model.on_new_model_ids(["u"], ["a", "b", "c"], True)
    model.bulk_load_items(["a", "b", "c"], np.eye(3, 2, dtype=np.float32))
    model.bulk_load_users(["u"], np.ones((1, 2), np.float32), [("a", "b")])
    model.add_known_items("u", ["b", "c"])  # the speed layer adds (u, c); (u, b) was already known
    assert model.known_items("u") == ("a", "b", "c") and model.known_added() == {"u": ("c",)}
    model.on_new_model_ids(["u"], ["a", "b", "c"], True)  # the next model no longer has (u, b): b was deleted
    model.bulk_load_users(["u"], np.ones((1, 2), np.float32), [("a",)])
    assert model.known_items("u") == ("a", "c") and model.known_added() == {}
    assert [i for i, _ in top_n(model, np.array([1.0, 1.0]), 3, model.known_items("u"))] == ["b"]


def test_model_ref_with_parquet_vectors(embedded_config: Config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from oryxpy.messages import ModelRefMessage
    from oryxpy.modelfiles import write_vectors
    from oryxpy.storage import LocalStorage

    model_dir = f"file:{tmp_path}/model/123"
    storage = LocalStorage()
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(ALSModelInfo(2, False, ["u1", "u2"], ["i1", "i2", "i3"])))
    write_vectors(storage, f"{model_dir}/Y", ["i1", "i2", "i3"], np.eye(3, 2, dtype=np.float32))
    write_vectors(storage, f"{model_dir}/X", ["u1", "u2"], np.ones((2, 2), np.float32), [["i1"], []])
    manager = ALSServingModelManager(embedded_config)
    manager.consume(ModelRefMessage(f"{model_dir}/missing.pmml"))  # a missing file is skipped with a warning
    assert manager.get_model() is None
    manager.consume(ModelRefMessage(f"{model_dir}/model.pmml"))
    model = manager.get_model()
    assert model is not None and manager.is_ready() and not model.implicit
    assert sorted(model.item_ids()) == ["i1", "i2", "i3"] and model.known_items("u1") == ("i1",)
    assert [i for i, _ in top_n(model, np.array([1.0, 0.1]), 2)] == ["i1", "i2"]
    assert model.X.recent == set() and model.Y.recent == set()  # bulk-loaded vectors are the model, not recent


def test_readers_never_see_torn_state() -> None:
    model = VectorServingModel(4, True, 0.3, lsh_seed=5)
    rng = np.random.default_rng(0)
    base = {f"i{i}": rng.standard_normal(4).astype(np.float32) for i in range(300)}
    for item, v in base.items():
        model.set_item_vector(item, v)
    stop = threading.Event()
    passes = [0]

    def writer() -> None:
        sign = 1.0
        while not stop.is_set():  # flipping the sign moves every vector to the opposite bucket (swap-removes)
            sign = -sign
            for item, v in base.items():
                model.set_item_vector(item, sign * v)
            passes[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(400):
            target = rng.standard_normal(4)
            for item, value in top_n(model, target, 20):
                ratio = value / float(base[item].astype(np.float64) @ target)
                assert abs(abs(ratio) - 1) < 1e-9, (item, ratio)
    finally:
        stop.set()
        thread.join()
    assert len(model.Y) == 300 and passes[0] >= 2


def test_waiting_scans_are_batched_into_one_product() -> None:
    from serving.vectors.batch import ScanBatcher

    batcher = ScanBatcher(leaders=1)
    rng = np.random.default_rng(3)
    matrix, other = rng.standard_normal((500, 4)).astype(np.float32), rng.standard_normal((50, 4)).astype(np.float32)
    targets = rng.standard_normal((4, 4)).astype(np.float32)
    with batcher._cond:
        batcher._active = 1  # as if a scan were running: callers queue up
    results: dict[int, np.ndarray] = {}
    jobs = [(i, matrix if i < 3 else other) for i in range(4)]
    threads = [threading.Thread(target=lambda i=i, m=m: results.__setitem__(i, batcher.scores(m, targets[i])))
               for i, m in jobs]
    for t in threads:
        t.start()
    while len(batcher._queue) < 4:
        threading.Event().wait(0.001)
    with batcher._cond:
        batcher._active = 0
        batcher._cond.notify_all()
    for t in threads:
        t.join(10)
    for i, m in jobs:
        np.testing.assert_allclose(results[i], m @ targets[i], rtol=1e-5, atol=1e-6)
        assert results[i].flags.c_contiguous and results[i].flags.writeable
    assert batcher.largest_batch == 3  # the three scans of the same matrix, then the other one alone


def test_concurrent_exact_queries_match_sequential_ones() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    model = VectorServingModel(16, True, 1.0)
    model.bulk_load_items([f"i{i}" for i in range(20000)], rng.standard_normal((20000, 16)).astype(np.float32))
    targets = rng.standard_normal((64, 16))
    expected = [top_n(model, t, 5, ("i1", "i2")) for t in targets]
    with ThreadPoolExecutor(8) as pool:
        actual = list(pool.map(lambda t: top_n(model, t, 5, ("i1", "i2")), targets))
    assert actual == expected


def test_batcher_under_stress_gives_every_caller_its_own_product() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from serving.vectors.batch import ScanBatcher

    batcher = ScanBatcher(leaders=2)
    rng = np.random.default_rng(5)
    matrices = [rng.standard_normal((20000, 8)).astype(np.float32) for _ in range(2)]
    targets = rng.standard_normal((400, 8)).astype(np.float32)

    def check(i: int) -> bool:
        m = matrices[i % 2]
        return bool(np.allclose(batcher.scores(m[: len(m)], targets[i]), m @ targets[i], rtol=1e-4, atol=1e-5))

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(check, range(len(targets))))
    assert batcher._active == 0 and not batcher._queue
