"""Config: overlays in order, every validation error names the key, the reference file is current."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from oryxpy.config import KEYS, default_config, env_name, load_config
from oryxpy.config.loader import flatten
from oryxpy.config.reference import render
from oryxpy.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_defaults_run_embedded_under_a_local_state_dir() -> None:
    config = default_config()
    assert config["oryx.input-topic.broker"] == "embedded"
    assert config["oryx.update-topic.broker"] == "embedded"
    assert config.data_dir.startswith("file:///") and config.data_dir.endswith("oryx-state/data")
    assert config.model_dir.endswith("oryx-state/model")


def test_reference_file_is_current_and_loads() -> None:
    text = (REPO / "conf" / "reference.toml").read_text()
    assert text == render(), "regenerate with: python -m oryxpy.config.reference > conf/reference.toml"
    keys = flatten(tomllib.loads(text))
    set_keys = {name for name, key in KEYS.items() if key.default is not None}
    assert set(keys) == set_keys
    assert load_config(REPO / "conf" / "reference.toml", environ={}) == default_config()


def test_every_key_has_a_comment_in_the_reference() -> None:
    text = render()
    for key in KEYS.values():
        assert key.doc in text


def test_overlay_order_defaults_file_environment_set(tmp_path: Path) -> None:
    conf = tmp_path / "my.toml"
    conf.write_text('[oryx.serving.api]\nport = 9000\ncontext-path = "/file"\n[oryx.als]\niterations = 3\n')
    env = {env_name("oryx.serving.api.port"): "9100", env_name("oryx.als.iterations"): "4"}
    config = load_config(conf, ["oryx.serving.api.port=9200"], environ=env)
    assert config["oryx.serving.api.port"] == 9200  # --set beats environment
    assert config["oryx.als.iterations"] == 4  # environment beats file
    assert config["oryx.serving.api.context-path"] == "/file"  # file beats default
    assert config["oryx.serving.api.read-only"] is False  # default


def test_dotted_keys_in_toml_and_hyperparam_lists(tmp_path: Path) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text('"oryx.id" = "A"\n[oryx.als.hyperparams]\nfeatures = [5, 50]\nlambda = [0.0001, 0.1]\n')
    config = load_config(conf, environ={})
    assert config["oryx.id"] == "A"
    assert config["oryx.als.hyperparams.features"] == [5, 50]
    assert load_config(environ={}, sets=["oryx.als.hyperparams.alpha=[1.0, 40.0]"])["oryx.als.hyperparams.alpha"] == [1.0, 40.0]


def test_env_name_mapping() -> None:
    assert env_name("oryx.input-topic.broker") == "ORYX__INPUT_TOPIC__BROKER"
    assert env_name("oryx.als.logStrength") == "ORYX__ALS__LOGSTRENGTH"


def test_optional_keys_unset_with_empty_value() -> None:
    config = load_config(environ={}, sets=["oryx.id=abc", "oryx.update-topic.broker="])
    assert config["oryx.id"] == "abc"
    assert config["oryx.update-topic.broker"] is None


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("oryx.als.no-such-key=1", "unknown config key oryx.als.no-such-key"),
        ("oryx.serving.api.port=eighty", "oryx.serving.api.port"),
        ("oryx.serving.api.port=70000", "<= 65535"),
        ("oryx.serving.api.port=-1", ">= 0"),
        ("oryx.als.iterations=2.5", "an integer"),
        ("oryx.als.implicit=maybe", "true or false"),
        ("oryx.als.decay.factor=0", "> 0"),
        ("oryx.als.decay.factor=1.5", "<= 1"),
        ("oryx.als.sample-rate=0", "> 0"),
        ("oryx.ml.eval.hyperparam-search=bayes", "one of 'random', 'grid'"),
        ("oryx.als.hyperparams.features=[]", "oryx.als.hyperparams.features"),
        ("oryx.als.hyperparams.features=[0, 10]", ">= 1"),
        ("oryx.als.hyperparams.alpha=-1.0", "> 0"),
        ("oryx.input-topic.partitions=0", ">= 1"),
        ("oryx.ml.eval.test-fraction=1.5", "<= 1"),
        ("oryx.update-topic.message.max-size=10", ">= 1024"),
        ("no-equals-sign", "KEY=VALUE"),
        ("oryx.input-topic.broker=", "must be set"),
    ],
)
def test_bad_values_name_the_key_and_accepted_values(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_config(environ={}, sets=[assignment])
    assert message in str(info.value)


def test_bad_toml_file_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[oryx\nid = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})
    wrong_type = tmp_path / "t.toml"
    wrong_type.write_text("[oryx.als]\niterations = \"ten\"\n")
    with pytest.raises(ConfigError, match=r"oryx.als.iterations = 'ten' \(from .*t.toml\)"):
        load_config(wrong_type, environ={})
    unknown = tmp_path / "u.toml"
    unknown.write_text("[oryx.serving]\nport = 1\n")
    with pytest.raises(ConfigError, match="unknown config key oryx.serving.port.*did you mean .*oryx.serving.api.port"):
        load_config(unknown, environ={})


def test_unknown_environment_variable_is_an_error() -> None:
    with pytest.raises(ConfigError, match="ORYX__NOT__A_KEY names no config key"):
        load_config(environ={"ORYX__NOT__A_KEY": "1"})
    with pytest.raises(ConfigError, match="from environment ORYX__ALS__ITERATIONS"):
        load_config(environ={"ORYX__ALS__ITERATIONS": "many"})


def test_keys_that_go_together() -> None:
    with pytest.raises(ConfigError, match="user-name and oryx.serving.api.password must be set together"):
        load_config(environ={}, sets=["oryx.serving.api.user-name=u"])
    with pytest.raises(ConfigError, match="cert-file and oryx.serving.api.key-file"):
        load_config(environ={}, sets=["oryx.serving.api.cert-file=/x.pem"])


def test_config_is_immutable_and_overrides_copy() -> None:
    config = default_config()
    changed = config.with_overrides({"oryx.als.iterations": 3, "oryx.serving.api.port": "81"})
    assert config["oryx.als.iterations"] == 10 and changed["oryx.als.iterations"] == 3
    assert changed["oryx.serving.api.port"] == 81
    with pytest.raises(TypeError):
        config["oryx.als.iterations"] = 1  # type: ignore[index]
    with pytest.raises(ConfigError):
        config["oryx.nope"]


def test_group_id_uses_oryx_id() -> None:
    assert load_config(environ={}, sets=["oryx.id=X"]).group_id("BatchLayer") == "OryxGroup-BatchLayer-X"
    assert default_config().group_id("SpeedLayer").startswith("OryxGroup-SpeedLayer-")
