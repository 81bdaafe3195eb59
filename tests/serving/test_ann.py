"""The HNSW (faiss) approximate index: recall against brute force, exclusions and filters that never shorten a list,
incremental updates (new, changed, removed items), repeated UPs costing nothing, and the REST API on it."""

from __future__ import annotations

import numpy as np
import pytest

from oryxpy.config import Config
from serving.vectors.ann import FLUSH_AT
from serving.vectors.model import VectorServingModel
from serving.vectors.queries import top_n
from tests.serving.conftest import client_for

ITEMS = 5000


@pytest.fixture(scope="module")
def loaded() -> tuple[VectorServingModel, np.ndarray]:
    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((ITEMS, 8)).astype(np.float32)
    model = VectorServingModel(8, True, approximate_index="hnsw", hnsw_ef_search=64)
    model.on_new_model_ids([], [f"i{i}" for i in range(ITEMS)], True)
    model.bulk_load_items([f"i{i}" for i in range(ITEMS)], matrix)
    assert model.ann_ready.wait(60), "graph not built"
    return model, matrix


def brute(matrix: np.ndarray, target: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[str]:
    scores = matrix.astype(np.float64) @ target
    if allowed is not None:
        scores[~allowed] = -np.inf
    return [f"i{j}" for j in np.argsort(-scores)[:n]]


def test_graph_recall_and_exact_scores(loaded: tuple[VectorServingModel, np.ndarray]) -> None:
    model, matrix = loaded
    assert model.ann is not None and model.ann.size == ITEMS and not model.ann.pending
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(50):
        target = rng.standard_normal(8)
        got = top_n(model, target, 10)
        hits += len({i for i, _ in got} & set(brute(matrix, target, 10)))
        for item, value in got:  # reported scores are the exact double-precision dot products
            assert value == pytest.approx(float(matrix[int(item[1:])].astype(np.float64) @ target), rel=1e-12)
        assert [v for _, v in got] == sorted((v for _, v in got), reverse=True)
    assert hits / 500 >= 0.95


def test_exclusions_and_filters_never_shorten_the_list(loaded: tuple[VectorServingModel, np.ndarray]) -> None:
    model, matrix = loaded
    target = np.random.default_rng(2).standard_normal(8)
    exclude = set(brute(matrix, target, 40))  # the 40 best are all excluded: the graph must be asked for more
    got = top_n(model, target, 10, exclude)
    assert len(got) == 10 and not {i for i, _ in got} & exclude

    class OnlySevens:  # passes 1 item in 10: the search widens until ten pass
        def is_filtered(self, id: str) -> bool:  # noqa: A002
            return not id.endswith("7")

        def rescore(self, id: str, score: float) -> float:  # noqa: A002
            return score

    got = top_n(model, target, 10, (), OnlySevens())
    allowed = np.array([str(i).endswith("7") for i in range(ITEMS)])
    assert len(got) == 10 and all(i.endswith("7") for i, _ in got)
    assert len({i for i, _ in got} & set(brute(matrix, target, 10, allowed))) >= 8

    class OnlyOne(OnlySevens):
        def is_filtered(self, id: str) -> bool:  # noqa: A002
            return id != "i4321"

    assert [i for i, _ in top_n(model, target, 10, (), OnlyOne())] == ["i4321"]  # falls back to the exact scan


def test_updates_are_served_at_once_and_reach_the_graph() -> None:
    rng = np.random.default_rng(3)
    model = VectorServingModel(4, True, approximate_index="hnsw")
    ids = [f"i{i}" for i in range(3000)]
    model.bulk_load_items(ids, rng.standard_normal((3000, 4)).astype(np.float32))
    assert model.ann_ready.wait(60)
    target = np.array([1.0, 0.0, 0.0, 0.0])
    model.set_item_vector("star", np.array([100, 0, 0, 0], np.float32))  # new: pending, scanned exactly
    model.set_item_vector("i5", np.array([50, 0, 0, 0], np.float32))  # changed: its old graph label dies
    assert [i for i, _ in top_n(model, target, 2)] == ["star", "i5"]
    assert set(model.ann.pending) == {"star", "i5"}  # type: ignore[union-attr]
    version = model.version
    model.set_item_vector("i5", np.array([50, 0, 0, 0], np.float32))  # the same vector again: nothing happens
    assert model.version == version
    for j in range(FLUSH_AT - 2):  # the FLUSH_AT-th pending item flushes them all into the graph
        model.set_item_vector(f"i{j + 100}", rng.standard_normal(4).astype(np.float32))
    assert not model.ann.pending and model.ann.tombstones == FLUSH_AT - 2 + 1  # type: ignore[union-attr]
    assert [i for i, _ in top_n(model, target, 2)] == ["star", "i5"]
    model.on_new_model_ids([], ids[:2000], True)  # "star" is recent and stays; i2000.. are dropped
    assert "star" in model.ann.labels and "i2500" not in model.ann.labels  # type: ignore[union-attr]
    got = top_n(model, np.array([0.0, 1.0, 0.0, 0.0]), 50)
    assert all(int(i[1:]) < 2000 for i, _ in got if i != "star")


def test_model_by_up_messages_builds_its_graph(embedded_config: Config) -> None:
    provider = {"oryx.als.rescorer-provider-class": "tests.serving.rescorer_provider.TestALSRescorerProvider"}
    client, manager = client_for(embedded_config, **{"oryx.serving.approximate-index": "hnsw",
                                                     "oryx.serving.hnsw.ef-construction": 64, **provider})
    exact_client, _ = client_for(embedded_config, **provider)
    with client, exact_client:
        model = manager.get_model()
        assert model is not None and model.ann_ready.wait(30)
        assert model.ann is not None and model.ann.graph.hnsw.efConstruction == 64  # the key reaches the graph
        for path in ("/recommend/U0?howMany=5", "/recommend/U3?howMany=3&considerKnownItems=true",
                     "/similarity/I0/I3?howMany=4", "/recommendToAnonymous/I1/I2?howMany=3",
                     "/recommend/U1?rescorerParams=a", "/similarity/I0/I3?rescorerParams=z&howMany=2&offset=1",
                     "/recommendToMany/U0/U3?considerKnownItems=true&rescorerParams=x&howMany=3"):
            response = client.get(path)
            assert response.status_code == 200 and response.text == exact_client.get(path).text, path


def test_readers_see_consistent_answers_while_the_graph_is_updated() -> None:
    import threading

    rng = np.random.default_rng(6)
    model = VectorServingModel(4, True, approximate_index="hnsw")
    base = {f"i{i}": rng.standard_normal(4).astype(np.float32) for i in range(2000)}
    model.bulk_load_items(list(base), np.array(list(base.values())))
    assert model.ann_ready.wait(60)
    stop, passes = threading.Event(), [0]

    def writer() -> None:
        sign = 1.0
        while not stop.is_set():  # flipping signs kills labels, fills pending, flushes and finally rebuilds
            sign = -sign
            for item, v in list(base.items())[:600]:
                model.set_item_vector(item, sign * v)
            passes[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            target = rng.standard_normal(4)
            got = top_n(model, target, 10)
            assert len(got) == 10 and len({i for i, _ in got}) == 10
            for item, value in got:
                ratio = value / float(base[item].astype(np.float64) @ target)
                assert abs(abs(ratio) - 1) < 1e-9, (item, ratio)
    finally:
        stop.set()
        thread.join()
    assert passes[0] >= 2 and model.ann is not None


def test_cosine_similarity_over_the_graph(loaded: tuple[VectorServingModel, np.ndarray]) -> None:
    from serving.vectors.queries import unit_sum

    model, matrix = loaded
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    hits = 0
    for j in range(30):
        target = unit_sum([matrix[j]])
        got = top_n(model, target, 10, {f"i{j}"}, cosine=True)
        scores = unit.astype(np.float64) @ target
        scores[j] = -np.inf
        hits += len({i for i, _ in got} & {f"i{k}" for k in np.argsort(-scores)[:10]})
        assert all(v == pytest.approx(scores[int(i[1:])], rel=1e-6) for i, v in got)
    assert hits / 300 >= 0.9


def test_a_saved_graph_serves_the_same_answers(loaded: tuple[VectorServingModel, np.ndarray], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from serving.vectors.ann import HNSWIndex

    model, matrix = loaded
    model.ann.save(str(tmp_path / "graph"))  # type: ignore[union-attr]
    copy = VectorServingModel(8, True, approximate_index="hnsw", hnsw_ef_search=64)
    copy.bulk_load_items([f"i{i}" for i in range(ITEMS)], matrix)
    copy.install_ann(HNSWIndex.load(str(tmp_path / "graph"), 64))
    assert copy.ann is not None and copy.ann.size == ITEMS
    for target in np.random.default_rng(9).standard_normal((20, 8)):
        assert top_n(copy, target, 10) == top_n(model, target, 10)


def test_a_poll_of_new_items_reaches_the_graph_with_every_label_right() -> None:
    rng = np.random.default_rng(9)
    model = VectorServingModel(4, True, approximate_index="hnsw")
    model.bulk_load_items([f"i{i}" for i in range(1000)], rng.standard_normal((1000, 4)).astype(np.float32))
    assert model.ann_ready.wait(60)
    new = [(f"n{i}", rng.standard_normal(4).astype(np.float32)) for i in range(1500)]
    new[700] = ("far", np.array([1000, 0, 0, 0], np.float32))
    model.set_item_vectors(new)  # one poll's UPs: flushed into the graph 64 at a time, the label table growing
    ann = model.ann
    assert ann is not None and not ann.pending and len(ann.label_ids) == 2500
    assert all(ann.label_ids[label] == item for item, label in ann.labels.items()) and len(ann.labels) == 2500
    assert top_n(model, np.array([1.0, 0.0, 0.0, 0.0]), 1)[0][0] == "far"
