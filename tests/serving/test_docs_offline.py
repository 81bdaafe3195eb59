"""/docs works with no internet (issue 17): Swagger UI from bundled files, checked in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from tests.conftest import embedded_config_at
from tests.serving.io_support import io_app, serve_in_thread
from tests.serving.test_io_console import browser  # noqa: F401 - the headless Chromium fixture

CONTEXT = {"oryx.serving.api.context-path": "/oryx"}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **CONTEXT)


def test_docs_page_references_only_bundled_files(config: Config) -> None:
    with TestClient(io_app(config)) as client:
        page = client.get("/oryx/docs")
        assert page.status_code == 200
        assert "cdn.jsdelivr" not in page.text and "https://" not in page.text.replace("https://fastapi.tiangolo.com", "")
        for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css"), ("swagger-favicon.png", "png")):
            assert f'"{asset}"' in page.text or f"'{asset}'" in page.text
            r = client.get(f"/oryx/{asset}")
            assert r.status_code == 200 and kind in r.headers["content-type"] and len(r.content) > 500
        assert "/docs" not in client.get("/oryx/openapi.json").json()["paths"]


@pytest.fixture
def live_url(config: Config) -> Iterator[str]:
    with serve_in_thread(io_app(config), "/oryx") as url:
        yield url


def test_docs_render_offline_in_headless_chromium(browser: object, live_url: str) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # any CDN and every https URL are unreachable: Swagger UI renders only if its files come from this server
    browser.execute_cdp_cmd("Network.enable", {})  # type: ignore[attr-defined]
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*cdn*", "https://*", "*unpkg*"]})  # type: ignore[attr-defined]
    browser.get(f"{live_url}/docs")  # type: ignore[attr-defined]
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 10)
    paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}  # type: ignore[attr-defined]
    assert any(p.startswith("/oryx/recommend/") for p in paths), paths
    assert {"/oryx/mostPopularItems", "/oryx/dashboard"} <= paths, paths
