"""The most-popular model's own endpoint, served when ``oryx.serving.application-resources`` names this module
(``"...,popular.routes"``): GET /popularity/{itemID} answers the item's score as of now."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from oryxpy.errors import NotFound
from popular.serving import PopularServingModel
from serving import formats
from serving.models import Capability
from serving.openapi import QUERY_ERRORS, VALUE
from serving.params import State, exact_ids, ready_model

router = APIRouter(tags=["popular model"])
POPULAR: Capability[PopularServingModel] = Capability(PopularServingModel, "most-popular model")


@router.get("/popularity/{itemID:path}", responses={**VALUE, **QUERY_ERRORS})
def popularity(request: Request, state: State) -> Response:
    """The item's time-decayed score as of now; 404 for an item the model does not rank."""
    model = ready_model(state, POPULAR, "/popularity")
    [item] = exact_ids(request, 1)
    score = model.score_now(item)
    if score is None:
        raise NotFound(f"unknown item '{item}'")
    return formats.value(request, score)
