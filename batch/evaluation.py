"""Model-agnostic evaluation of user/item vector models: Oryx's mean AUC and RMSE, and ranking metrics at k."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SCORE_CELLS = 32_000_000  # users x items scores computed at once (128 MB of float32)


def _negatives(users: np.ndarray, items: np.ndarray, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform draw from ``pool`` per row, never an item the row's user has among ``items`` (rejection sampling,
    vectorized; rows whose user has every pool item get -1)."""
    width = int(pool.max()) + 1
    own = np.unique(users.astype(np.int64) * width + items)
    distinct = np.bincount(own // width, minlength=int(users.max()) + 1)
    negatives = np.where(distinct[users] < len(pool), pool[rng.integers(0, len(pool), len(users))], -1)
    for _ in range(64):
        clash = (negatives >= 0) & np.isin(users.astype(np.int64) * width + negatives, own)
        if not clash.any():
            return negatives
        negatives[clash] = pool[rng.integers(0, len(pool), int(clash.sum()))]
    for row in np.flatnonzero((negatives >= 0) & np.isin(users.astype(np.int64) * width + negatives, own)):
        negatives[row] = rng.choice(np.setdiff1d(pool, items[users == users[row]]))  # users with nearly every item
    return negatives


def mean_auc(x: np.ndarray, y: np.ndarray, users: np.ndarray, items: np.ndarray, rng: np.random.Generator) -> float:
    """Oryx's mean per-user AUC (spec 3.5): each test pair is a positive; as many negatives per user are drawn
    uniformly from the items of the test set that the user has not got; a pair counts when the positive scores
    strictly higher. Users left without negatives are skipped; NaN when no user can be scored."""
    if len(users) == 0:
        return float("nan")
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    negatives = _negatives(users, items, np.unique(items), rng)
    xu = x[users].astype(np.float64)
    positive_scores = np.einsum("ij,ij->i", xu, y[items].astype(np.float64))
    negative_scores = np.einsum("ij,ij->i", xu, y[np.maximum(negatives, 0)].astype(np.float64))
    bounds = np.flatnonzero(np.diff(users)) + 1
    aucs = []
    for pos, neg, drawn in zip(np.split(positive_scores, bounds), np.split(negative_scores, bounds),
                               np.split(negatives, bounds), strict=True):
        if drawn[0] < 0:
            continue
        aucs.append(float(np.mean(pos[:, None] > neg[None, :])))
    return float(np.mean(aucs)) if aucs else float("nan")


def rmse(x: np.ndarray, y: np.ndarray, users: np.ndarray, items: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error of the dot-product predictions; NaN for no pairs."""
    if len(users) == 0:
        return float("nan")
    predicted = np.einsum("ij,ij->i", x[users].astype(np.float64), y[items].astype(np.float64))
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def top_k(x: np.ndarray, y: np.ndarray, users: np.ndarray, exclude: sp.csr_matrix | None, k: int) -> np.ndarray:
    """For each given user, the indices of the k best-scoring items (best first), excluding ``exclude[user]``."""
    k = min(k, y.shape[0])
    result = np.empty((len(users), k), dtype=np.int64)
    step = max(1, SCORE_CELLS // max(1, y.shape[0]))
    for start in range(0, len(users), step):
        chunk = users[start:start + step]
        scores = np.asarray(x[chunk], dtype=np.float32) @ np.asarray(y, dtype=np.float32).T
        if exclude is not None:
            rows = exclude[chunk]
            scores[np.repeat(np.arange(len(chunk)), np.diff(rows.indptr)), rows.indices] = -np.inf
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_scores = np.take_along_axis(scores, best, axis=1)
        result[start:start + len(chunk)] = np.take_along_axis(best, np.argsort(-best_scores, axis=1, kind="stable"), axis=1)
    return result


def ranking_metrics(x: np.ndarray, y: np.ndarray, relevant: sp.csr_matrix, exclude: sp.csr_matrix | None,
                    k: int = 10) -> dict[str, float]:
    """Mean nDCG@k (binary gains, log2 discount), precision@k, recall@k and MAP@k over users with a relevant item.

    ``relevant`` and ``exclude`` are users x items matrices in the model's index space (nonzero = member).
    Recall divides by the user's number of relevant items; average precision by min(k, that number).
    """
    relevant = sp.csr_matrix(relevant)
    counts = np.diff(relevant.indptr)
    users = np.flatnonzero(counts > 0)
    if len(users) == 0 or y.shape[0] == 0:
        return {f"{name}@{k}": float("nan") for name in ("ndcg", "precision", "recall", "map")}
    recommended = top_k(x, y, users, exclude, k)
    hits = np.asarray(relevant[np.repeat(users, recommended.shape[1]), recommended.ravel()]).reshape(recommended.shape) != 0
    discount = 1.0 / np.log2(np.arange(2, recommended.shape[1] + 2))
    n_rel = counts[users]
    ideal = np.array([discount[:m].sum() for m in np.minimum(n_rel, recommended.shape[1])])
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, recommended.shape[1] + 1)
    return {
        f"ndcg@{k}": float(np.mean((hits * discount).sum(axis=1) / ideal)),
        f"precision@{k}": float(np.mean(hits.sum(axis=1) / k)),
        f"recall@{k}": float(np.mean(hits.sum(axis=1) / n_rel)),
        f"map@{k}": float(np.mean((precision_at * hits).sum(axis=1) / np.minimum(n_rel, k))),
    }
