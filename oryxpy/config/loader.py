"""Loading configuration: defaults < --conf FILE < environment < --set KEY=VALUE, validated once."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from oryxpy.config import (
    keys_batch,
    keys_core,
    keys_experiments,
    keys_ml,
    keys_serving,
    keys_speed,
)
from oryxpy.config.settings import Settings
from oryxpy.config.spec import Key
from oryxpy.config.typed import build_section
from oryxpy.errors import ConfigError

ENV_PREFIX = "ORYX__"

SectionT = TypeVar("SectionT")

KEYS: dict[str, Key] = {}


def register_keys(keys: Iterable[Key]) -> None:
    """Add keys (for example those of a plug-in model) to the set of known keys."""
    for key in keys:
        if key.name in KEYS and KEYS[key.name] != key:
            raise ConfigError(f"config key {key.name} is declared twice")
        KEYS[key.name] = key


for _module in (keys_core, keys_ml, keys_batch, keys_speed, keys_serving, keys_experiments):
    register_keys(_module.KEYS)


def env_name(key: str) -> str:
    """The environment variable that overrides ``key``: ``oryx.input-topic.broker`` -> ``ORYX__INPUT_TOPIC__BROKER``."""
    return key.upper().replace(".", "__").replace("-", "_")


class Config(Mapping[str, Any]):
    """An immutable, validated set of every known key's value.

    Read it typed: ``config.settings.als.hyperparams.features`` (the core sections, built and checked when the
    config is made) or ``config.section(PluginSection)`` for a plug-in's own generated section.  Reading by
    dotted name (``config["oryx.als.iterations"]``) still works.
    """

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)
        self._sections: dict[type[Any], Any] = {}
        self._settings = self.section(Settings)

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise ConfigError(f"unknown config key {key}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "override") -> Config:
        """A copy with some keys changed; values may be typed or text (text is parsed like ``--set``)."""
        values = dict(self._values)
        for name, value in overrides.items():
            key = _known(name, source)
            values[name] = key.parse_text(value, source) if isinstance(value, str) and key.kind != "str" else key.validate(value, source)
        return Config(values)

    @property
    def settings(self) -> Settings:
        """The core typed sections: ``config.settings.serving.api.port``."""
        return self._settings

    def section(self, section_class: type[SectionT]) -> SectionT:
        """A typed section (a dataclass of :func:`oryxpy.config.typed.setting` fields), built once per config."""
        built = self._sections.get(section_class)
        if built is None:
            built = self._sections[section_class] = build_section(section_class, self._values, KEYS)
        return built

    @property
    def state_dir(self) -> Path:
        """The embedded state directory, absolute."""
        return Path(self["oryx.embedded.state-dir"]).expanduser().resolve()

    @property
    def data_dir(self) -> str:
        """URI of the batch data directory (defaults under the state directory)."""
        return self["oryx.batch.storage.data-dir"] or (self.state_dir / "data").as_uri()

    @property
    def model_dir(self) -> str:
        """URI of the model directory (defaults under the state directory)."""
        return self["oryx.batch.storage.model-dir"] or (self.state_dir / "model").as_uri()

    def group_id(self, layer: str) -> str:
        """Consumer group for a layer's input, as Oryx names it: OryxGroup-<Layer>-<id>."""
        import uuid

        return f"OryxGroup-{layer}-{self['oryx.id'] or uuid.uuid4()}"


def _known(name: str, source: str) -> Key:
    key = KEYS.get(name)
    if key is None:
        close = [k for k in KEYS if k.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown config key {name} (from {source}){hint}")
    return key


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Turn nested TOML tables into dotted keys."""
    flat: dict[str, Any] = {}
    for name, value in table.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def read_conf_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file into dotted keys, with errors that name the file."""
    try:
        with open(path, "rb") as fh:
            return flatten(tomllib.load(fh))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def parse_set(assignment: str) -> tuple[str, str]:
    """Split a ``--set KEY=VALUE`` argument."""
    name, sep, value = assignment.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got {assignment!r}")
    return name.strip(), value


def load_config(
    conf_file: str | Path | None = None,
    sets: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the configuration from defaults, a TOML file, the environment and ``--set`` assignments."""
    values = {name: key.default for name, key in KEYS.items()}
    if conf_file is not None:
        for name, value in read_conf_file(conf_file).items():
            values[name] = _known(name, str(conf_file)).validate(value, str(conf_file))
    env = os.environ if environ is None else environ
    by_env = {env_name(name): name for name in KEYS}
    for var, text in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        if var not in by_env:
            raise ConfigError(f"environment variable {var} names no config key (keys map as oryx.a-b.c -> ORYX__A_B__C)")
        name = by_env[var]
        values[name] = KEYS[name].parse_text(text, f"environment {var}")
    for assignment in sets:
        name, text = parse_set(assignment)
        values[name] = _known(name, "--set").parse_text(text, "--set")
    config = Config(values)
    check_consistency(config)
    return config


def check_consistency(config: Config) -> None:
    """Rules between keys."""
    if (config["oryx.serving.api.user-name"] is None) != (config["oryx.serving.api.password"] is None):
        raise ConfigError("config keys oryx.serving.api.user-name and oryx.serving.api.password must be set together")
    if (config["oryx.serving.api.cert-file"] is None) != (config["oryx.serving.api.key-file"] is None):
        raise ConfigError("config keys oryx.serving.api.cert-file and oryx.serving.api.key-file must be set together")
    if not config["oryx.input-topic.broker"]:
        raise ConfigError("config key oryx.input-topic.broker must be set ('embedded' or host:port)")


def default_config() -> Config:
    """The defaults alone, ignoring the environment (for tests and tools)."""
    return load_config(environ={})
