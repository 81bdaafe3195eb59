"""Every model plugs in through the declared contracts of oryxpy.interfaces, and the generic code imports no model."""

from __future__ import annotations

import ast
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


def _loaded_by(module: str) -> list[str]:
    """The project modules (not the standard library or third parties) that importing ``module`` loads."""
    code = (f"import sys, {module}\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('batch', 'speed', 'serving', 'popular'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    modules = loaded.split(",") if loaded else []
    keys = {m for m in modules if m.endswith(".keys")}
    registered = keys | {m.rsplit(".", 1)[0] for m in keys}  # key declarations come through entry points
    return [m for m in modules if m not in registered]


def _of_packages(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def test_the_vector_model_base_imports_no_model() -> None:
    loaded = _loaded_by("batch.vector_update")
    assert "batch.vector_update" in loaded  # what is checked was imported
    assert _of_packages(loaded, "batch.als", "batch.deep", "batch.hybrid", "popular") == []


@pytest.mark.parametrize(("module", "foreign"), [
    ("batch.als.update", ("batch.deep", "batch.hybrid", "speed.deep")),
    ("batch.deep.update", ("batch.als", "batch.hybrid", "speed.als")),
    ("speed.deep.manager", ("batch.als", "speed.als", "batch.hybrid")),
    ("speed.als.manager", ("batch.deep", "speed.deep", "batch.hybrid")),
])
def test_als_and_the_two_tower_model_do_not_import_each_other(module: str, foreign: tuple[str, ...]) -> None:
    loaded = _loaded_by(module)
    assert module in loaded
    assert _of_packages(loaded, *foreign) == []


def test_every_vector_model_extends_the_base_and_no_other_model() -> None:
    from batch.vector_update import VectorModelUpdate

    updates = {name: load_class(MODELS[name][0], "test") for name in ("als", "two-tower", "hybrid")}
    for name, update in updates.items():
        assert issubclass(update, VectorModelUpdate), name
        others = [other for other_name, other in updates.items() if other_name != name]
        assert not any(issubclass(update, other) for other in others), f"{name} extends another model's update"
    assert not issubclass(load_class(MODELS["popular"][0], "test"), VectorModelUpdate)


GENERIC_SERVING = ["serving/params.py", "serving/models.py", "serving/selection.py", "serving/state.py",
                   *(str(p.relative_to(Path(__file__).resolve().parents[2]))
                     for p in sorted((Path(__file__).resolve().parents[2] / "serving" / "routes").glob("*.py")))]


@pytest.mark.parametrize("path", GENERIC_SERVING)
def test_generic_serving_code_reaches_the_vector_model_only_by_its_generic_module(path: str) -> None:
    """No serving.als (or other model package) import: the vector model and its queries come from
    serving.vector_model, by the generic name VectorServingModel."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / path).read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert imported, path
    assert _of_packages(imported, "serving.als", "serving.experiments", "popular", "batch", "speed") == []
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "ALSServingModel" not in names


def test_the_old_serving_model_name_still_imports() -> None:
    from serving.als.model import ALSServingModel
    from serving.vector_model import VectorServingModel

    assert ALSServingModel is VectorServingModel and VectorServingModel.__name__ == "VectorServingModel"


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


@pytest.mark.parametrize("path", sorted(str(p.relative_to(Path(__file__).resolve().parents[2]))
                                        for p in (Path(__file__).resolve().parents[2] / "serving" / "vectors").glob("*.py")))
def test_the_vector_serving_package_knows_no_model(path: str) -> None:
    """serving.vectors (what ALS, the two-tower and the hybrid models all load) imports no model package."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / path).read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert _of_packages(imported, "serving.als", "serving.experiments", "popular", "batch", "speed") == []


def test_the_core_declares_no_model_package_keys() -> None:
    """The core's key files declare no key of a model package: those come through the ``oryxpy.config_keys`` entry
    point (popular, two-tower, hybrid), so a new model adds keys without touching the core."""
    from importlib.metadata import entry_points

    from oryxpy.config import keys_core

    plugged = {ep.name: ep.load() for ep in entry_points(group="oryxpy.config_keys")}
    assert {"popular", "two-tower", "hybrid"} <= set(plugged)
    plugin_prefixes = {k.name.split(".")[1] for keys in plugged.values() for k in keys}
    assert plugin_prefixes == {"popular", "deep", "hybrid"}
    core_files = sorted((Path(keys_core.__file__).parent).glob("keys_*.py"))
    assert len(core_files) > 3
    for path in core_files:
        for prefix in plugin_prefixes:
            assert f'"oryx.{prefix}.' not in path.read_text(), (path.name, prefix)
