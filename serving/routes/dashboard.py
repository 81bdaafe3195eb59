"""The live dashboard: a page beside the console, its script (no CDN: charts are drawn as SVG by the script), and
the JSON it polls."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from serving.dashboard_data import dashboard_data
from serving.routes.console import static_asset

router = APIRouter(tags=["dashboard"])

HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@router.get("/dashboard", response_class=Response, responses={200: {"content": {"text/html": {}}}})
async def dashboard() -> Response:
    """The dashboard page: input rate, distinct users and items, top items, generations and their evaluation,
    speed-layer lag, the model, the A/B test."""
    return Response(static_asset("dashboard.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/dashboard.js", response_class=Response, include_in_schema=False)
async def dashboard_script() -> Response:
    return Response(static_asset("dashboard.js"), media_type="text/javascript; charset=utf-8", headers=HEADERS)


@router.get("/dashboard/data")
def dashboard_json(request: Request) -> JSONResponse:
    """Everything the dashboard draws, as one JSON document."""
    return JSONResponse(dashboard_data(request.app.state.oryx), headers={"Cache-Control": "no-cache"})
