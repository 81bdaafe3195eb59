"""The console at / in headless Chromium: forms build encoded relative URLs and show results and errors."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from tests.conftest import embedded_config_at, require_service
from tests.serving.io_support import io_app, read_input, serve_in_thread, small_model_manager, split_ts

CONTEXT = {"oryx.serving.api.context-path": "/oryx", "oryx.input-topic.partitions": 1}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **CONTEXT)


def test_console_page_headers_and_script(config: Config) -> None:
    with TestClient(io_app(config)) as client:
        for path in ("/oryx/", "/oryx/index.html"):
            page = client.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert page.headers["x-frame-options"] == "SAMEORIGIN" and page.headers["cache-control"] == "public"
            assert '<script src="console.js">' in page.text
        script = client.get("/oryx/console.js")
        assert script.status_code == 200 and "encodeURIComponent" in script.text
        assert "http://" not in page.text + script.text and "https://" not in page.text + script.text  # nothing external
        assert client.get("/oryx/docs").status_code == 200 and client.get("/oryx/openapi.json").status_code == 200


@pytest.fixture
def live_url(config: Config) -> Iterator[str]:
    with serve_in_thread(io_app(config, small_model_manager(config)), "/oryx") as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    driver_path, chromium = shutil.which("chromedriver"), shutil.which("chromium")
    require_service("Chromium and chromedriver (apt-get install chromium chromium-driver)", bool(driver_path and chromium))
    require_service("selenium (pip install selenium)", importlib.util.find_spec("selenium") is not None)
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(driver_path)))
    try:
        yield driver
    finally:
        driver.quit()


def submit(driver: object, form_id: str, fields: dict[str, str]) -> str:
    """Fill and submit one console form; the text shown in the result box once it arrives."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("document.getElementById('result').textContent = ''")  # type: ignore[attr-defined]
    form = driver.find_element(By.ID, form_id)  # type: ignore[attr-defined]
    for name, value in fields.items():
        box = form.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)
    button = form.find_element(By.CSS_SELECTOR, "button[type=submit]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)  # type: ignore[attr-defined]
    button.click()
    WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "result").text not in ("", "…"))
    return str(driver.find_element(By.ID, "result").text)  # type: ignore[attr-defined]


def test_console_in_headless_chromium(browser: object, live_url: str, config: Config) -> None:
    browser.get(f"{live_url}/")  # type: ignore[attr-defined]
    shown = submit(browser, "f0-recommend-get", {"userID": "u1", "howMany": "2"})
    assert shown.strip() == httpx.get(f"{live_url}/recommend/u1?howMany=2").text.strip()
    assert len(shown.strip().splitlines()) == 2
    slash = submit(browser, "f0-recommend-get", {"userID": "a/b", "howMany": "3"})
    assert slash.strip() == httpx.get(f"{live_url}/recommend/a%2Fb?howMany=3").text.strip()
    missing = submit(browser, "f0-recommend-get", {"userID": "nobody"})
    assert missing.startswith("[HTTP Status 404") and "nobody" in missing
    anonymous = submit(browser, "f2-recommendToAnonymous-get", {"itemIDs": "i1=2\nx,y"})
    assert anonymous.strip() == httpx.get(f"{live_url}/recommendToAnonymous/i1=2/x%2Cy").text.strip()
    assert submit(browser, "f17-pref-post", {"userID": "a/b", "itemID": "i 1", "strength": "3"}).startswith("[HTTP Status 204")
    assert submit(browser, "f19-ingest-post", {"lines": "c1,d1,2\nc2,d2"}).startswith("[HTTP Status 204")
    heads = [split_ts(r.value)[0] for r in read_input(config, 3, settle_s=0.1)]
    assert heads == ["a/b,i 1,3.0", "c1,d1,2.0", "c2,d2,1.0"]
