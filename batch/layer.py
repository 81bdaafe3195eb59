"""The batch layer's entry: build the runner from config and run generations until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from batch.runner import BatchRunner
from oryxpy import compat
from oryxpy.analytics import layer_metrics
from oryxpy.config import Config

log = logging.getLogger(__name__)


def run(config: Config) -> None:
    """Run the batch layer in the foreground; returns after a signal, once the current generation has finished."""
    compat.warn_at_startup(config, "batch")
    if config.settings.batch.engine == "spark":
        from batch.spark.submit import run as run_on_spark

        return run_on_spark(config)
    runner = BatchRunner(config)
    layer_metrics.serve(config, "batch", runner)  # Prometheus on oryx.batch.metrics-port, when set

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("batch layer: signal %d, stopping after the current generation", signum)
        runner.stop()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
    try:
        runner.run()
    finally:
        runner.close()
        log.info("batch layer stopped")
