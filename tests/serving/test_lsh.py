"""LocalitySensitiveHash: Oryx's parameter search, buckets, candidate order, and recall against exact search."""

from __future__ import annotations

import numpy as np
import pytest

from oryxpy.lsh import LocalitySensitiveHash, hash_parameters
from serving.vectors.model import VectorServingModel
from serving.vectors.queries import top_n


@pytest.mark.parametrize(("rate", "cores", "expected"), [
    (1.0, 1, (0, 0)), (1.0, 2, (1, 1)), (1.0, 8, (3, 3)), (1.0, 32, (5, 5)),
    (0.5, 2, (3, 1)), (0.3, 2, (5, 1)), (0.3, 8, (7, 1)), (0.5, 32, (7, 3)), (0.1, 1, (4, 0)),
])
def test_hash_parameters_follow_oryx_loop(rate: float, cores: int, expected: tuple[int, int]) -> None:
    assert hash_parameters(rate, cores) == expected


def test_hash_parameters_bound_the_scanned_fraction() -> None:
    from math import comb
    for cores in (1, 2, 3, 4, 6, 8, 16, 32, 64):
        for rate in (0.05, 0.1, 0.3, 0.5, 0.9):
            h, bits = hash_parameters(rate, cores)
            tried = sum(comb(h, b) for b in range(bits + 1))
            assert h == 16 or tried <= rate * 2**h or tried == 2**h


def test_buckets_are_the_signs_of_the_hyperplane_dot_products() -> None:
    lsh = LocalitySensitiveHash(0.3, 4, num_cores=2, seed=3)
    assert (lsh.num_hashes, lsh.max_bits_differing, lsh.num_buckets) == (5, 1, 32)
    vectors = np.random.default_rng(0).standard_normal((50, 4))
    expected = [sum(1 << i for i in range(5) if lsh.hash_vectors[i] @ v > 0) for v in vectors]
    assert lsh.indices_for(vectors).tolist() == expected == [lsh.index_for(v) for v in vectors]
    # hyperplanes are chosen to be nearly orthogonal when the dimension allows
    wide = LocalitySensitiveHash(0.3, 12, num_cores=2, seed=3).hash_vectors
    unit = wide / np.linalg.norm(wide, axis=1, keepdims=True)
    assert np.abs(unit @ unit.T - np.eye(5)).max() < 0.5


def test_candidates_are_main_bucket_then_one_bit_flips_in_order() -> None:
    lsh = LocalitySensitiveHash(0.3, 4, num_cores=2, seed=3)
    v = np.array([1.0, -2.0, 0.5, 0.1])
    main = lsh.index_for(v)
    assert lsh.candidate_indices(v).tolist() == [main] + [main ^ (1 << b) for b in range(5)]
    exact = LocalitySensitiveHash(1.0, 4, num_cores=8, seed=3)
    assert exact.scans_all and exact.candidate_indices(v).tolist() == list(range(8))
    two_bits = LocalitySensitiveHash(0.5, 4, num_cores=32, seed=3)  # 7 hashes, 3 bits
    masks = [c ^ two_bits.index_for(v) for c in two_bits.candidate_indices(v)]
    assert [bin(m).count("1") for m in masks] == sorted(bin(m).count("1") for m in masks)
    assert len(masks) == 1 + 7 + 21 + 35


def test_sample_rate_below_one_keeps_most_of_the_exact_top_10() -> None:
    rng = np.random.default_rng(42)
    items = rng.standard_normal((6000, 20)).astype(np.float32)
    exact, approx = VectorServingModel(20, True, 1.0), VectorServingModel(20, True, 0.5, lsh_seed=7)
    approx.lsh = LocalitySensitiveHash(0.5, 20, num_cores=2, seed=7)  # machine independent: 3 hashes, 1 bit
    approx.Y = approx.Y.__class__(20, approx.lsh.num_buckets, approx.lsh.indices_for)
    ids = [f"i{i}" for i in range(len(items))]
    exact.bulk_load_items(ids, items)
    approx.bulk_load_items(ids, items)
    assert sum(b.n for b in approx.Y.blocks) == len(items) and len(approx.Y.blocks) == 8
    recalls = []
    for _ in range(40):
        query = rng.standard_normal(20)
        truth = {i for i, _ in top_n(exact, query, 10)}
        assert truth == {f"i{j}" for j in np.argsort(-(items.astype(np.float64) @ query))[:10]}
        recalls.append(len(truth & {i for i, _ in top_n(approx, query, 10)}) / 10)
    assert np.mean(recalls) >= 0.7  # Oryx's LSH at 0.5 with 2 cores scans half the buckets
