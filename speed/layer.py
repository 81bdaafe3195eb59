"""Entry of the speed layer: ``run(config)`` runs until SIGINT or SIGTERM, then shuts down gracefully."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from threadpoolctl import threadpool_limits

from oryxpy import compat
from oryxpy.analytics import layer_metrics
from oryxpy.config import Config
from speed.runner import SpeedLayer

log = logging.getLogger(__name__)


def run(config: Config) -> None:
    """Run the speed layer; on SIGINT/SIGTERM finish the batch in progress, commit it and return."""
    # One BLAS thread: fold-in works on small matrices, where BLAS threads cost more than they give, and the
    # background X'X / Y'Y recomputation then uses the other core instead of competing for both.
    threadpool_limits(1, user_api="blas")
    compat.warn_at_startup(config, "speed")
    layer = SpeedLayer(config)
    layer_metrics.serve(config, "speed", layer)  # Prometheus on oryx.speed.metrics-port, when set

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("Signal %s received; stopping the speed layer", signal.Signals(signum).name)
        threading.Thread(target=layer.stop, name="speed-layer-stop", daemon=True).start()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        layer.start()
        layer.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        layer.stop()
    log.info("Speed layer stopped: %s", layer.counters)
