"""GET /metrics: the app's Prometheus metrics in the text exposition format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

router = APIRouter()


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Request counts and latencies per route, model size and update-topic lag, for Prometheus."""
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    body = generate_latest(registry) if registry is not None else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
