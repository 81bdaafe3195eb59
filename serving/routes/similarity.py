"""Item similarity endpoints: /similarity and /similarityToItem."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response

from oryxpy.errors import NotFound
from serving import formats
from serving.als.queries import cosine, top_n, unit_sum
from serving.params import HowMany, Offset, RescorerParams, State, paging, path_ids, ready_model, rescorer_for

router = APIRouter(tags=["similarity"])


@router.get("/similarity/{itemIDs:path}")
def similarity(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0", rescorerParams: RescorerParams = None) -> Response:
    """Items most similar (cosine) to the direction of the given items' summed vectors, excluding those items."""
    n, skip = paging(howMany, offset)
    model = ready_model(state)
    items = path_ids(request)
    if not items:
        raise NotFound("no item ID given")
    vectors = model.item_vectors(items)
    for item, vector in zip(items, vectors, strict=True):
        if vector is None:
            raise NotFound(item)
    rescorer = rescorer_for(state, "most_similar_items", rescorerParams or [])
    target = unit_sum(vectors)  # type: ignore[arg-type]
    return formats.id_values(request, top_n(model, target, n + skip, set(items), rescorer, cosine=True)[skip:])


@router.get("/similarityToItem/{toItemAndItems:path}")
def similarity_to_item(request: Request, state: State) -> Response:
    """Cosine similarity of each given item to the first one, in order (0.0 for unknown items)."""
    model = ready_model(state)
    ids = path_ids(request)
    if not ids:
        raise NotFound("no item ID given")
    to_item, *items = ids
    vectors = model.item_vectors(ids)
    if vectors[0] is None:
        raise NotFound(to_item)
    result = []
    for vector in vectors[1:]:
        value = 0.0 if vector is None else cosine(vector, vectors[0])
        if not math.isfinite(value):
            raise ArithmeticError("Bad similarity")
        result.append(value)
    return formats.values(request, result)
