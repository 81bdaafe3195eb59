"""Popularity endpoints: /popularRepresentativeItems, /mostActiveUsers and /mostPopularItems."""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from serving import formats
from serving.java_order import bucket_key
from serving.models import KNOWN_ITEMS
from serving.openapi import ID_COUNTS, IDS, MODEL_ERRORS, PARAMETER_ERRORS
from serving.params import (
    HowMany,
    HowManyOrZero,
    Offset,
    RescorerParams,
    State,
    paging,
    ready_model,
    rescorer_for,
)
from serving.selection import EVERYTHING, Select
from serving.vector_model import VECTORS, top_n

router = APIRouter(tags=["popular"])


def _top_counts(counts: Counter[str], rescorer: Any, n: int, skip: int) -> list[tuple[str, int]]:
    """The n largest counts after skipping ``skip``; equal counts in Oryx's order (its HashMap's, see java_order)."""
    pairs = list(counts.items()) if rescorer is None else [(i, c) for i, c in counts.items() if not rescorer.is_filtered(i)]
    if n + skip <= 0 or not pairs:
        return []
    cutoff = heapq.nlargest(n + skip, pairs, key=lambda kv: kv[1])[-1][1]
    order = bucket_key(len(counts))  # Oryx's map holds every count; its rescorer filters while sorting
    candidates = [kv for kv in pairs if kv[1] >= cutoff]  # the top plus every count tied with the last one
    candidates.sort(key=lambda kv: (-kv[1], order(kv[0])))
    return candidates[skip:skip + n]


@router.get("/popularRepresentativeItems", responses={**IDS, **MODEL_ERRORS})
def popular_representative_items(request: Request, state: State) -> Response:
    """For each feature, the item with the largest value of that feature (among its LSH candidates)."""
    model = ready_model(state, VECTORS, "/popularRepresentativeItems")
    result: list[str | None] = []
    for f in range(model.features):
        axis = np.zeros(model.features)
        axis[f] = 1.0
        best = top_n(model, axis, 1)
        result.append(best[0][0] if best else None)
    return formats.ids(request, result)


@router.get("/mostActiveUsers", responses={**ID_COUNTS, **PARAMETER_ERRORS})
def most_active_users(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                      rescorerParams: RescorerParams = None) -> Response:
    """Users with the most known items, most first."""
    n, skip = paging(howMany, offset)
    model = ready_model(state, KNOWN_ITEMS, "/mostActiveUsers")
    rescorer = rescorer_for(state, lambda p: p.get_most_active_users_rescorer(rescorerParams or []))
    return formats.id_counts(request, _top_counts(model.user_counts(), rescorer, n, skip))


@router.get("/mostPopularItems", responses={**ID_COUNTS, **PARAMETER_ERRORS})
def most_popular_items(request: Request, state: State, howMany: HowManyOrZero = "10", offset: Offset = "0",
                       rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Items known by the most users, most first."""
    n, skip = paging(howMany, offset, allow_zero=True)  # Oryx answers 200 and an empty list to howMany=0
    model = ready_model(state, KNOWN_ITEMS, "/mostPopularItems")
    rescorer = selection.rescorer(rescorer_for(state, lambda p: p.get_most_popular_items_rescorer(rescorerParams or [])))
    return formats.id_counts(request, _top_counts(model.item_counts(), rescorer, n, skip))
