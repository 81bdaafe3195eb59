"""The speed model's state: growable vectors, recent IDs kept across a new MODEL, expected IDs and fraction loaded."""

from __future__ import annotations

import numpy as np
import pytest

from oryxpy.errors import InvalidInput
from speed.als.model import ALSSpeedModel
from speed.als.vectors import FeatureVectors


def test_vectors_grow_and_gather() -> None:
    vectors = FeatureVectors(3, capacity=2)
    ids = [f"id{n}" for n in range(3000)]
    vectors.set_many(ids, np.arange(9000, dtype=np.float32).reshape(3000, 3))
    vectors.set("id1", np.array([7, 8, 9], dtype=np.float32))
    got, known = vectors.gather(["id2999", "nobody", "id1"])
    assert known.tolist() == [True, False, True]
    np.testing.assert_array_equal(got, [[8997, 8998, 8999], [0, 0, 0], [7, 8, 9]])
    assert len(vectors) == 3000 and vectors.vectors().shape == (3000, 3)
    with pytest.raises(InvalidInput):
        vectors.set("bad", np.zeros(2, dtype=np.float32))


def test_retain_keeps_the_new_ids_and_the_recent_ones() -> None:
    vectors = FeatureVectors(1)
    vectors.set_many(["a", "b"], np.ones((2, 1)))
    assert vectors.retain_recent_and({"a"}) == 0  # both recent: kept, then no longer recent
    vectors.set("c", np.ones(1))  # new since the last model: recent
    vectors.set("a", np.full(1, 2.0))  # overwritten: not made recent
    assert vectors.retain_recent_and({"x"}) == 2  # a and b go, c stays
    assert vectors.ids() == ["c"] and vectors.get("a") is None
    np.testing.assert_array_equal(vectors.get("c"), [1.0])


def test_fraction_loaded_and_expected_ids() -> None:
    model = ALSSpeedModel(2, True, False, float("nan"))
    assert model.fraction_loaded() == 1.0
    model.retain_recent_and_ids({"u1", "u2"}, {"i1", "i2", "i3"})
    assert model.fraction_loaded() == 0.0
    model.set_item_vectors(["i1", "i2"], np.ones((2, 2)))
    model.set_user_vectors(["u1", "other"], np.ones((2, 2)))
    assert model.fraction_loaded() == pytest.approx(4 / 6)  # 4 present, u2 and i3 expected
    model.retain_recent_and_ids({"u1", "u2"}, {"i1", "i2", "i3"})  # same model again: everything retained
    assert model.fraction_loaded() == pytest.approx(4 / 6)


def test_gram_is_kept_up_to_date() -> None:
    rng = np.random.default_rng(2)
    vectors = FeatureVectors(4, capacity=2)
    assert vectors.gram() is None
    ids = [f"id{n}" for n in range(50)]
    vectors.set_many(ids, rng.normal(size=(50, 4)))
    vectors.retain_recent_and(set(ids))  # nothing recent any more
    vectors.set_many(["id1", "id1", "new"], rng.normal(size=(3, 4)))  # a repeated ID: the last write wins
    for n in range(0, 60, 3):
        vectors.set(f"id{n}", rng.normal(size=4))
    assert vectors.retain_recent_and(set(ids[:30])) == 20  # id30..id49 go; the recent new, id51, id54, id57 stay
    vectors.set("id2", rng.normal(size=4))
    current = vectors.vectors().astype(np.float64)
    np.testing.assert_allclose(vectors.gram(), current.T @ current, rtol=1e-10, atol=1e-12)
