"""Readiness endpoint: /ready answers 200 once the model is loaded to min-model-load-fraction, 503 before."""

from __future__ import annotations

from fastapi import APIRouter, Response

from serving.params import State, ready_model

router = APIRouter(tags=["ready"])


@router.get("/ready")
def ready(state: State) -> Response:
    """200 with an empty body when the model is ready, 503 otherwise."""
    ready_model(state)
    return Response(status_code=200)


router.add_api_route("/ready", ready, methods=["HEAD"], operation_id="ready_head", summary="Ready (HEAD)")
