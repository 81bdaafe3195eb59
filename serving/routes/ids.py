"""ID listing endpoints: /knownItems, /item/allIDs and /user/allIDs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from serving import formats
from serving.models import KNOWN_ITEMS
from serving.openapi import IDS, MODEL_ERRORS, QUERY_ERRORS
from serving.params import State, exact_ids, ready_model

router = APIRouter(tags=["ids"], responses=IDS)


@router.get("/knownItems/{userID:path}", responses=QUERY_ERRORS)
def known_items(request: Request, state: State) -> Response:
    """The items the user is known to have interacted with ([] for an unknown user)."""
    model = ready_model(state, KNOWN_ITEMS, "/knownItems")
    (user,) = exact_ids(request, 1)
    return formats.ids(request, list(model.known_items(user)))


@router.get("/item/allIDs", responses=MODEL_ERRORS)
def all_item_ids(request: Request, state: State) -> Response:
    """Every item ID with a vector."""
    return formats.ids(request, ready_model(state, KNOWN_ITEMS, "/item/allIDs").item_ids())


@router.get("/user/allIDs", responses=MODEL_ERRORS)
def all_user_ids(request: Request, state: State) -> Response:
    """Every user ID with a vector."""
    return formats.ids(request, ready_model(state, KNOWN_ITEMS, "/user/allIDs").user_ids())
