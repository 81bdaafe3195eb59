"""Evaluation metrics on cases small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from batch.evaluation import mean_auc, ranking_metrics, rmse, top_k


def test_ranking_metrics_by_hand() -> None:
    x = np.array([[1.0], [1.0]])
    y = np.array([[4.0], [3.0], [2.0], [1.0]])  # every user ranks items 0, 1, 2, 3
    exclude = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))  # user 0 already has item 0
    relevant = sp.csr_matrix(np.array([[0, 0, 1, 1], [1, 0, 0, 0]]))
    assert top_k(x, y, np.array([0, 1]), exclude, 2).tolist() == [[1, 2], [0, 1]]
    metrics = ranking_metrics(x, y, relevant, exclude, k=2)
    d2 = 1 / math.log2(3)
    # user 0: hit at rank 2 of 2 relevant; user 1: hit at rank 1 of 1 relevant
    assert metrics["ndcg@2"] == pytest.approx((d2 / (1 + d2) + 1) / 2)
    assert metrics["precision@2"] == pytest.approx(0.5)
    assert metrics["recall@2"] == pytest.approx((0.5 + 1) / 2)
    assert metrics["map@2"] == pytest.approx((0.5 / 2 + 1) / 2)


def test_ranking_metrics_skip_users_without_relevant_items() -> None:
    x, y = np.array([[1.0], [1.0]]), np.array([[2.0], [1.0]])
    metrics = ranking_metrics(x, y, sp.csr_matrix(np.array([[1, 0], [0, 0]])), None, k=1)
    assert metrics == {"ndcg@1": 1.0, "precision@1": 1.0, "recall@1": 1.0, "map@1": 1.0}


def test_mean_auc_by_hand_strict_and_negatives_from_test_items() -> None:
    x = np.array([[1.0], [1.0], [0.0]])
    y = np.array([[3.0], [1.0], [2.0]])
    users = np.array([0, 0, 1, 1, 2])
    items = np.array([0, 1, 1, 2, 0])
    # user 0: positives 0,1 (3, 1) vs negatives drawn from {2} (2) -> 2 of 4 pairs
    # user 1: positives 1,2 (1, 2) vs negatives from {0} (3) -> 0 of 4
    # user 2: all scores 0: ties count as wrong -> 0
    assert mean_auc(x, y, users, items, np.random.default_rng(0)) == pytest.approx(0.5 / 3)


def test_mean_auc_without_any_negative_is_nan() -> None:
    assert math.isnan(mean_auc(np.ones((1, 1)), np.ones((1, 1)), np.array([0]), np.array([0]), np.random.default_rng(0)))


def test_rmse_by_hand() -> None:
    x, y = np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 1.0]])
    assert rmse(x, y, np.array([0, 0]), np.array([0, 1]), np.array([1.0, 3.0])) == pytest.approx(math.sqrt(5))
    assert math.isnan(rmse(x, y, np.array([], dtype=int), np.array([], dtype=int), np.array([])))
