"""What the dashboard draws, gathered in one JSON document: input statistics, generations and their evaluation
metrics, speed-layer lag, model size and load state, the A/B test, and the batch and speed layers' own metrics."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from oryxpy.config import Config
from serving.metrics import model_stats

log = logging.getLogger(__name__)

MAX_GENERATIONS = 60
CACHE_S = 2.0

_lock = threading.Lock()
_metrics_of: dict[str, dict[str, Any]] = {}  # generation URI -> its metrics.json summary (written once, never changes)
_cached: dict[str, tuple[float, Any]] = {}


def _cache(key: str, compute: Any) -> Any:
    with _lock:
        hit = _cached.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
    try:
        value = compute()
    except Exception as exc:  # the dashboard shows what it can; the reason for the rest
        log.debug("dashboard: %s unavailable", key, exc_info=True)
        value = {"error": str(exc)}
    with _lock:
        _cached[key] = (time.monotonic(), value)
    return value


def generations(config: Config) -> list[dict[str, Any]]:
    """Each generation in the model directory (its time from its name) with the numeric metrics of its metrics.json."""
    from oryxpy.storage import storage_for

    model_dir = config.model_dir
    storage = storage_for(model_dir, config)
    if not storage.exists(model_dir):
        return []
    names = sorted((u for u in storage.list(model_dir) if u.rstrip("/").rsplit("/", 1)[-1].isdigit()),
                   key=lambda u: int(u.rstrip("/").rsplit("/", 1)[-1]))[-MAX_GENERATIONS:]
    out = []
    for uri in names:
        summary = _metrics_of.get(uri)
        if summary is None:
            summary = {}
            metrics_uri = uri.rstrip("/") + "/metrics.json"
            if storage.exists(metrics_uri):
                report = json.loads(storage.read_text(metrics_uri))
                summary = {k: v for k, v in (report.get("metrics") or {}).items()
                           if isinstance(v, int | float) and not isinstance(v, bool)}
            _metrics_of[uri] = summary
        out.append({"generation": int(uri.rstrip("/").rsplit("/", 1)[-1]), "metrics": summary})
    return out


def speed_lag(config: Config) -> dict[str, Any]:
    """Input messages the speed layer has not processed: the input topic's end offsets minus its group's committed
    offsets (read without joining the group)."""
    from oryxpy.topics import is_embedded, open_consumer

    group = config.group_id("SpeedLayer")
    if not config.settings.input_topic.broker:
        return {"error": "no input topic"}
    if is_embedded(config, "input"):
        with open_consumer(config, "input", group, "latest") as consumer:
            ends, positions = consumer.end_offsets(), consumer.positions()
    else:
        from kafka import KafkaAdminClient

        from oryxpy.topics import topic_name

        admin = KafkaAdminClient(bootstrap_servers=config.settings.input_topic.broker, request_timeout_ms=5000)
        try:
            committed = admin.list_consumer_group_offsets(group)
        finally:
            admin.close()
        topic = topic_name(config, "input")
        positions = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic}
        with open_consumer(config, "input", None, "latest") as consumer:
            consumer.wait_ready(5)
            ends = consumer.end_offsets()
    return {"group": group, "lag": sum(max(0, end - positions.get(p, 0)) for p, end in ends.items()),
            "input_end": sum(ends.values())}


def dashboard_data(state: Any) -> dict[str, Any]:
    config: Config = state.config
    extras = state.extras
    traffic = extras.get("traffic")
    experiment = extras.get("experiment")
    layers = extras.get("layer_metrics")
    model: dict[str, Any]
    try:
        model = model_stats(state)
    except Exception as exc:  # noqa: BLE001 - the model may be swapped while read
        model = {"error": str(exc)}
    return {
        "time": time.time(),
        "not_ready_reason": state.not_ready_reason(),
        "model": model,
        "traffic": traffic.snapshot() if traffic is not None else None,
        "generations": _cache(f"generations:{config.model_dir}", lambda: generations(config)),
        "speed": _cache(f"speed:{config.group_id('SpeedLayer')}", lambda: speed_lag(config)),
        "experiment": experiment.results() if experiment is not None else None,
        "layers": layers() if callable(layers) else None,
    }


def scrape_layers(urls: list[str]) -> dict[str, Any]:
    """The oryx_* samples of each batch or speed layer Prometheus endpoint: {url: {sample name{labels}: value}}."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, Any] = {}
    for url in urls:
        try:
            text = httpx.get(url, timeout=2.0).text
            samples = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name.startswith("oryx_"):
                        labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                        samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
            out[url] = samples
        except Exception as exc:  # noqa: BLE001 - a layer that is down is shown as such
            out[url] = {"error": str(exc)}
    return out


def install(app: Any, config: Config) -> None:
    """Feed the dashboard: a TrafficConsumer on the input topic for the app's lifetime (oryx.serving.dashboard.*)."""
    from contextlib import asynccontextmanager

    from oryxpy.analytics.traffic import TrafficConsumer, TrafficStats

    state = app.state.oryx
    dashboard = config.settings.serving.dashboard
    urls = [u.strip() for u in (dashboard.layer_metrics_urls or "").split(",") if u.strip()]
    if urls:
        state.extras["layer_metrics"] = lambda: _cache("layers", lambda: scrape_layers(urls))
    if not dashboard.enabled or not config.settings.input_topic.broker:
        return
    stats = TrafficStats()
    state.extras["traffic"] = stats
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> Any:
        consumer = TrafficConsumer(config, stats)
        consumer.start()
        try:
            async with inner(app_):
                yield
        finally:
            consumer.stop()

    app.router.lifespan_context = lifespan
