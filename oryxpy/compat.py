"""Compatibility with the released Oryx 2.8.0 on shared Kafka topics: checks of the settings, warned at startup.

A mixed deployment (an Oryx 2.8 serving or speed layer reading the update topic our batch writes, or Oryx's
/pref and /ingest writing the input topic ours read) works with the defaults. These settings break it:

* ``oryx.batch.publish-vectors = false``: Oryx loads vectors only from UP messages (it reads just the PMML of a
  MODEL-REF), so its serving layer never becomes ready (/ready stays 503);
* an update-topic retention shorter than two batch intervals: a restarted Oryx layer finds no whole model;
* a PMML version after 4.3 (a model not written by us): JPMML 1.3.9 in Oryx 2.8.0 rejects it and answers 500.

``check(config)`` lists the problems; ``warn_at_startup(config, layer)`` logs them once per layer start. Only Kafka
topics can be shared, so embedded topics are never checked; ``oryx.compat.oryx-layers = false`` turns it off.
"""

from __future__ import annotations

import logging

from oryxpy.config import Config
from oryxpy.pmml import pmml_version

log = logging.getLogger(__name__)

#: The newest PMML version the released Oryx 2.8.0 reads (JPMML 1.3.9).
ORYX_PMML_VERSION = "4.3"
EMBEDDED = "embedded"


def _is_kafka(broker: object) -> bool:
    return isinstance(broker, str) and broker != EMBEDDED


def check(config: Config) -> list[str]:
    """What in ``config`` stops an Oryx 2.8 layer from sharing its Kafka topics (empty when nothing does)."""
    settings = config.settings
    if not settings.compat.oryx_layers or not _is_kafka(settings.update_topic.broker):
        return []
    problems = []
    if not settings.batch.publish_vectors:
        problems.append(
            "oryx.batch.publish-vectors = false: an Oryx 2.8 serving or speed layer on update topic "
            f"{settings.update_topic.message.topic} gets no vectors (it reads only the PMML of a model) "
            "and never becomes ready; set it to true when an Oryx layer shares the topic")
    interval_ms = settings.batch.streaming.generation_interval_sec * 1000
    retention_ms = settings.update_topic.retention_ms
    if retention_ms < 2 * interval_ms:
        problems.append(
            f"oryx.update-topic.retention-ms = {retention_ms} is under two batch intervals ({2 * interval_ms} ms): "
            "a restarted Oryx 2.8 layer can find the update topic without a whole model (MODEL and its UPs)")
    return problems


def check_model(pmml: str) -> str | None:
    """Why an Oryx 2.8 layer cannot load this model (None when it can): a PMML version newer than 4.3."""
    version = pmml_version(pmml)
    if version is None:
        return None
    try:
        newer = tuple(map(int, version.split("."))) > tuple(map(int, ORYX_PMML_VERSION.split(".")))
    except ValueError:
        return f"the model declares PMML version {version!r}, which Oryx 2.8 does not know"
    if newer:
        return (f"the model is PMML {version}; Oryx 2.8 reads PMML up to {ORYX_PMML_VERSION} and answers 500 "
                "until a model it can read arrives")
    return None


def warn_at_startup(config: Config, layer: str) -> list[str]:
    """Log each compatibility problem of ``config`` as a warning naming the layer; returns them."""
    problems = check(config)
    for problem in problems:
        log.warning("%s layer: Oryx 2.8 compatibility: %s (oryx.compat.oryx-layers = false silences this)",
                    layer, problem)
    return problems
