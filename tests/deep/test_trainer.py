"""The numpy two-tower trainer: planted structure is recovered, shapes follow the settings, gradients are right."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from batch.deep import trainer
from batch.deep.trainer import TowerParams, train_two_tower
from oryxpy.content import ItemContent, hashed_features
from tests.deep.planted import ITEMS_PER_GENRE, USERS_PER_GENRE, item_content

PARAMS = TowerParams(features=8, learning_rate=0.03, epochs=40, batch_size=64, negatives=16, hidden=16, seed=3)


def planted(seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix, list[str]]:
    """Users 0..23 like items a*, users 24..47 items b*; 6 items each. Items are a0..a15, b0..b15."""
    rng = np.random.default_rng(seed)
    items = [f"{g}{i}" for g in "ab" for i in range(ITEMS_PER_GENRE)]
    rows, cols = [], []
    for user in range(2 * USERS_PER_GENRE):
        offset = 0 if user < USERS_PER_GENRE else ITEMS_PER_GENRE
        for i in rng.choice(ITEMS_PER_GENRE, 6, replace=False):
            rows.append(user)
            cols.append(offset + int(i))
    history = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(2 * USERS_PER_GENRE, len(items)))
    features = hashed_features([item_content(i, i[0]) for i in items], 256)
    return history, features, items


def test_recovers_planted_genres_and_places_cold_items() -> None:
    history, features, items = planted()
    model = train_two_tower(history, features, PARAMS)
    y = model.item_vectors(features)
    x = model.user_vectors(history, y)
    assert y.shape == (len(items), 8) and x.shape == (history.shape[0], 8) and y.dtype == np.float32
    scores = x @ y.T
    scores[history.nonzero()] = -np.inf
    top = np.argsort(-scores, axis=1)[:, :5]
    same = [(t < ITEMS_PER_GENRE) == (u < USERS_PER_GENRE) for u, row in enumerate(top) for t in row]
    assert np.mean(same) > 0.95
    # a cold item (content only) scores higher for the users of its genre
    cold = model.tower.content_vectors(hashed_features([ItemContent("new", item_content("x", "a").attributes)], 256))[0]
    assert np.mean(x[:USERS_PER_GENRE] @ cold) > np.mean(x[USERS_PER_GENRE:] @ cold)
    cos = (y @ cold) / np.linalg.norm(y, axis=1) / np.linalg.norm(cold)
    assert np.mean(cos[:ITEMS_PER_GENRE]) > np.mean(cos[ITEMS_PER_GENRE:]) + 0.2


def test_vector_size_follows_features() -> None:
    history, features, _ = planted()
    model = train_two_tower(history, features, TowerParams(features=5, epochs=1, hidden=4, negatives=4, seed=1))
    assert model.item_vectors(features).shape[1] == 5 and model.tower.p.shape == (5, 5)
    assert model.tower.w1.shape == (256, 4) and model.seconds_per_epoch > 0


def test_hand_derived_gradients_match_finite_differences() -> None:
    history, features, _ = planted()
    history, features = history[:6], features  # a few users keep it small
    params = TowerParams(features=3, hidden=4, negatives=5, l2=0.01, id_dropout=0.0, seed=0)
    rng = np.random.default_rng(0)
    n_users, n_items = history.shape
    w = {"w1": rng.normal(0, 0.5, (256, 4)), "b1": rng.normal(0, 0.1, 4), "w2": rng.normal(0, 0.5, (4, 3)),
         "p": rng.normal(0, 0.5, (3, 3)), "e": rng.normal(0, 0.5, (n_items, 3)), "eu": rng.normal(0, 0.5, (n_users, 3))}
    counts = np.asarray(history.sum(axis=1)).ravel()
    users, pos = history.nonzero()
    negs = np.array([1, 3, 17, 20, 30])
    has_id = np.ones(n_items, dtype=bool)
    log_q = rng.normal(0, 1, n_items)

    def loss_and_grads(weights: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        grads, loss = trainer._step(weights, history, features, counts, users, pos, negs, log_q, has_id, params,
                                    np.random.default_rng(1))
        # the L2 term: 0.5 l2 |v|^2 for each user vector, positive and (shared) negative item vector of the batch
        y = (np.maximum(features @ weights["w1"] + weights["b1"], 0) @ weights["w2"]) + weights["e"]
        u = ((history @ y)[users] - y[pos]) / np.maximum(counts[users] - 1, 1)[:, None] @ weights["p"] + weights["eu"][users]
        penalty = 0.5 * params.l2 * (np.sum(u * u) + np.sum(y[pos] ** 2) + np.sum(y[negs] ** 2))
        return loss + penalty, grads

    _, grads = loss_and_grads(w)
    for name in ("w2", "p", "e", "eu", "b1"):
        for index in [tuple(rng.integers(0, s) for s in w[name].shape) for _ in range(3)]:
            plus = {k: v.copy() for k, v in w.items()}
            minus = {k: v.copy() for k, v in w.items()}
            plus[name][index] += 1e-5
            minus[name][index] -= 1e-5
            numeric = (loss_and_grads(plus)[0] - loss_and_grads(minus)[0]) / 2e-5
            analytic = grads[name][index]
            assert abs(numeric - analytic) < 1e-4 + 1e-2 * abs(numeric), (name, index, numeric, analytic)
