"""The console: one static HTML page with a form for every endpoint, and its script."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response

router = APIRouter()

STATIC = Path(__file__).resolve().parent.parent / "static"
HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "public", "X-Content-Type-Options": "nosniff"}


@cache
def static_asset(name: str) -> bytes:
    """A file of serving/static, read once (the console's and the dashboard's pages and scripts)."""
    return (STATIC / name).read_bytes()


@router.get("/", response_class=Response, responses={200: {"content": {"text/html": {}}}})
async def console() -> Response:
    """The console page: a form for every endpoint, showing results and errors."""
    return Response(static_asset("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/index.html", response_class=Response, include_in_schema=False)
async def console_index() -> Response:
    """The console page under its file name."""
    return await console()


@router.get("/console.js", response_class=Response, include_in_schema=False)
async def console_script() -> Response:
    """The console's script."""
    return Response(static_asset("console.js"), media_type="text/javascript; charset=utf-8", headers=HEADERS)
