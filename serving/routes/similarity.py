"""Item similarity endpoints: /similarity and /similarityToItem."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response

from oryxpy.errors import NotFound
from serving import formats
from serving.openapi import ID_VALUES, QUERY_ERRORS, VALUES
from serving.params import HowMany, Offset, RescorerParams, State, paging, path_ids, ready_model, rescorer_for
from serving.selection import EVERYTHING, Select
from serving.vector_model import VECTORS, cosine, unit_sum, unknown_item

router = APIRouter(tags=["similarity"], responses=QUERY_ERRORS)


@router.get("/similarity/{itemIDs:path}", responses=ID_VALUES)
def similarity(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0", rescorerParams: RescorerParams = None,
               selection: Select = EVERYTHING) -> Response:
    """Items most similar (cosine) to the direction of the given items' summed vectors, excluding those items."""
    n, skip = paging(howMany, offset)
    model = ready_model(state, VECTORS, "/similarity")
    items = path_ids(request)
    if not items:
        raise NotFound("no item ID given")
    vectors = model.item_vectors(items)
    for item, vector in zip(items, vectors, strict=True):
        if vector is None:
            raise unknown_item(model, item)
    rescorer = rescorer_for(state, lambda p: p.get_most_similar_items_rescorer(rescorerParams or []))
    target = unit_sum(vectors)  # type: ignore[arg-type]
    return formats.id_values(request, selection.top_n(model, target, n + skip, set(items), rescorer, cosine=True)[skip:])


@router.get("/similarityToItem/{toItemAndItems:path}", responses=VALUES)
def similarity_to_item(request: Request, state: State, selection: Select = EVERYTHING) -> Response:
    """Cosine similarity of each given item to the first one, in order (0.0 for unknown items, and for items the
    exclude or include list rules out)."""
    model = ready_model(state, VECTORS, "/similarityToItem")
    ids = path_ids(request)
    if not ids:
        raise NotFound("no item ID given")
    to_item, *items = ids
    vectors = model.item_vectors(ids)
    if vectors[0] is None:
        raise unknown_item(model, to_item)
    result = []
    for item, vector in zip(items, vectors[1:], strict=True):
        value = 0.0 if vector is None or not selection.allows(item) else cosine(vector, vectors[0])
        if not math.isfinite(value):
            raise ArithmeticError("Bad similarity")
        result.append(value)
    return formats.values(request, result)
