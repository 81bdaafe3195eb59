"""The batch and speed layers' own Prometheus endpoints (oryx.batch.metrics-port, oryx.speed.metrics-port).

Speed: its counters (records, bad records, batches, UPs published...) and the fold-in latency (seconds the model
manager took to turn one input batch into updates, and per record). Batch: generations built and their duration.
The dashboard shows them (oryx.serving.dashboard.layer-metrics-urls).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, Metric

from oryxpy.config import Config

log = logging.getLogger(__name__)

FOLD_IN_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
GENERATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class _Fields:
    """Every numeric field of ``counters_of()`` (a dataclass) as oryx_<layer>_<field>_total."""

    def __init__(self, layer: str, counters_of: Callable[[], Any]):
        self.layer, self.counters_of = layer, counters_of

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        counters = self.counters_of()
        is_instance = dataclasses.is_dataclass(counters) and not isinstance(counters, type)
        values = dataclasses.asdict(counters) if is_instance else dict(counters)
        for name, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield CounterMetricFamily(f"oryx_{self.layer}_{name}", f"{self.layer} layer: {name.replace('_', ' ')}",
                                          value=value)


def _timed(method: Callable[..., Any], observe: Callable[[float, Any, Any], None]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = method(*args, **kwargs)
        observe(time.perf_counter() - started, args, result)
        return result
    return wrapper


def serve(config: Config, layer: str, target: Any) -> Any:
    """Start ``layer``'s ('batch' or 'speed') endpoint for ``target`` (a BatchRunner or SpeedLayer) when its port is
    set; returns the HTTP server (``shutdown()`` stops it) or None."""
    settings = config.settings
    port = settings.speed.metrics_port if layer == "speed" else settings.batch.metrics_port
    if port is None:
        return None
    registry = CollectorRegistry(auto_describe=False)
    if layer == "speed":
        batch_s = Histogram("oryx_speed_fold_in_batch_seconds", "seconds to turn one input batch into updates",
                            buckets=FOLD_IN_BUCKETS, registry=registry)
        record_s = Histogram("oryx_speed_fold_in_record_seconds", "seconds per input record of a batch (batch time / records)",
                             buckets=FOLD_IN_BUCKETS, registry=registry)
        registry.register(_Fields("speed", lambda: target.counters))

        def observe_batch(seconds: float, args: Any, result: Any) -> None:
            batch_s.observe(seconds)
            records = len(args[0]) if args else 0
            if records:
                record_s.observe(seconds / records)
        target.manager.build_updates = _timed(target.manager.build_updates, observe_batch)
    else:
        duration = Histogram("oryx_batch_generation_seconds", "seconds one generation took (store, build, publish)",
                             buckets=GENERATION_BUCKETS, registry=registry)
        registry.register(_Fields("batch", lambda: {"generations": target.generations}))
        target.run_generation = _timed(target.run_generation, lambda s, a, r: duration.observe(s))
    host = settings.layers.metrics_host
    server, _ = start_http_server(port, addr=host, registry=registry)
    log.info("%s layer metrics on http://%s:%d/metrics", layer, host, server.server_port)
    return server
