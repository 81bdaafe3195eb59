"""``oryxpy run`` with an A/B test: a batch and a speed layer per extra variant, beside the main three layers.

The control (first variant) is the main system: its update topic must be oryx.update-topic.message.topic. Each
other variant gets its own batch and speed layers, reading the same input topic under its own consumer groups
(oryx.id suffixed with the variant name), storing under its own data and model directories (the main ones suffixed
with ``-<variant>``), publishing to its own update topic, with the keys of
``<oryx.serving.experiment.variant-conf-dir>/<variant>.toml`` on top (for example another update class).
"""

from __future__ import annotations

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.identity import resolve_identity
from serving.experiments.variants import KEY, variant_overrides, variants_of

UPDATE_TOPIC_KEY = "oryx.update-topic.message.topic"
VARIANT_LAYERS = ("batch", "speed")


def variant_configs(config: Config) -> dict[str, Config]:
    """The config of each variant after the control, by variant name (empty without an A/B test)."""
    variants = variants_of(config)
    if not variants:
        return {}
    update_topic = config.settings.update_topic.message.topic
    if variants[0].update_topic != update_topic:
        raise ConfigError(f"{KEY}: the control {variants[0].name!r} reads update topic {variants[0].update_topic!r}, "
                          f"but the main batch and speed layers publish to {UPDATE_TOPIC_KEY} = "
                          f"{update_topic!r}; make them the same")
    base_id = resolve_identity(config).settings.id
    out = {}
    for variant in variants[1:]:
        overrides = variant_overrides(config, variant)
        overrides.setdefault("oryx.batch.storage.data-dir", f"{config.data_dir.rstrip('/')}-{variant.name}")
        overrides.setdefault("oryx.batch.storage.model-dir", f"{config.model_dir.rstrip('/')}-{variant.name}")
        for port_key in ("oryx.batch.metrics-port", "oryx.speed.metrics-port"):
            overrides.setdefault(port_key, None)  # the main layers' ports are taken: only the variant's own file sets them
        overrides[UPDATE_TOPIC_KEY] = variant.update_topic
        overrides["oryx.id"] = f"{base_id}-{variant.name}"
        out[variant.name] = config.with_overrides(overrides, f"variant {variant.name}")
    return out


def variant_layers(config: Config) -> list[tuple[str, str, Config]]:
    """(child name, layer, config) of every extra layer: ``batch-<variant>``, ``speed-<variant>``."""
    return [(f"{layer}-{name}", layer, own) for name, own in variant_configs(config).items() for layer in VARIANT_LAYERS]
