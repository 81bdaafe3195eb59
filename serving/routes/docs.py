"""/docs without internet: Swagger UI from files bundled in serving/static (swagger-ui-dist, see
SWAGGER-UI-LICENSE.txt there), loading the app's own openapi.json; every URL is relative, so the context path holds."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_swagger_ui_html

router = APIRouter()

STATIC = Path(__file__).resolve().parent.parent / "static"
HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "swagger-favicon.png": "image/png"}


@cache
def _asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/docs", include_in_schema=False)
async def docs() -> Response:
    """Swagger UI for this API, served from bundled files."""
    return get_swagger_ui_html(openapi_url="openapi.json", title="oryxpy serving layer - Swagger UI",
                               swagger_js_url="swagger-ui-bundle.js", swagger_css_url="swagger-ui.css",
                               swagger_favicon_url="swagger-favicon.png")


def _serve(name: str) -> object:
    async def asset() -> Response:
        return Response(_asset(name), media_type=ASSETS[name], headers=HEADERS)
    return asset


for _name in ASSETS:
    router.add_api_route(f"/{_name}", _serve(_name), methods=["GET"], include_in_schema=False,  # type: ignore[arg-type]
                         response_class=Response)
