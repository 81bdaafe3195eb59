"""Random-hyperplane locality-sensitive hash over vectors, as Oryx's LocalitySensitiveHash (spec 5.3), vectorized."""

from __future__ import annotations

import math
import os

import numpy as np

MAX_HASHES = 16


def hash_parameters(sample_rate: float, num_cores: int) -> tuple[int, int]:
    """``(num_hashes, max_bits_differing)`` for a sample rate and core count, by Oryx's search loop."""
    if not 0 < sample_rate <= 1:
        raise ValueError(f"sample rate must be in (0, 1], not {sample_rate}")
    num_hashes = 0
    bits_differing = 0
    while num_hashes < MAX_HASHES:
        bits_differing = 0
        partitions_to_try = 1
        while bits_differing < num_hashes and partitions_to_try < num_cores:
            bits_differing += 1
            partitions_to_try += math.comb(num_hashes, bits_differing)
        if bits_differing == num_hashes and partitions_to_try < num_cores:
            num_hashes += 1
            continue
        if partitions_to_try <= sample_rate * (1 << num_hashes):
            break
        num_hashes += 1
    return num_hashes, bits_differing


def _choose_hash_vectors(num_hashes: int, features: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian hyperplane normals, each the most orthogonal (least sum of |cos|) of its candidates to those chosen."""
    chosen = np.zeros((num_hashes, features), dtype=np.float64)
    for i in range(num_hashes):
        if i == 0:
            chosen[0] = rng.standard_normal(features)
            continue
        unit = chosen[:i] / np.linalg.norm(chosen[:i], axis=1, keepdims=True)
        best, best_score = None, math.inf
        while True:  # batches of 1000 candidates; stop when a whole batch fails to improve
            candidates = rng.standard_normal((1000, features))
            scores = np.abs(candidates @ unit.T).sum(axis=1) / np.linalg.norm(candidates, axis=1)
            j = int(np.argmin(scores))
            if scores[j] >= best_score:
                break
            best, best_score = candidates[j], float(scores[j])
            if best_score == 0.0:
                break
        chosen[i] = best
    return chosen


class LocalitySensitiveHash:
    """Maps a vector to one of ``2**num_hashes`` buckets by the signs of its dot products with random hyperplanes.

    A query scans the buckets whose index differs from the query's in at most ``max_bits_differing`` bits.
    With sample rate 1.0 every bucket is scanned (exact).
    """

    def __init__(self, sample_rate: float, features: int, num_cores: int | None = None, seed: int | None = None):
        self.sample_rate = sample_rate
        self.features = features
        cores = num_cores if num_cores is not None else (os.cpu_count() or 1)
        self.num_hashes, self.max_bits_differing = hash_parameters(sample_rate, cores)
        self.hash_vectors = _choose_hash_vectors(self.num_hashes, features, np.random.default_rng(seed))
        self._weights = (1 << np.arange(self.num_hashes, dtype=np.int64))
        masks = sorted(range(1 << self.num_hashes), key=lambda m: (bin(m).count("1"), m))
        self._masks = np.array([m for m in masks if bin(m).count("1") <= self.max_bits_differing], dtype=np.int64)

    @property
    def num_buckets(self) -> int:
        return 1 << self.num_hashes

    @property
    def scans_all(self) -> bool:
        """True when every query scans every bucket (exact search)."""
        return self.max_bits_differing >= self.num_hashes

    def index_for(self, vector: np.ndarray) -> int:
        """Bucket of one vector: bit i is set iff its dot product with hyperplane i is positive."""
        return int(self.indices_for(np.asarray(vector)[None, :])[0])

    def indices_for(self, matrix: np.ndarray) -> np.ndarray:
        """Bucket of each row of an (n, k) matrix."""
        if self.num_hashes == 0:
            return np.zeros(len(matrix), dtype=np.int64)
        positive = (np.asarray(matrix, dtype=np.float64) @ self.hash_vectors.T) > 0
        buckets: np.ndarray = positive.astype(np.int64) @ self._weights
        return buckets

    def candidate_indices(self, vector: np.ndarray) -> np.ndarray:
        """Buckets to scan for a query: all in order if every bucket is scanned, else main bucket XOR each mask by popcount."""
        if self.scans_all:
            return np.arange(self.num_buckets, dtype=np.int64)
        return self._masks ^ self.index_for(vector)
