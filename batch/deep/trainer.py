"""Two-tower training in numpy: item tower over hashed content + ID embedding, user tower from history, sampled softmax."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from batch.deep.model_format import ItemTower
from oryxpy.errors import ModelFitError

log = logging.getLogger(__name__)

SAMPLING_POWER = 0.75  # negatives are drawn in proportion to popularity ** this, as word2vec
INIT_STD = 0.1  # of the ID embeddings: too small a start leaves user and item vectors stuck near zero


@dataclass(frozen=True)
class TowerParams:
    """Hyper-parameters of one training run."""

    features: int = 64
    learning_rate: float = 0.02
    l2: float = 5e-5
    id_dropout: float = 0.25
    epochs: int = 20
    batch_size: int = 2048
    negatives: int = 512
    hidden: int = 64
    user_embedding: bool = True
    seed: int | None = None


@dataclass
class TrainedTowers:
    """The trained weights: the shared tower and the ID embeddings (zero rows for items without interactions)."""

    tower: ItemTower
    item_embedding: np.ndarray  # items x features
    user_embedding: np.ndarray  # users x features (zeros without params.user_embedding)
    seconds_per_epoch: float
    final_loss: float

    def item_vectors(self, features: sp.csr_matrix) -> np.ndarray:
        """Every item's vector: content part plus ID embedding."""
        vectors: np.ndarray = self.tower.content_vectors(features) + self.item_embedding
        return vectors

    def user_vectors(self, history: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
        """Each training user's vector: own embedding + mean of their history's item vectors, projected."""
        vectors: np.ndarray = user_vectors(self.tower, history, y) + self.user_embedding
        return vectors


def user_vectors(tower: ItemTower, history: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
    """mean(y of each row's items) P for every row of a users x items 0/1 matrix."""
    counts = np.asarray(history.sum(axis=1)).ravel()
    mean = (history @ y) / np.maximum(counts, 1)[:, None]
    vectors: np.ndarray = (mean @ tower.p).astype(np.float32)
    return vectors


class _Adam:
    """Adam over a dict of arrays, updated in place."""

    def __init__(self, params: dict[str, np.ndarray], rate: float):
        self.params, self.rate, self.t = params, rate, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray], b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> None:
        self.t += 1
        scale = self.rate * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for name, g in grads.items():
            m, v = self.m[name], self.v[name]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            self.params[name] -= scale * m / (np.sqrt(v) + eps)


def _scatter(rows: np.ndarray, n: int) -> sp.csr_matrix:
    """An n x len(rows) 0/1 matrix M with M[rows[j], j] = 1: M @ G adds row j of G into row rows[j]."""
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))), shape=(n, len(rows)))


def train_two_tower(history: sp.csr_matrix, features: sp.csr_matrix, params: TowerParams) -> TrainedTowers:
    """Train on a users x items 0/1 ``history`` and items x buckets hashed ``features`` (same item order).

    Each positive (u, i) is predicted from the mean of u's other items (the target left out) plus u's own
    embedding, against ``negatives`` shared samples of the items that have interactions (drawn by popularity,
    logits corrected by the log sampling rate, so it estimates the full softmax); gradients are derived by hand.
    """
    history = sp.csr_matrix(history, dtype=np.float32)
    features = sp.csr_matrix(features, dtype=np.float32)
    n_users, n_items = history.shape
    if features.shape[0] != n_items:
        raise ModelFitError(f"{features.shape[0]} content rows for {n_items} items")
    users, items = history.nonzero()
    if len(users) == 0:
        raise ModelFitError("no interactions to train the two-tower model on")
    rng = np.random.default_rng(params.seed)
    k, h, buckets = params.features, params.hidden, features.shape[1]
    has_id = np.asarray(history.sum(axis=0)).ravel() > 0
    id_items = np.flatnonzero(has_id)
    counts = np.asarray(history.sum(axis=1)).ravel()
    w: dict[str, np.ndarray] = {
        "w1": rng.normal(0, 0.5, (buckets, h)).astype(np.float32),
        "b1": np.zeros(h, dtype=np.float32),
        "w2": rng.normal(0, 0.1 / np.sqrt(h), (h, k)).astype(np.float32),
        "p": np.eye(k, dtype=np.float32),
        "e": rng.normal(0, INIT_STD, (n_items, k)).astype(np.float32) * has_id[:, None],
        "eu": rng.normal(0, INIT_STD, (n_users, k)).astype(np.float32) * params.user_embedding,
    }
    adam = _Adam(w, params.learning_rate)
    popularity = np.asarray(history.sum(axis=0)).ravel() ** SAMPLING_POWER
    sampling = popularity[id_items] / popularity[id_items].sum()
    log_q = np.full(n_items, np.inf)
    log_q[id_items] = np.log(params.negatives * sampling)
    started, loss = time.perf_counter(), float("nan")
    for epoch in range(params.epochs):
        order = rng.permutation(len(users))
        total = 0.0
        for start in range(0, len(order), params.batch_size):
            batch = order[start:start + params.batch_size]
            negs = id_items[rng.choice(len(id_items), params.negatives, p=sampling)]
            grads, batch_loss = _step(w, history, features, counts, users[batch], items[batch], negs, log_q,
                                      has_id, params, rng)
            adam.step(grads)
            total += batch_loss * len(batch)
        loss = total / len(users)
        log.debug("two-tower epoch %d: loss %.4f", epoch + 1, loss)
    seconds = (time.perf_counter() - started) / params.epochs
    tower = ItemTower(w["w1"], w["b1"], w["w2"], w["p"])
    return TrainedTowers(tower, w["e"] * has_id[:, None], w["eu"], seconds, loss)


