"""ID listing endpoints: /knownItems, /item/allIDs and /user/allIDs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from serving import formats
from serving.params import State, exact_ids, ready_model

router = APIRouter(tags=["ids"])


@router.get("/knownItems/{userID:path}")
def known_items(request: Request, state: State) -> Response:
    """The items the user is known to have interacted with ([] for an unknown user)."""
    model = ready_model(state)
    (user,) = exact_ids(request, 1)
    return formats.ids(request, list(model.known_items(user)))


@router.get("/item/allIDs")
def all_item_ids(request: Request, state: State) -> Response:
    """Every item ID with a vector."""
    return formats.ids(request, ready_model(state).item_ids())


@router.get("/user/allIDs")
def all_user_ids(request: Request, state: State) -> Response:
    """Every user ID with a vector."""
    return formats.ids(request, ready_model(state).user_ids())
