"""Typed config sections: generated from the key registry, current, equal to the string reads, checked at load."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oryxpy.config import KEYS, Settings, default_config, load_config, register_keys, setting, subsection
from oryxpy.config.generate import attribute_name, class_name, core_keys, main, render
from oryxpy.config.spec import Key
from oryxpy.config.typed import build_section, section_keys
from oryxpy.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _attribute_path(name: str) -> list[str]:
    return [attribute_name(part) for part in name.removeprefix("oryx.").split(".")]


def _read(settings: object, name: str) -> object:
    value = settings
    for attribute in _attribute_path(name):
        value = getattr(value, attribute)
    return value


def test_generated_settings_module_is_current() -> None:
    text = (REPO / "oryxpy" / "config" / "settings.py").read_text()
    assert text == render(core_keys()), "regenerate with: python -m oryxpy.config.generate > oryxpy/config/settings.py"


def test_settings_cover_every_core_key_once() -> None:
    bound = section_keys(Settings)
    assert len(bound) == len(set(bound))
    assert set(bound) == {key.name for key in core_keys()}
    assert set(bound) <= set(KEYS)


@pytest.mark.parametrize(
    "sets",
    [
        [],
        [
            "oryx.als.hyperparams.lambda=[0.01, 0.2, 0.3]",
            "oryx.als.logStrength=true",
            "oryx.serving.api.port=9191",
            "oryx.update-topic.broker=",
            "oryx.id=typed",
            "oryx.batch.engine=spark",
            "oryx.ml.eval.threshold=0.25",
        ],
    ],
)
def test_every_attribute_equals_the_string_read(sets: list[str]) -> None:
    config = load_config(environ={}, sets=sets)
    for name in section_keys(Settings):
        assert _read(config.settings, name) == config[name], name


def test_attribute_names_follow_the_dotted_keys() -> None:
    settings = load_config(environ={}, sets=["oryx.als.hyperparams.lambda=0.3", "oryx.input-topic.message.topic=In"]).settings
    assert settings.als.hyperparams.lambda_ == 0.3
    assert settings.input_topic.message.topic == "In"
    assert settings.als.log_strength is False
    assert settings.update_topic.message.max_size == 16777216
    assert attribute_name("logStrength") == "log_strength"
    assert attribute_name("input-topic") == "input_topic"
    assert attribute_name("lambda") == "lambda_"
    assert class_name("Settings", ("input-topic", "message")) == "InputTopicMessageSection"
    assert class_name("Settings", ()) == "Settings"


def test_sections_are_frozen_and_built_once_per_config() -> None:
    config = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.settings.serving.api.port = 1  # type: ignore[misc]
    assert config.settings is config.settings
    changed = config.with_overrides({"oryx.serving.api.port": 9000})
    assert changed.settings.serving.api.port == 9000
    assert config.settings.serving.api.port == 8080


def test_generated_types_match_the_key_kinds() -> None:
    text = render(core_keys())
    assert 'engine: Literal["local", "spark"] = setting("oryx.batch.engine")' in text
    assert 'features: Hyperparam = setting("oryx.als.hyperparams.features")' in text
    assert 'broker: str | None = setting("oryx.update-topic.broker")' in text
    assert 'iterations: int = setting("oryx.als.iterations")' in text
    assert 'read_only: bool = setting("oryx.serving.api.read-only")' in text


def test_a_wrong_value_is_an_error_naming_the_key() -> None:
    values = dict(default_config())
    values["oryx.serving.api.port"] = "eighty"
    with pytest.raises(ConfigError, match=r"config key oryx\.serving\.api\.port = 'eighty' \(from section ServingApiSection\)"):
        build_section(Settings, values, KEYS)


PLUGIN_KEYS = [
    Key("oryx.typed-test.half-life-hours", 24.0, "test plug-in: half-life", kind="float", minimum=0, min_exclusive=True),
    Key("oryx.typed-test.window.days", 7, "test plug-in: window", kind="int", minimum=1),
]


@dataclass(frozen=True)
class _WindowSection:
    days: int = setting("oryx.typed-test.window.days")


@dataclass(frozen=True)
class _PluginSection:
    half_life_hours: float = setting("oryx.typed-test.half-life-hours")
    window: _WindowSection = subsection(_WindowSection)


@pytest.fixture
def plugin_keys() -> Iterator[list[Key]]:
    """The plug-in keys, registered for one test only (the reference test renders every registered key)."""
    register_keys(PLUGIN_KEYS)
    yield PLUGIN_KEYS
    for key in PLUGIN_KEYS:
        del KEYS[key.name]


def test_a_plugin_section_reads_its_registered_keys(plugin_keys: list[Key]) -> None:
    config = load_config(environ={}, sets=["oryx.typed-test.window.days=3"])
    section = config.section(_PluginSection)
    assert section == _PluginSection(half_life_hours=24.0, window=_WindowSection(days=3))
    assert config.section(_PluginSection) is section
    source = render(plugin_keys, "TypedTestSettings", "oryx.typed-test")
    namespace: dict[str, Any] = {}
    exec(compile(source, "typed_test_settings.py", "exec"), namespace)  # the generated module runs as written
    generated_class: type[Any] = namespace["TypedTestSettings"]
    generated = config.section(generated_class)
    assert generated.half_life_hours == 24.0 and generated.window.days == 3


def test_a_section_reading_an_unregistered_key_says_so() -> None:
    @dataclass(frozen=True)
    class Stale:
        gone: int = setting("oryx.no-such.key")

    with pytest.raises(ConfigError, match=r"Stale reads config key oryx\.no-such\.key, which is not registered"):
        default_config().section(Stale)
    with pytest.raises(ConfigError, match="not a config section"):
        default_config().section(int)


def test_render_rejects_a_key_outside_the_prefix() -> None:
    with pytest.raises(ValueError, match="does not start with oryx.other."):
        render(PLUGIN_KEYS, "X", "oryx.other")


def test_the_command_line_writes_a_plugin_section_module(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--keys-module", "oryxpy.config.keys_speed", "--root", "SpeedOnly", "--prefix", "oryx.speed"])
    source = capsys.readouterr().out
    assert "--keys-module oryxpy.config.keys_speed --root SpeedOnly --prefix oryx.speed" in source
    namespace: dict[str, Any] = {}
    exec(compile(source, "speed_only.py", "exec"), namespace)
    config = load_config(environ={}, sets=["oryx.speed.max-batch-size=7"])
    speed_only: type[Any] = namespace["SpeedOnly"]
    section = config.section(speed_only)
    assert section.max_batch_size == 7
    assert section.commit_interval_ms == config.settings.speed.commit_interval_ms


def test_render_rejects_keys_that_would_share_an_attribute() -> None:
    clash = [Key("oryx.t.log-strength", 1, "a", kind="int"), Key("oryx.t.logStrength", 2, "b", kind="int")]
    with pytest.raises(ValueError, match="oryx.t.log-strength and oryx.t.logStrength would have the same attribute"):
        render(clash, "T", "oryx.t")


def test_a_flat_plugin_module_imports_only_what_it_uses() -> None:
    source = render([Key("oryx.flat.size", 3, "size", kind="int")], "FlatSettings", "oryx.flat")
    assert "from oryxpy.config.typed import setting\n" in source
    assert "Literal" not in source and "Hyperparam" not in source and "subsection" not in source
