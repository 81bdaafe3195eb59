"""Queries over the serving model: top-N over candidate buckets (vectorized, thresholded), cosines and anonymous fold-in."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from oryxpy.als import compute_updated_xu
from oryxpy.errors import ModelNotReady
from serving import rescorer as rescoring
from serving.vectors.block import Block
from serving.vectors.model import VectorServingModel

SAMPLE_STRIDE = 64  # one score in this many is sampled to bound the top-N threshold from below
MARGIN = 10  # graph candidates asked beyond howMany and the excluded items


def _candidates(scores: np.ndarray, need: int) -> np.ndarray:
    """Indices of a subset of ``scores`` holding every one among the ``need`` highest (ties included), without sorting
    all: the need-th highest of a strided sample is a lower bound of the need-th highest overall, and only about
    ``stride * need`` scores reach it. NaN never qualifies; falls back to every finite score when the bound is useless."""
    n = len(scores)
    stride = min(SAMPLE_STRIDE, n // (8 * max(need, 1)))
    if stride >= 2:
        sample = scores[::stride]
        if np.isnan(sample).any():
            sample = np.where(np.isnan(sample), -np.inf, sample)
        bound = np.partition(sample, len(sample) - need)[len(sample) - need]
        if bound > -np.inf:
            return np.flatnonzero(scores >= bound)
    return np.flatnonzero(scores > -np.inf)


def select_top(scores: np.ndarray, how_many: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``how_many`` highest scores, best first; NaN, -inf and the ``excluded`` indices never qualify
    (their scores are set to -inf in place: ``scores`` is the caller's own)."""
    if how_many <= 0:
        return np.empty(0, dtype=np.int64)
    if excluded is not None and len(excluded):
        scores[excluded] = -np.inf
    candidates = _candidates(scores, how_many)
    values = scores[candidates]
    if how_many < len(values):
        cut = len(values) - how_many
        keep = np.argpartition(values, cut)[cut:]
        candidates, values = candidates[keep], values[keep]
    order = np.argsort(-values, kind="stable")
    return candidates[order]


