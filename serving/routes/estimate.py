"""Estimate endpoints: /estimate and /estimateForAnonymous."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response

from oryxpy.errors import NotFound
from serving import formats
from serving.openapi import QUERY_ERRORS, VALUE, VALUES
from serving.params import State, path_id_values, path_ids, ready_model
from serving.vector_model import VECTORS, dot, fold_in, unknown_item, unknown_user

router = APIRouter(tags=["estimate"], responses=QUERY_ERRORS)


@router.get("/estimate/{userAndItems:path}", responses=VALUES)
def estimate(request: Request, state: State) -> Response:
    """The user's estimated strength (dot product) for each given item, in order (0.0 for unknown items)."""
    model = ready_model(state, VECTORS, "/estimate")
    ids = path_ids(request)
    if not ids:
        raise NotFound("no user ID given")
    user, *items = ids
    if not items:
        raise NotFound("no item ID given")  # as Oryx, where no route matches /estimate/{user} alone
    xu = model.user_vector(user)
    if xu is None:
        raise unknown_user(model, user)
    result = []
    for vector in model.item_vectors(items):
        value = 0.0 if vector is None else dot(xu, vector)
        if not math.isfinite(value):
            raise ArithmeticError("Bad estimate")
        result.append(value)
    return formats.values(request, result)


@router.get("/estimateForAnonymous/{toItemAndItems:path}", responses=VALUE)
def estimate_for_anonymous(request: Request, state: State) -> Response:
    """Estimated strength for the first item of an anonymous user described by the other items (item or item=strength)."""
    model = ready_model(state, VECTORS, "/estimateForAnonymous")
    ids = path_ids(request)[:1]
    if not ids:
        raise NotFound("no item ID given")
    to_vector = model.item_vector(ids[0])
    if to_vector is None:
        raise unknown_item(model, ids[0])
    xu = fold_in(model, path_id_values(request, start=1), None)
    return formats.value(request, 0.0 if xu is None else dot(xu, to_vector))
