"""Explanation endpoints: /because and /mostSurprising."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from serving import formats
from serving.openapi import ID_VALUES, QUERY_ERRORS
from serving.params import HowMany, Offset, State, exact_ids, paging, ready_model
from serving.vector_model import VECTORS, cosine, dot, unknown_item, unknown_user

router = APIRouter(tags=["explain"], responses={**ID_VALUES, **QUERY_ERRORS})


@router.get("/because/{userAndItem:path}")
def because(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0") -> Response:
    """The user's known items most similar (cosine) to the item, most similar first; 404 for an unknown user or item."""
    n, skip = paging(howMany, offset)
    model = ready_model(state, VECTORS, "/because")
    user, item = exact_ids(request, 2)
    item_vector = model.item_vector(item)
    if item_vector is None:
        raise unknown_item(model, item)
    if model.user_vector(user) is None:
        raise unknown_user(model, user)
    scored = [(known, cosine(vector, item_vector)) for known, vector in model.known_item_vectors(user)]
    scored.sort(key=lambda kv: -kv[1])
    return formats.id_values(request, scored[skip : skip + n])


@router.get("/mostSurprising/{userID:path}")
def most_surprising(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0") -> Response:
    """The user's known items with the lowest estimated strength (dot product), least expected first."""
    n, skip = paging(howMany, offset)
    model = ready_model(state, VECTORS, "/mostSurprising")
    (user,) = exact_ids(request, 1)
    xu = model.user_vector(user)
    if xu is None:
        raise unknown_user(model, user)
    scored = [(known, dot(xu, vector)) for known, vector in model.known_item_vectors(user)]
    scored.sort(key=lambda kv: kv[1])
    return formats.id_values(request, scored[skip : skip + n])