def _step(w: dict[str, np.ndarray], history: sp.csr_matrix, features: sp.csr_matrix, counts: np.ndarray,
          users: np.ndarray, pos: np.ndarray, negs: np.ndarray, log_q: np.ndarray, has_id: np.ndarray,
          params: TowerParams, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], float]:
    """Loss and gradients of one minibatch of sampled softmax (logits corrected by log of the sampling rate)."""
    n_items, batch = history.shape[1], len(users)
    # item tower, all items (the history means need them)
    z1 = features @ w["w1"] + w["b1"]
    a1 = np.maximum(z1, 0.0)
    keep = has_id & (rng.random(n_items) >= params.id_dropout)
    y = a1 @ w["w2"] + w["e"] * keep[:, None]
    # user tower: mean of the user's other items, projected
    sums = history @ y  # every user's history sum: cheaper than the batch's rows, which repeat heavy users
    denom = np.maximum(counts[users] - 1, 1)[:, None]
    user_in = (sums[users] - y[pos]) / denom
    u = user_in @ w["p"] + w["eu"][users]
    # sampled softmax over [positive, shared negatives]
    y_pos, y_neg = y[pos], y[negs]
    logits = np.concatenate([np.einsum("ij,ij->i", u, y_pos)[:, None], u @ y_neg.T], axis=1)
    logits[:, 0] -= log_q[pos]
    logits[:, 1:] -= log_q[negs][None, :]
    logits[:, 1:][negs[None, :] == pos[:, None]] = -np.inf  # a negative that is the positive
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(np.maximum(prob[:, 0], 1e-30))))
    g = prob / batch
    g[:, 0] -= 1.0 / batch
    l2 = params.l2
    d_u = g[:, :1] * y_pos + g[:, 1:] @ y_neg + l2 * u
    to_pos, to_neg = _scatter(pos, n_items), _scatter(negs, n_items)
    d_y = to_pos @ (g[:, :1] * u + l2 * y_pos) + to_neg @ (g[:, 1:].T @ u + l2 * y_neg)
    d_p = user_in.T @ d_u
    d_in = (d_u @ w["p"].T) / denom
    d_sums = _scatter(users, history.shape[0]) @ d_in
    d_y += history.T @ d_sums - to_pos @ d_in
    d_y = np.asarray(d_y, dtype=np.float32)
    # back through the item tower
    d_z1 = (d_y @ w["w2"].T) * (z1 > 0)
    grads = {
        "w2": a1.T @ d_y,
        "b1": d_z1.sum(axis=0),
        "w1": np.asarray(features.T @ d_z1, dtype=np.float32),
        "p": d_p.astype(np.float32),
        "e": d_y * keep[:, None],
    }
    if params.user_embedding:
        grads["eu"] = np.asarray(_scatter(users, history.shape[0]) @ d_u, dtype=np.float32)
    return grads, loss
