"""The IVF approximate index (oryx.serving.approximate-index = ivf) and the thresholded top-N selection."""

from __future__ import annotations

import numpy as np
import pytest

from oryxpy.config import load_config
from oryxpy.errors import ConfigError
from serving.vectors.ivf import IVFIndex, default_lists
from serving.vectors.model import VectorServingModel
from serving.vectors.queries import select_top, top_n


def _model(n: int = 6000, features: int = 12, probes: int = 0, seed: int = 1) -> tuple[VectorServingModel, np.ndarray]:
    items = np.random.default_rng(seed).standard_normal((n, features)).astype(np.float32)
    model = VectorServingModel(features, True, 1.0, lsh_seed=3, approximate_index="ivf", ivf_probes=probes,
                            ivf_min_items=1000)
    model.bulk_load_items([f"i{i}" for i in range(n)], items)
    return model, items


@pytest.mark.parametrize("n", [1, 5, 50, 4000])
def test_select_top_matches_a_full_sort(n: int) -> None:
    rng = np.random.default_rng(n)
    scores = rng.standard_normal(n).astype(np.float32)
    scores[rng.integers(0, n, max(1, n // 10))] = np.nan
    excluded = rng.choice(n, min(n, 30), replace=False)
    clean = np.where(np.isnan(scores), -np.inf, scores)
    clean[excluded] = -np.inf
    for how_many in (1, 10, n + 5):
        expected = [i for i in np.argsort(-clean, kind="stable")[:how_many] if clean[i] > -np.inf]
        assert select_top(scores, how_many, excluded).tolist() == expected


def test_select_top_keeps_every_tie_candidate_and_never_nan() -> None:
    scores = np.zeros(10000, dtype=np.float32)
    scores[:5] = np.nan
    top = select_top(scores, 10, np.arange(5, 40))
    assert len(top) == 10 and (top >= 40).all()


def test_ivf_store_holds_every_item_once_and_probes_score_order() -> None:
    model, items = _model()
    assert model.ivf is not None and model.ivf.lists == default_lists(6000)
    assert sum(b.n for b in model.Y.blocks) == 6000 and len(model.Y.blocks) == model.ivf.lists
    assert model.ivf.probes == int(np.ceil(0.3 * model.ivf.lists))
    np.testing.assert_array_equal(model.item_vector("i17"), items[17])
    query = np.random.default_rng(9).standard_normal(12)
    probed = set(model.candidate_buckets(query))
    ranked = np.argsort(-(model.ivf.centroids @ query.astype(np.float32)))
    assert probed == set(ranked[: model.ivf.probes].tolist())


def test_ivf_keeps_most_of_the_exact_top_10_and_all_lists_is_exact() -> None:
    model, items = _model()
    exact = VectorServingModel(12, True, 1.0)
    exact.bulk_load_items([f"i{i}" for i in range(len(items))], items)
    rng = np.random.default_rng(2)
    recalls = []
    for _ in range(30):
        query = rng.standard_normal(12)
        truth = top_n(exact, query, 10, {"i1", "i2"})
        recalls.append(len({i for i, _ in truth} & {i for i, _ in top_n(model, query, 10, {"i1", "i2"})}) / 10)
    assert np.mean(recalls) >= 0.8
    model.ivf.probes = model.ivf.lists  # type: ignore[union-attr]
    for _ in range(10):
        query = rng.standard_normal(12)
        assert top_n(model, query, 10, {"i3"}) == top_n(exact, query, 10, {"i3"})


def test_ivf_assigns_new_vectors_and_retrains_after_drift() -> None:
    model, _ = _model(n=2000)
    index = model.ivf
    assert index is not None
    vector = np.full(12, 3.0, dtype=np.float32)
    model.set_item_vector("new", vector)
    bucket, _ = model.Y.locate("new")  # type: ignore[misc]
    assert bucket == int(index.assign(vector[None, :])[0]) and model.ivf is index
    rng = np.random.default_rng(5)
    for i in range(2000):  # as many changes as the index was trained on: retrain
        model.set_item_vector(f"i{i}", rng.standard_normal(12).astype(np.float32))
    assert model.ivf is not index and len(model.Y) == 2001
    model.ivf.probes = model.ivf.lists  # type: ignore[union-attr]
    assert top_n(model, vector, 1)[0][0] == "new"


def test_small_models_stay_exact_until_enough_items() -> None:
    model = VectorServingModel(4, True, 1.0, approximate_index="ivf", ivf_min_items=100)
    model.bulk_load_items(["a", "b"], np.eye(4, dtype=np.float32)[:2])
    assert model.ivf is None and model.Y.buckets == 1
    assert [i for i, _ in top_n(model, np.array([0.0, 1.0, 0, 0]), 2)] == ["b", "a"]


@pytest.mark.parametrize("seed", range(5))
def test_index_train_finds_separated_clusters(seed: int) -> None:
    matrix = np.repeat(np.eye(3, dtype=np.float32), 50, axis=0)
    index = IVFIndex.train(matrix, 3, 1, seed=seed)
    assert sorted(np.bincount(index.assign(matrix), minlength=3).tolist()) == [50, 50, 50]


def test_config_keys_reach_the_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from serving.als.manager import ALSServingModelManager

    config = load_config(environ={}, sets=[f"oryx.embedded.state-dir={tmp_path}", "oryx.update-topic.broker=",
                                           "oryx.serving.approximate-index=ivf", "oryx.serving.ivf.probes=7",
                                           "oryx.serving.scan-threads=3"])
    manager = ALSServingModelManager(config)
    assert manager.index_options == {"approximate_index": "ivf", "ivf_probes": 7, "ivf_lists": 0, "hnsw_m": 32,
                                     "hnsw_ef_search": 128, "hnsw_ef_construction": 40, "scan_threads": 3}
    assert VectorServingModel(4, True, **manager.index_options).batcher.threads == 3
    with pytest.raises(ConfigError):
        load_config(environ={}, sets=["oryx.serving.approximate-index=annoy"])["oryx.serving.approximate-index"]
