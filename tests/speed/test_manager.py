"""ALSSpeedModelManager without topics: building the model from update messages and folding in input (spec 4.2-4.4)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from oryxpy.als import compute_updated_xu
from oryxpy.config import Config
from oryxpy.messages import UP, ModelMessage, ModelRefMessage, decode, up_value
from oryxpy.modelfiles import write_vectors
from oryxpy.pmml import als_model_to_pmml
from oryxpy.storage import LocalStorage
from speed.als.manager import ALSSpeedModelManager
from speed.generation import VECTORS_STALL_S
from tests.speed.fixtures import ITEMS, USERS, expected_new_vector, model_info, model_messages, svd_factors


def _manager(config: Config, **changes: object) -> ALSSpeedModelManager:
    manager = ALSSpeedModelManager(config)
    for key, value in model_messages(**changes):
        manager.consume(decode(key, value))
    return manager


def _vectors(updates: list[tuple[str | None, str]]) -> dict[tuple[str, str], tuple[np.ndarray, list[str] | None]]:
    out = {}
    for key, value in updates:
        assert key == UP
        message = json.loads(value)
        out[(message[0], message[1])] = (np.array(message[2]), message[3] if len(message) > 3 else None)
    return out


def test_no_model_no_updates(embedded_config: Config) -> None:
    manager = ALSSpeedModelManager(embedded_config)
    assert manager.model_status() == "none"
    manager.consume(decode(UP, up_value("Y", "B1", np.ones(2))))  # an UP before any model is ignored
    assert manager.build_updates(["W100,C2,1,1"]) == [] and manager.model is None


def test_new_user_and_new_item_closed_form(embedded_config: Config) -> None:
    manager = _manager(embedded_config)
    assert manager.model_status() == "ready"
    x, y = svd_factors()
    ups = _vectors(manager.build_updates(["W100,C2,1,1", "G6,B105,1,2", "W101,B105,1,3", "G6,C2,,4"]))
    assert set(ups) == {("X", "W100"), ("Y", "B105")}  # unknown pair and delete produce nothing
    np.testing.assert_allclose(ups[("X", "W100")][0], expected_new_vector(y[1], y), atol=1e-5)
    np.testing.assert_allclose(ups[("Y", "B105")][0], expected_new_vector(x[0], x), atol=1e-5)
    assert ups[("X", "W100")][1] == ["C2"] and ups[("Y", "B105")][1] == ["G6"]


def test_existing_pair_moves_both_vectors_and_no_known_items(embedded_config: Config) -> None:
    manager = _manager(embedded_config.with_overrides({"oryx.als.no-known-items": True}))
    ups = _vectors(manager.build_updates(["J9,B1,1,1"]))  # J9 never saw B1: Q is about 0
    assert set(ups) == {("X", "J9"), ("Y", "B1")}
    assert ups[("X", "J9")][1] is None and ups[("Y", "B1")][1] == ["J9"]
    x, y = svd_factors()
    assert float(ups[("X", "J9")][0] @ y[0]) > float(x[3] @ y[0])


def test_expected_ids_gate_the_input(embedded_config: Config) -> None:
    manager = ALSSpeedModelManager(embedded_config)
    manager.consume(ModelMessage(als_model_to_pmml(model_info())))
    assert manager.model_status() == "loading"
    assert manager.build_updates(["W100,C2,1,1"]) == []


def test_a_new_generation_holds_input_until_its_vectors_have_all_arrived(embedded_config: Config) -> None:
    """The old vectors are kept (over min-model-load-fraction at once), yet input waits for the new ones: folding it
    into some new and some old vectors would mix two generations."""
    manager = _manager(embedded_config)
    model, *vectors = model_messages()
    manager.consume(decode(*model))
    for message in vectors:
        assert manager.model_status() == "loading" and manager.build_updates(["W100,C2,1,1"]) == []
        manager.consume(decode(*message))
    assert manager.model_status() == "ready" and manager.build_updates(["W100,C2,1,1"]) != []


def test_a_generation_whose_vectors_stop_coming_is_used_after_a_while(embedded_config: Config,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimpleNamespace(now=100.0)
    monkeypatch.setattr("speed.generation.time", SimpleNamespace(monotonic=lambda: clock.now))
    manager = _manager(embedded_config)
    model, *vectors = model_messages()
    for message in [model, *vectors[:2]]:
        manager.consume(decode(*message))
    clock.now += VECTORS_STALL_S - 0.1
    assert manager.model_status() == "loading"
    clock.now += 0.2
    assert manager.model_status() == "ready"


def test_new_model_with_other_features_starts_over_and_same_features_keeps_vectors(embedded_config: Config) -> None:
    manager = _manager(embedded_config)
    first = manager.model
    manager.consume(ModelMessage(als_model_to_pmml(model_info(implicit=False))))
    assert manager.model is first and not first.implicit and len(first.y) == len(ITEMS)
    manager.consume(ModelMessage(als_model_to_pmml(model_info(features=3))))
    assert manager.model is not first and len(manager.model.y) == 0 and manager.model_status() == "loading"


def test_bad_vector_length_is_an_error(embedded_config: Config) -> None:
    manager = _manager(embedded_config)
    with pytest.raises(ValueError, match="3 features"):
        manager.consume(decode(UP, up_value("X", "G6", np.ones(3))))


def test_model_ref_loads_parquet_vectors(embedded_config: Config, tmp_path: Path) -> None:
    storage = LocalStorage()
    model_dir = (tmp_path / "model" / "123").as_uri()
    x, y = svd_factors()
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(model_info()))
    write_vectors(storage, f"{model_dir}/X", USERS, x)
    write_vectors(storage, f"{model_dir}/Y", ITEMS, y)
    manager = ALSSpeedModelManager(embedded_config)
    manager.consume(ModelRefMessage(f"{model_dir}/model.pmml"))
    assert manager.model_status() == "ready"
    np.testing.assert_array_equal(manager.model.x.get("H7"), x[1])
    manager.consume(ModelRefMessage(f"{model_dir}/gone.pmml"))  # missing file: ignored
    assert manager.model_status() == "ready"


def test_log_strength_from_the_model(embedded_config: Config) -> None:
    manager = _manager(embedded_config, log_strength=True, epsilon=0.5)
    ups = _vectors(manager.build_updates(["W100,C2,1,1"]))
    _, y = svd_factors()
    value = float(np.float32(np.log1p(1 / 0.5)))
    np.testing.assert_allclose(ups[("X", "W100")][0], expected_new_vector(y[1], y, value), atol=1e-5)


def test_explicit_model_folds_in_ratings(embedded_config: Config) -> None:
    manager = _manager(embedded_config, implicit=False)
    ups = _vectors(manager.build_updates(["W100,C2,4,1"]))
    _, y = svd_factors()
    y64 = y.astype(np.float64)
    np.testing.assert_allclose(ups[("X", "W100")][0], 4 * y64[1] @ np.linalg.inv(y64.T @ y64), atol=1e-5)


def test_near_singular_solver_is_logged_not_fatal(embedded_config: Config, caplog: pytest.LogCaptureFixture) -> None:
    manager = ALSSpeedModelManager(embedded_config)
    manager.consume(ModelMessage(als_model_to_pmml(model_info(x_ids=["G6"]))))
    x, y = svd_factors()
    for n, item in enumerate(ITEMS):
        manager.consume(decode(UP, up_value("Y", item, y[n])))
    manager.consume(decode(UP, up_value("X", "G6", x[0])))  # one user: X'X has rank 1 < 2 features
    ups = _vectors(manager.build_updates(["G6,C2,1,1", "W1,B1,1,2"]))
    assert set(ups) == {("X", "G6"), ("X", "W1")}  # no Y updates without an X'X solver
    assert "near-singular" in caplog.text


def test_log_strength_without_epsilon_is_a_bad_model(embedded_config: Config) -> None:
    manager = _manager(embedded_config)
    with pytest.raises(ValueError, match="epsilon"):
        manager.consume(ModelMessage(als_model_to_pmml(model_info(log_strength=True))))
    assert not manager.model.log_strength


def test_a_burst_is_folded_in_step_by_step(embedded_config: Config) -> None:
    manager = _manager(embedded_config)
    x, y = svd_factors()
    xtx, yty = manager.model.solvers()
    updates = [json.loads(v) for _, v in manager.build_updates(["W100,C2,1,1", "G6,C2,1,2", "W100,D3,2,3"])]
    assert [(u[0], u[1], u[3]) for u in updates] == [
        ("X", "W100", ["C2"]), ("X", "G6", ["C2"]), ("Y", "C2", ["G6"]), ("X", "W100", ["D3"])]
    first = compute_updated_xu(yty, 1.0, None, y[1], True)
    second = compute_updated_xu(yty, 2.0, first, y[2], True)  # from W100's first step, not from nothing
    np.testing.assert_allclose(updates[0][2], first, rtol=1e-6)
    np.testing.assert_allclose(updates[3][2], second, rtol=1e-6)
    np.testing.assert_allclose(updates[2][2], compute_updated_xu(xtx, 1.0, y[1], x[0], True), rtol=1e-6)
