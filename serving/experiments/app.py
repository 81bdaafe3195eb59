"""The serving app of an A/B test: one model manager and update consumer per variant behind one REST API.

``create_serving_app(config)`` is what the serving layer runs: the plain app when oryx.serving.experiment.variants
is unset, else the plain app around a :class:`VariantManager`, with the assignment middleware, the served-items
producer, the experiment consumer, ``GET /experiment`` and ``oryx_experiment_*`` gauges on /metrics.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client.core import GaugeMetricFamily, Metric

from oryxpy.analytics.consumer import ExperimentConsumer, encode_served, open_served_producer
from oryxpy.analytics.experiment import ExperimentAnalysis
from oryxpy.config import Config
from oryxpy.errors import ConfigError, NotFound
from oryxpy.interfaces import ServingModelManager, instantiate
from serving import dashboard_data
from serving.app import MANAGER_KEY, context_prefix, create_app
from serving.experiments.routing import ExperimentMiddleware, VariantManager
from serving.experiments.variants import Variant, variant_config, variants_of
from serving.update_consumer import UpdateConsumer

log = logging.getLogger(__name__)

UPDATE_TOPIC_KEY = "oryx.update-topic.message.topic"

router = APIRouter(tags=["experiment"])


@router.get("/experiment")
def experiment(request: Request) -> JSONResponse:
    """The A/B test: per variant exposures, conversions, conversion rate with its interval, the two-proportion test
    against the control, and the winner (null while none is declared)."""
    analysis: ExperimentAnalysis | None = request.app.state.oryx.extras.get("experiment")
    if analysis is None:
        raise NotFound("no A/B test is configured (oryx.serving.experiment.variants is unset)")
    return JSONResponse(analysis.results())


class ExperimentCollector:
    """oryx_experiment_{exposures,conversions,rate,rate_low,rate_high,p_value}{variant} on each scrape."""

    def __init__(self, analysis: ExperimentAnalysis):
        self.analysis = analysis

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        rows = self.analysis.results()["variants"]
        fields = {"exposures": "served lists", "conversions": "served lists converted within the window",
                  "rate": "conversion rate", "rate_low": "lower bound of the rate's interval",
                  "rate_high": "upper bound of the rate's interval", "p_value": "two-sided p-value against the control"}
        for field, doc in fields.items():
            family = GaugeMetricFamily(f"oryx_experiment_{field}", f"A/B test: {doc}", labels=["variant"])
            for row in rows:
                value = {"rate_low": row["interval"][0], "rate_high": row["interval"][1]}.get(field, row.get(field))
                if value is not None:
                    family.add_metric([row["name"]], float(value))
            yield family


def create_serving_app(config: Config) -> FastAPI:
    """The serving layer's app, with an A/B test when oryx.serving.experiment.variants is set, and the dashboard's
    input statistics."""
    variants = variants_of(config)
    app = create_experiment_app(config, variants) if variants else create_app(config)
    dashboard_data.install(app, config)
    return app


def variant_manager(config: Config, variant: Variant) -> ServingModelManager:
    """The model manager of one variant, of the class its config names; ConfigError naming the variant and the key."""
    try:
        manager: ServingModelManager = instantiate(config.settings.serving.model_manager_class, MANAGER_KEY, config,
                                                   ServingModelManager)
    except ConfigError as exc:
        raise ConfigError(f"A/B test variant {variant.name!r}: {exc}") from exc
    return manager


def create_experiment_app(config: Config, variants: list[Variant],
                          managers: dict[str, ServingModelManager] | None = None, *,
                          consume_updates: bool = True) -> FastAPI:
    """The app of an A/B test. Each variant's model manager is the class its own config names (the main config for
    the control, its variant-conf-dir file on top for the others: serving.experiments.variants.variant_config);
    ``managers`` (tests) replaces them."""
    control = variants[0]
    config = config.with_overrides({UPDATE_TOPIC_KEY: control.update_topic}, "experiment control")
    if managers is None:
        managers = {v.name: variant_manager(variant_config(config, v, v is control), v) for v in variants}
    proxy = VariantManager(variants, managers)
    app = create_app(config, proxy, consume_updates=consume_updates)
    state = app.state.oryx
    experiment = config.settings.serving.experiment
    analysis = ExperimentAnalysis([v.name for v in variants], experiment.conversion_window_s, experiment.significance,
                                  experiment.confidence)
    state.extras["experiment"] = analysis
    state.extras["experiment_variants"] = variants
    holder: dict[str, Any] = {}

    def publish(record: dict[str, Any]) -> None:
        producer = holder.get("producer")
        if producer is not None:
            producer.send(*encode_served(record))

    app.include_router(router, prefix=context_prefix(config))
    app.add_middleware(ExperimentMiddleware, variants=variants, prefix=context_prefix(config), publish=publish)
    app.state.metrics_registry.register(ExperimentCollector(analysis))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with inner(app_):
            started: list[Any] = []
            try:
                if consume_updates and config.settings.update_topic.broker is not None:
                    for variant in variants[1:]:
                        own = config.with_overrides({UPDATE_TOPIC_KEY: variant.update_topic}, f"variant {variant.name}")
                        consumer = UpdateConsumer(own, managers[variant.name])
                        state.extras[f"update_consumer:{variant.name}"] = consumer
                        consumer.start()
                        started.append(consumer)
                if config.settings.input_topic.broker:
                    holder["producer"] = open_served_producer(config)
                    watcher = ExperimentConsumer(config, analysis)
                    state.extras["experiment_consumer"] = watcher
                    watcher.start()
                    started.append(watcher)
                else:
                    log.warning("oryx.input-topic.broker is unset: served lists are not published nor analysed")
                yield
            finally:
                for worker in reversed(started):
                    worker.stop()
                producer = holder.pop("producer", None)
                if producer is not None:
                    producer.close()

    app.router.lifespan_context = lifespan
    return app
