"""Every model plugs in through the declared contracts of oryxpy.interfaces, and the generic code imports no model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oryxpy.interfaces import BatchLayerUpdate, ServingModelManager, SpeedModelManager, load_class
from tests.conftest import embedded_config_at

#: (batch update, speed manager, serving manager) of each model, as configured
MODELS = {
    "als": ("batch.als.update.ALSUpdate", "speed.als.manager.ALSSpeedModelManager",
            "serving.als.manager.ALSServingModelManager"),
    "two-tower": ("batch.deep.update.TwoTowerUpdate", "speed.deep.manager.TwoTowerSpeedModelManager",
                  "serving.als.manager.ALSServingModelManager"),
    "hybrid": ("batch.hybrid.update.HybridUpdate", "speed.als.manager.ALSSpeedModelManager",
               "serving.als.manager.ALSServingModelManager"),
    "popular": ("popular.batch.PopularUpdate", "popular.speed.PopularSpeedModelManager",
                "popular.serving.PopularServingModelManager"),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_each_model_implements_the_declared_contracts(tmp_path: Path, model: str) -> None:
    update, speed, serving = (load_class(name, "test") for name in MODELS[model])
    config = embedded_config_at(tmp_path / "state")
    assert issubclass(update, BatchLayerUpdate) and isinstance(update.takes_dataframes, bool)
    assert update.spark_counterpart in (None, "batch.spark.update.SparkALSUpdate")
    assert (update.spark_counterpart is not None) == (model == "als")  # only ALS has a Spark counterpart
    speed_manager = speed(config)
    assert isinstance(speed_manager, SpeedModelManager) and speed_manager.model_status() == "none"
    assert speed_manager.build_updates(["u,i,1,1"]) == []  # no model yet: nothing to publish
    serving_manager = serving(config)
    assert isinstance(serving_manager, ServingModelManager)
    assert serving_manager.get_model() is None and not serving_manager.is_ready()
    assert serving_manager.rescorer_provider is None  # none configured


def test_the_generic_layers_import_no_model() -> None:
    code = ("import sys, serving.params, serving.models, serving.state, serving.io_write, speed.runner, batch.runner\n"
            "models = sorted(m for m in sys.modules if m.split('.')[1:2] in (['als'], ['deep'], ['hybrid'])"
            " or m.startswith('popular'))\n"
            "keys = {m for m in models if m.endswith('.keys')} | {m.rsplit('.', 1)[0] for m in models if m.endswith('.keys')}\n"
            "models = [m for m in models if m not in keys]  # key declarations are registered through entry points\n"
            "print(','.join(models))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    assert loaded == "", f"generic modules import model code: {loaded}"


@pytest.mark.parametrize(("configured", "runs"), [("batch.als.update.ALSUpdate", "SparkALSUpdate"),
                                                   ("batch.deep.update.TwoTowerUpdate", "TwoTowerUpdate"),
                                                   ("popular.batch.PopularUpdate", "PopularUpdate")])
def test_the_spark_engine_runs_the_declared_counterpart(tmp_path: Path, configured: str, runs: str) -> None:
    pytest.importorskip("pyspark")
    from batch.spark.stream import spark_update_for

    update = spark_update_for(embedded_config_at(tmp_path / "state", **{"oryx.batch.update-class": configured}))
    assert type(update).__name__ == runs and update.takes_dataframes == (runs == "SparkALSUpdate")


def test_the_default_endpoint_groups_are_every_router_module() -> None:
    """oryx.serving.application-resources defaults to every group, and every router module is a group."""
    import pkgutil

    import serving.routes
    from oryxpy.config import default_config
    from serving.routes import GROUPS, KEY, router_modules

    modules = {f"serving.routes.{m.name}" for m in pkgutil.iter_modules(serving.routes.__path__)}
    assert set(GROUPS.values()) == modules
    assert [m.__name__ for m in router_modules(default_config()[KEY])] == list(GROUPS.values())
