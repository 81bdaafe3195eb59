"""The live dashboard (issue 17): its data after a short ingest, and the page in headless Chromium with screenshots.

Screenshots go to $ORYX_TEST_ARTIFACTS (default: <tmp>/oryxpy-artifacts), outside the repository."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.supervisor import pin_input_positions
from serving import dashboard_data
from serving.als.manager import ALSServingModelManager
from serving.experiments.app import create_experiment_app
from serving.experiments.variants import parse_variants
from tests.conftest import embedded_config_at
from tests.serving import golden
from tests.serving.io_support import serve_in_thread
from tests.serving.test_io_console import browser  # noqa: F401 - the headless Chromium fixture

SPEC = "control:UpdA:50:dash, treatment:UpdB:50"
ARTIFACTS = Path(os.environ.get("ORYX_TEST_ARTIFACTS", Path(tempfile.gettempdir()) / "oryxpy-artifacts"))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.experiment.variants": SPEC, "oryx.id": "dash",
                                                        "oryx.input-topic.partitions": 2})
    pin_input_positions(config)  # as `oryxpy run` does: the speed layer's group starts at the end of the input
    return config


def write_generations(config: Config) -> None:
    """Three generations as the batch layer leaves them: <model-dir>/<millis>/metrics.json."""
    root = Path(config.model_dir.removeprefix("file://"))
    for n, auc in enumerate((0.81, 0.84, 0.86)):
        gen = root / str(1_790_000_000_000 + n * 3_600_000)
        gen.mkdir(parents=True)
        (gen / "metrics.json").write_text(json.dumps({"hyperparams": {}, "metrics": {"auc": auc, "score": auc}}))


def dashboard_app(config: Config) -> FastAPI:
    managers = {}
    for name in ("control", "treatment"):
        managers[name] = ALSServingModelManager(config, lsh_seed=1)
        golden.load(managers[name])
    app = create_experiment_app(config, parse_variants(SPEC), managers, consume_updates=False)
    dashboard_data.install(app, config)
    return app


def ingest(post: object) -> None:
    lines = "".join(f"user{n % 25},item{n % 7},1\n" for n in range(200))
    assert post("/ingest", content=lines, headers={"Content-Type": "text/csv"}).status_code == 204  # type: ignore[operator]


def test_dashboard_data_after_a_short_ingest(config: Config) -> None:
    write_generations(config)
    with TestClient(dashboard_app(config)) as client:
        page = client.get("/dashboard")
        assert page.status_code == 200 and '<script src="dashboard.js">' in page.text
        script = client.get("/dashboard.js").text
        everything = (page.text + script).replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace, not fetched
        assert "http://" not in everything and "https://" not in everything and "//cdn" not in everything
        ingest(client.post)
        deadline = time.monotonic() + 20
        while (client.get("/dashboard/data").json()["traffic"] or {}).get("total", 0) < 200:
            assert time.monotonic() < deadline, "the dashboard never saw the input"
            time.sleep(0.1)
        client.get("/recommend/U1")
        data = client.get("/dashboard/data").json()
        traffic = data["traffic"]
        assert sum(n for _, n in traffic["input_per_minute"]) == 200
        assert traffic["users_per_hour"][-1][1] == 25 and traffic["items_per_day"][-1][1] == 7
        assert traffic["top_items_last_hour"][0][1] in (29, 28)
        assert [g["metrics"]["auc"] for g in data["generations"]] == [0.81, 0.84, 0.86]
        assert data["model"]["model_present"] == 1.0 and data["model"]["items"] == 9
        while client.get("/dashboard/data").json()["speed"].get("lag") != 200:  # no speed layer: behind by every record
            assert time.monotonic() < deadline + 10, client.get("/dashboard/data").json()["speed"]
            time.sleep(0.2)
        assert [v["name"] for v in data["experiment"]["variants"]] == ["control", "treatment"]


@pytest.fixture
def live_url(config: Config) -> Iterator[str]:
    write_generations(config)
    with serve_in_thread(dashboard_app(config)) as url:
        yield url


def test_dashboard_in_headless_chromium(browser: object, live_url: str) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1400, 1800)  # type: ignore[attr-defined]
    browser.get(f"{live_url}/dashboard")  # type: ignore[attr-defined]
    WebDriverWait(browser, 15).until(lambda d: d.find_element(By.ID, "updated").text != "never")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-before-ingest.png"))  # type: ignore[attr-defined]
    ingest(lambda path, **kw: httpx.post(live_url + path, **kw))
    for user in ("U0", "U1", "U2", "U3"):
        httpx.get(f"{live_url}/recommend/{user}")
    charts = ("chart-rate", "chart-distinct-hour", "chart-distinct-day", "chart-top", "chart-generations", "chart-lag",
              "chart-experiment")

    def points(d: object) -> dict[str, int]:
        return {c: int(d.find_element(By.ID, c).get_attribute("data-points")) for c in charts}  # type: ignore[attr-defined]

    WebDriverWait(browser, 30).until(lambda d: all(n > 0 for n in points(d).values()))
    WebDriverWait(browser, 30).until(lambda d: "200" == d.find_element(By.ID, "total").text)
    shown = points(browser)
    assert shown["chart-top"] == 7 and shown["chart-generations"] == 3 and shown["chart-experiment"] == 2
    drawn = browser.find_elements(By.CSS_SELECTOR, "#chart-top rect")  # type: ignore[attr-defined]
    assert len(drawn) == 7 and float(drawn[0].get_attribute("width")) > 0
    table = browser.find_element(By.ID, "experiment-table").text  # type: ignore[attr-defined]
    assert "control" in table and "treatment" in table and "winner" in table
    assert "ready" in browser.find_element(By.ID, "model-table").text  # type: ignore[attr-defined]
    browser.save_screenshot(str(ARTIFACTS / "dashboard-after-ingest.png"))  # type: ignore[attr-defined]
    assert (ARTIFACTS / "dashboard-after-ingest.png").stat().st_size > 10000
