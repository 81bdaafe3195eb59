"""Runs the serving layer: the REST API on uvicorn (HTTP on port, or HTTPS on secure-port), stopped gracefully by signals."""

from __future__ import annotations

import logging

import pyarrow as pa
import threadpoolctl
import uvicorn

from oryxpy import compat
from oryxpy.config import Config
from oryxpy.errors import ConfigError, OryxError
from oryxpy.malloc import single_malloc_arena
from serving.app import context_prefix
from serving.experiments.app import create_serving_app
from serving.limits import server_limits

log = logging.getLogger(__name__)


def server_config(config: Config) -> uvicorn.Config:
    """uvicorn settings from oryx.serving.api.*: HTTPS on secure-port when cert-file and key-file are set."""
    api = config.settings.serving.api
    cert, key = api.cert_file, api.key_file
    if bool(cert) != bool(key):
        raise ConfigError("oryx.serving.api.cert-file and oryx.serving.api.key-file must be set together")
    secure = bool(cert)
    return uvicorn.Config(
        create_serving_app(config),  # the plain app, or an A/B test's (oryx.serving.experiment.variants)
        host=api.host,
        port=api.secure_port if secure else api.port,
        ssl_certfile=cert if secure else None,
        ssl_keyfile=key if secure else None,
        lifespan="on",
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=10,
        **server_limits(config),
    )


def prepare_process(config: Config) -> None:
    """Process-wide settings of a serving process, made before it loads a model.

    BLAS threads are capped: concurrent requests, not one request's matrix product, should use the cores. Memory is
    kept close to what the model holds: Arrow allocates from the C library's allocator, not its default mimalloc pool,
    which kept part of a model load's freed buffers (1M items x 50, 500k users, ``bench_model_load.py``: RSS growth
    1.42-1.43x raw float32 in most runs against 1.49-1.53x), and glibc's malloc keeps one arena. ``oryxpy serving``
    sets both before numpy and Arrow load (``oryxpy.malloc``), which also covers Arrow's internal buffers and threads
    started by imports.
    """
    threads = config.settings.serving.blas_threads
    if threads > 0:
        threadpoolctl.threadpool_limits(threads, user_api="blas")
    pa.set_memory_pool(pa.system_memory_pool())
    single_malloc_arena()


def run(config: Config) -> None:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests and stop the update consumer."""
    prepare_process(config)
    compat.warn_at_startup(config, "serving")
    uv = server_config(config)
    scheme = "https" if uv.ssl_certfile else "http"
    log.info("serving layer on %s://%s:%d%s", scheme, uv.host, uv.port, context_prefix(config) or "/")
    server = uvicorn.Server(uv)
    server.run()
    if not server.started:
        raise OryxError(f"the serving layer could not start on {uv.host}:{uv.port} (see the log above)")
