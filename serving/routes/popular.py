"""Popularity endpoints: /popularRepresentativeItems, /mostActiveUsers and /mostPopularItems."""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from serving import formats
from serving.als.queries import top_n
from serving.params import HowMany, Offset, RescorerParams, State, paging, ready_model, rescorer_for

router = APIRouter(tags=["popular"])


def _top_counts(counts: Counter[str], rescorer: Any, n: int, skip: int) -> list[tuple[str, int]]:
    pairs = counts.items() if rescorer is None else ((i, c) for i, c in counts.items() if not rescorer.is_filtered(i))
    return heapq.nlargest(n + skip, pairs, key=lambda kv: kv[1])[skip:]


@router.get("/popularRepresentativeItems")
def popular_representative_items(request: Request, state: State) -> Response:
    """For each feature, the item with the largest value of that feature (among its LSH candidates)."""
    model = ready_model(state)
    result: list[str | None] = []
    for f in range(model.features):
        axis = np.zeros(model.features)
        axis[f] = 1.0
        best = top_n(model, axis, 1)
        result.append(best[0][0] if best else None)
    return formats.ids(request, result)


@router.get("/mostActiveUsers")
def most_active_users(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                      rescorerParams: RescorerParams = None) -> Response:
    """Users with the most known items, most first."""
    n, skip = paging(howMany, offset)
    model = ready_model(state)
    rescorer = rescorer_for(state, "most_active_users", rescorerParams or [])
    return formats.id_counts(request, _top_counts(model.user_counts(), rescorer, n, skip))


@router.get("/mostPopularItems")
def most_popular_items(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                       rescorerParams: RescorerParams = None) -> Response:
    """Items known by the most users, most first."""
    n, skip = paging(howMany, offset)
    model = ready_model(state)
    rescorer = rescorer_for(state, "most_popular_items", rescorerParams or [])
    return formats.id_counts(request, _top_counts(model.item_counts(), rescorer, n, skip))
