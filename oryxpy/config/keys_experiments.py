"""A/B test keys (serving.experiments: variants, served-items topic, conversion analysis) and the live dashboard's."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.serving.experiment.variants", None,
        "A/B test of model variants, unset for none: comma-separated name:update-topic:weight[:salt] entries, the first "
        "being the control, e.g. 'als:OryxUpdate:50:s1, pop:OryxUpdatePop:50:s1'; each variant is fed by its own update "
        "topic (its own batch and speed layers) and users are assigned by a stable hash of (salt, user)",
        optional=True),
    Key("oryx.serving.experiment.variant-conf-dir", None,
        "oryxpy run with variants: directory of <variant>.toml files, each overriding keys (update class, "
        "hyperparameters) for that variant's own batch and speed layers; unset: every variant uses the main config",
        optional=True),
    Key("oryx.serving.experiment.served-topic", "OryxServed",
        "topic every served list goes to during an A/B test (JSON: user, variant, items, time), on the input broker"),
    Key("oryx.serving.experiment.conversion-window-s", 3600,
        "an input interaction with a served item within this many seconds after it was served counts as a conversion",
        kind="int", minimum=1),
    Key("oryx.serving.experiment.significance", 0.01,
        "two-sided p-value under which a variant is declared to differ from the control (winner or loser)",
        kind="float", minimum=0, maximum=0.5, min_exclusive=True),
    Key("oryx.serving.experiment.confidence", 0.95,
        "confidence level of the conversion-rate intervals (Wilson score)", kind="float", minimum=0.5, maximum=0.999),
    Key("oryx.serving.dashboard.enabled", True,
        "the serving layer reads the input topic (from its end, no consumer group) for the live dashboard's input "
        "rate, distinct users and items, and top items", kind="bool"),
    Key("oryx.serving.dashboard.layer-metrics-urls", None,
        "comma-separated Prometheus endpoints of the batch and speed layers (e.g. http://127.0.0.1:9101/metrics) "
        "whose oryx_* samples the dashboard shows; unset: none", optional=True),
    # the batch and speed layers' own Prometheus endpoints (oryxpy.analytics.layer_metrics), shown by the dashboard
    Key("oryx.batch.metrics-port", None, "port of the batch layer's Prometheus /metrics (generations, their duration); unset: none",
        kind="int", optional=True, minimum=0, maximum=65535),
    Key("oryx.speed.metrics-port", None, "port of the speed layer's Prometheus /metrics (records, batches, fold-in latency); unset: none",
        kind="int", optional=True, minimum=0, maximum=65535),
    Key("oryx.layers.metrics-host", "127.0.0.1", "address the batch and speed layers' Prometheus endpoints listen on"),
]