def _scan(model: VectorServingModel, parts: list[tuple[int, Block]], starts: np.ndarray, target: np.ndarray,
          cosine: bool) -> np.ndarray:
    """float32 scores of every vector of the candidate blocks, concatenated; one block (exact search) is scanned
    through the model's batcher, so concurrent requests share one pass over the item matrix."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(parts) == 1 and model.Y.buckets == 1:
            block = parts[0][1]
            scores = model.batcher.scores(block.matrix[: block.n], target)
            if cosine:
                scores /= block.norms_at()
            return scores
        scores = np.empty(int(starts[-1]), dtype=np.float32)
        for (_, block), start in zip(parts, starts, strict=False):
            np.matmul(block.matrix[: block.n], target, out=scores[start : start + block.n])
            if cosine:
                scores[start : start + block.n] /= block.norms_at()
        return scores


def _excluded_rows(model: VectorServingModel, parts: list[tuple[int, Block]], starts: np.ndarray,
                   exclude: Collection[str]) -> np.ndarray:
    """Positions in the concatenated scores of the excluded items that lie in the scanned blocks."""
    if not exclude:
        return np.empty(0, dtype=np.int64)
    store = model.Y
    where = {bucket: int(start) for (bucket, _), start in zip(parts, starts, strict=False)}
    rows = []
    for item in exclude:
        loc = store.locate(item)
        if loc is not None and loc[0] in where:
            rows.append(where[loc[0]] + loc[1])
    return np.array(rows, dtype=np.int64)


def top_n(
    model: VectorServingModel,
    target: np.ndarray,
    how_many: int,
    exclude: Collection[str] = (),
    rescorer: Any = None,
    cosine: bool = False,
) -> list[tuple[str, float]]:
    """The best items for ``target`` among the candidate buckets (LSH or IVF lists; all when exact): dot products (or
    cosines, ``target`` being a unit vector), except ``exclude``, through ``rescorer``. Scanning is float32; reported
    scores are recomputed in double precision as Oryx reports them."""
    target64 = np.asarray(target, dtype=np.float64)
    target32 = target64.astype(np.float32)
    scans = model.ann is None and model.Y.buckets == 1  # one exact pass through the batcher: announce it
    with model.batcher.query() if scans else nullcontext(), model.lock.read():
        results = _approximate(model, target64, target32, how_many, exclude, rescorer, cosine) if model.ann else None
        if results is None:
            results = _scan_top(model, target64, target32, how_many, exclude, rescorer, cosine)
    if rescorer is not None:
        results = [(i, float(rescorer.rescore(i, v))) for i, v in results]
        results = [(i, v) for i, v in results if not math.isnan(v)]
    results.sort(key=lambda r: -r[1])
    return results


def _report(vector: np.ndarray, target64: np.ndarray, cosine: bool) -> float:
    """The score of one result in double precision, as Oryx reports it."""
    vector = vector.astype(np.float64)
    value = float(vector @ target64)
    if cosine:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = float(np.float64(value) / np.linalg.norm(vector))
    return value


def _approximate(model: VectorServingModel, target64: np.ndarray, target32: np.ndarray, how_many: int,
                 exclude: Collection[str], rescorer: Any, cosine: bool) -> list[tuple[str, float]] | None:
    """Top-N among the HNSW graph's candidates plus the pending items, ranked exactly with the current vectors; the
    graph is asked for more candidates while fewer than ``how_many`` pass the exclusions and the rescorer. None when
    that would approach the whole catalogue or the whole graph (the caller scans exactly). Under the read lock."""
    ann, store = model.ann, model.Y
    block = store.blocks[0]
    if how_many <= 0 or not block.n:
        return []
    k = how_many + MARGIN + len(exclude)
    while True:
        ids = ann.candidates(target32, k, cosine)  # type: ignore[union-attr]
        rows = np.fromiter((store.locate(i)[1] for i in ids), dtype=np.int64, count=len(ids))  # type: ignore[index]
        with np.errstate(invalid="ignore", divide="ignore"):
            scores = block.matrix[rows] @ target32
            if cosine:
                scores /= block.norms_at(rows)
        if exclude:
            scores[np.fromiter((i in exclude for i in ids), dtype=bool, count=len(ids))] = -np.inf
        id_array = np.array(ids, dtype=object)
        if rescorer is not None:
            scores = rescoring.apply(rescorer, id_array, scores)
        if np.count_nonzero(scores > -np.inf) >= how_many:  # NaN compares False
            break
        k *= 4
        if k >= block.n // 2 or k >= 4 * ann.size:  # type: ignore[union-attr]
            return None  # the graph cannot give enough: scan
    chosen = select_top(scores, how_many)
    return [(str(id_array[c]), _report(block.matrix[rows[c]], target64, cosine)) for c in chosen.tolist()]


def _scan_top(model: VectorServingModel, target64: np.ndarray, target32: np.ndarray, how_many: int,
              exclude: Collection[str], rescorer: Any, cosine: bool) -> list[tuple[str, float]]:
    """Top-N by scanning the candidate buckets (every item when exact). Under the model's read lock."""
    store = model.Y
    parts = list(store.live_blocks(model.candidate_buckets(target64)))
    if not parts or how_many <= 0:
        return []
    sizes = [block.n for _, block in parts]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    scores = _scan(model, parts, starts, target32, cosine)
    scores[_excluded_rows(model, parts, starts, exclude)] = -np.inf
    if rescorer is not None:
        ids = np.array([i for _, block in parts for i in store.block_ids(block)], dtype=object)
        scores = rescoring.apply(rescorer, ids, scores)
    chosen = select_top(scores, how_many)
    part_of = np.searchsorted(starts, chosen, side="right") - 1
    results = []
    for index, p in zip(chosen.tolist(), part_of.tolist(), strict=True):
        bucket, block = parts[p]
        pos = index - int(starts[p])
        results.append((store.id_at(bucket, pos), _report(block.matrix[pos], target64, cosine)))
    return results


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """cos(a, b) in double precision (NaN if either is zero)."""
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)))


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """a . b accumulated in double precision, as Oryx's VectorMath.dot."""
    return float(np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64))


def unit_sum(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The direction of the sum of vectors (the /similarity target)."""
    total = np.sum(np.asarray(vectors, dtype=np.float64), axis=0)
    norm = np.linalg.norm(total)
    direction: np.ndarray = total / norm if norm > 0 else total
    return direction


def fold_in(model: VectorServingModel, pairs: Sequence[tuple[str, float]], xu: np.ndarray | None) -> np.ndarray | None:
    """Oryx's buildTemporaryUserVector: fold each (item, value) into ``xu`` in order with the Y'Y solver; unknown items
    and no-op values are skipped. None only when ``xu`` is None and nothing changed."""
    solver = model.yty_solver(blocking=True)
    if solver is None:
        raise ModelNotReady("No solver available for model yet")
    vectors = model.item_vectors(item for item, _ in pairs)
    for (_, value), yi in zip(pairs, vectors, strict=True):
        updated = compute_updated_xu(solver, value, xu, yi, model.implicit)
        if updated is not None:
            xu = updated
    return xu
