"""Readiness endpoint: /ready answers 200 once the update topic is replayed and the model is loaded, 503 before."""

from __future__ import annotations

from fastapi import APIRouter, Response

from oryxpy.errors import ModelNotReady
from serving.openapi import NOT_READY, Responses
from serving.params import State

_READY: Responses = {200: {"description": "the model is ready (empty body)"}}
router = APIRouter(tags=["ready"], responses={**_READY, **NOT_READY})


@router.get("/ready")
def ready(state: State) -> Response:
    """200 with an empty body when the model is ready, 503 saying why otherwise."""
    reason = state.not_ready_reason()
    if reason is not None:
        raise ModelNotReady(reason)
    return Response(status_code=200)


router.add_api_route("/ready", ready, methods=["HEAD"], operation_id="ready_head", summary="Ready (HEAD)")
