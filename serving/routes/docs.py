"""/docs without internet: Swagger UI from the files the `swagger-ui-bundle` package ships, loading the app's own
openapi.json; every URL is relative, so the context path holds."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_swagger_ui_html
from swagger_ui_bundle import swagger_ui_path

router = APIRouter()

HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
ASSETS = {  # URL name: (file in the package, media type)
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-favicon.png": ("favicon-32x32.png", "image/png"),
}


@cache
def _asset(name: str) -> bytes:
    data: bytes = (swagger_ui_path / ASSETS[name][0]).read_bytes()
    return data


@router.get("/docs", include_in_schema=False)
async def docs() -> Response:
    """Swagger UI for this API, served from bundled files."""
    return get_swagger_ui_html(openapi_url="openapi.json", title="oryxpy serving layer - Swagger UI",
                               swagger_js_url="swagger-ui-bundle.js", swagger_css_url="swagger-ui.css",
                               swagger_favicon_url="swagger-favicon.png")


def _serve(name: str) -> object:
    async def asset() -> Response:
        return Response(_asset(name), media_type=ASSETS[name][1], headers=HEADERS)
    return asset


for _name in ASSETS:
    router.add_api_route(f"/{_name}", _serve(_name), methods=["GET"], include_in_schema=False,  # type: ignore[arg-type]
                         response_class=Response)
