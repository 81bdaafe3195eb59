"""Each A/B variant's serving model manager is the class its own config names (issue 18): the most-popular model as
the control arm and ALS as the other, from configuration alone (no managers passed in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from popular.serving import PopularServingModelManager
from serving.als.manager import ALSServingModelManager
from serving.experiments.app import create_experiment_app
from serving.experiments.routing import VariantManager
from serving.experiments.variants import parse_variants
from tests.conftest import embedded_config_at
from tests.popular.test_popular import NOW, POPULAR, check_ab_split, load_model
from tests.serving import golden

VARIANTS = "pop:OryxUpdate:50:s1, als:UpdAls:50"


def ab_config(tmp_path: Path, als_toml: str) -> Config:
    """The main config runs the most-popular model (the control); ``<conf-dir>/als.toml`` is the ALS variant's."""
    conf_dir = tmp_path / "variants"
    conf_dir.mkdir()
    (conf_dir / "als.toml").write_text(als_toml)
    return embedded_config_at(tmp_path / "state", **POPULAR, **{"oryx.serving.experiment.variants": VARIANTS,
                                                               "oryx.serving.experiment.variant-conf-dir": str(conf_dir)})


ALS_TOML = """\
[oryx.batch]
update-class = "batch.als.update.ALSUpdate"
[oryx.speed]
model-manager-class = "speed.als.manager.ALSSpeedModelManager"
[oryx.serving]
model-manager-class = "serving.als.manager.ALSServingModelManager"
"""


def test_the_popular_model_is_the_control_arm_from_config_alone(tmp_path: Path) -> None:
    config = ab_config(tmp_path, ALS_TOML)
    variants = parse_variants(VARIANTS)
    app = create_experiment_app(config, variants, consume_updates=False)
    proxy = app.state.oryx.manager
    assert isinstance(proxy, VariantManager)
    popular, als = proxy.managers["pop"], proxy.managers["als"]
    assert isinstance(popular, PopularServingModelManager) and isinstance(als, ALSServingModelManager)
    lines = [f"{u},{i},{n + 1},{NOW}" for u in golden.USERS for n, i in enumerate(golden.ITEMS[:3])]
    load_model(popular, config, lines)
    golden.load(als)
    check_ab_split(app, variants, golden.USERS, golden.ITEMS[:3][::-1], als_differs=True)


def test_without_a_variant_file_every_variant_runs_the_main_class(tmp_path: Path) -> None:
    config = ab_config(tmp_path, ALS_TOML)
    config = config.with_overrides({"oryx.serving.experiment.variant-conf-dir": str(tmp_path / "elsewhere")})
    proxy = create_experiment_app(config, parse_variants(VARIANTS), consume_updates=False).state.oryx.manager
    assert {type(m) for m in proxy.managers.values()} == {PopularServingModelManager}


def test_a_bad_manager_class_names_the_variant_and_the_key(tmp_path: Path) -> None:
    config = ab_config(tmp_path, '[oryx.serving]\nmodel-manager-class = "batch.als.update.ALSUpdate"\n')
    with pytest.raises(ConfigError, match=r"variant 'als'.*oryx.serving.model-manager-class"):
        create_experiment_app(config, parse_variants(VARIANTS), consume_updates=False)
