"""The vectorized UP text is byte for byte what oryxpy.messages.up_value writes."""

from __future__ import annotations

import numpy as np
import pytest

from oryxpy.javafmt import float32_list_text
from oryxpy.messages import up_value
from speed.als.encoding import up_texts, vector_texts


@pytest.mark.parametrize("scale", [0.3, 30.0, 1e5, 2e-3])
def test_vector_texts_match_java_float_text(scale: float) -> None:
    matrix = (np.random.default_rng(3).normal(size=(300, 20)) * scale).astype(np.float32)
    assert vector_texts(matrix) == [float32_list_text(row) for row in matrix]


def test_random_bit_patterns_and_edges() -> None:
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**32, size=(500, 40), dtype=np.uint64).astype(np.uint32).view(np.float32)
    edges = [0.0, -0.0, 1.0, 0.5, 0.1, 1e-3, 9.999999e-4, 1e7, 9999999.0, 123456.7, -0.001, np.nan, np.inf, 3e-45]
    tens = np.float32(10.0) ** np.arange(-3, 7, dtype=np.float32)
    rows = [np.nan_to_num(bits[n], nan=1.0) for n in range(len(bits))]
    rows += [np.array(edges, dtype=np.float32), tens, np.nextafter(tens, np.float32(0)), np.nextafter(tens, np.float32(1e9))]
    for row in rows:
        assert vector_texts(row[None, :])[0] == float32_list_text(row)


def test_up_texts_match_up_value() -> None:
    vectors = np.array([[0.25, -1.5], [3e-4, 2.0]], dtype=np.float32)
    ids, known = ["u1", 'quote"d é'], ["i,1", "i2"]
    assert up_texts("X", ids, vectors, known) == [up_value("X", i, v, [k]) for i, v, k in zip(ids, vectors, known, strict=True)]
    assert up_texts("Y", ids, vectors, None) == [up_value("Y", i, v) for i, v in zip(ids, vectors, strict=True)]


def test_empty() -> None:
    assert vector_texts(np.zeros((0, 3), dtype=np.float32)) == []
