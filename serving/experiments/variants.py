"""Variants of an A/B test (oryx.serving.experiment.variants) and the stable assignment of users to them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from oryxpy.config import Config
from oryxpy.config.loader import read_conf_file
from oryxpy.errors import ConfigError

KEY = "oryx.serving.experiment.variants"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Variant:
    name: str
    update_topic: str
    weight: float
    salt: str


def parse_variants(text: str | None) -> list[Variant]:
    """``name:update-topic:weight[:salt]`` entries, comma-separated; the first is the control. [] when unset.
    ConfigError naming the key and the entry for anything malformed."""
    if text is None or not text.strip():
        return []
    variants = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) not in (3, 4):
            raise ConfigError(f"{KEY}: entry {entry!r} is not name:update-topic:weight[:salt]")
        name, topic, weight_text = parts[:3]
        salt = parts[3] if len(parts) == 4 else ""
        if not _NAME.match(name):
            raise ConfigError(f"{KEY}: variant name {name!r} must be 1 to 64 letters, digits, '_', '-' or '.'")
        if not topic:
            raise ConfigError(f"{KEY}: variant {name!r} has no update topic")
        try:
            weight = float(weight_text)
        except ValueError:
            raise ConfigError(f"{KEY}: variant {name!r} has weight {weight_text!r}, not a number") from None
        if not weight >= 0 or weight == float("inf"):
            raise ConfigError(f"{KEY}: variant {name!r} has weight {weight_text!r}; weights must be >= 0 and finite")
        variants.append(Variant(name, topic, weight, salt))
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"{KEY}: variant names repeat: {', '.join(names)}")
    if variants and sum(v.weight for v in variants) <= 0:
        raise ConfigError(f"{KEY}: the weights of the variants sum to 0")
    return variants


def variants_of(config: Config) -> list[Variant]:
    return parse_variants(config.settings.serving.experiment.variants)


def variant_overrides(config: Config, variant: Variant) -> dict[str, object]:
    """The keys of ``<oryx.serving.experiment.variant-conf-dir>/<name>.toml`` for a variant (empty without that file),
    which its batch, speed and serving layers all read on top of the main config."""
    conf_dir = config.settings.serving.experiment.variant_conf_dir
    path = Path(conf_dir) / f"{variant.name}.toml" if conf_dir else None
    return read_conf_file(path) if path is not None and path.exists() else {}


def variant_config(config: Config, variant: Variant, control: bool) -> Config:
    """The config of a variant's serving model: ``config`` with, for a variant other than the control, its
    :func:`variant_overrides` on top, so that each variant names its own ``oryx.serving.model-manager-class``."""
    overrides = {} if control else variant_overrides(config, variant)
    return config.with_overrides(overrides, f"variant {variant.name}") if overrides else config


def unit_hash(salt: str, key: str) -> float:
    """A uniform number in [0, 1) from SHA-256 of (salt, key): stable across processes, hosts and restarts."""
    digest = hashlib.sha256(salt.encode("utf-8") + b"\x00" + key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(variants: Sequence[Variant], key: str) -> Variant:
    """The variant of ``key`` (a user ID, or an anonymous client's key) by weight. The experiment's salt (the first
    salt given, normally on the control) salts the hash: changing it reshuffles every user, as a new experiment should."""
    total = sum(v.weight for v in variants)
    salt = next((v.salt for v in variants if v.salt), "")
    point = unit_hash(salt, key) * total
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant
    return next(v for v in reversed(variants) if v.weight > 0)
