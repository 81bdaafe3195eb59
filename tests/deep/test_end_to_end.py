"""The two-tower model through the unchanged runner, update topic and serving layer; its speed layer for content."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from batch.runner import BatchRunner
from oryxpy.config import Config
from oryxpy.content import content_record
from oryxpy.messages import UP, ModelMessage, decode
from oryxpy.pmml import pmml_to_als_model
from oryxpy.storage import LocalStorage, join_uri
from serving.app import create_app
from speed.deep.manager import TwoTowerSpeedModelManager
from tests.batch.helpers import FAST, check_model_dir, check_published, model_dirs, read_updates, send_input
from tests.conftest import embedded_config_at
from tests.deep.planted import FAST_DEEP, T0, USERS_PER_GENRE, contents, genre_of, interactions, item_content

ALS = {**FAST, "oryx.als.hyperparams.features": 8}


def generation(config: Config, lines: list[str]) -> None:
    runner = BatchRunner(config)
    runner.start()
    send_input(config, lines)
    assert runner.run_generation(T0 + 10**9)
    runner.close()


def ranked(client: TestClient, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [line.split(",")[0] for line in response.text.splitlines()]


def wait_served(client: TestClient, users: int) -> None:
    deadline = time.monotonic() + 60
    while client.get("/ready").status_code != 200 or client.get("/user/allIDs").text.count("\n") < users:
        assert time.monotonic() < deadline, "model not served in time"
        time.sleep(0.05)


@pytest.mark.parametrize("update", ["als", "deep"])
def test_switching_update_class_needs_no_other_change(tmp_path: Path, update: str) -> None:
    """Same runner, same update topic, same serving layer: only oryx.batch.update-class (and its keys) differ."""
    config = embedded_config_at(tmp_path / "state", **(FAST_DEEP if update == "deep" else ALS),
                                **{"oryx.ml.eval.test-fraction": 0.1})
    generation(config, interactions() + contents() + ['{"item": "bad", "content": 5}'])
    [model_uri] = model_dirs(config)
    check_model_dir(config, model_uri)
    report = json.loads(LocalStorage().read_text(join_uri(model_uri, "metrics.json")))
    assert "ndcg@10" in report["metrics"] and "auc" in report["metrics"]  # the same evaluation code for both
    info = check_published(config, read_updates(config))
    assert info.features == 8 and info.implicit
    assert (info.extra.get("modelType") == "two-tower") == (update == "deep")
    with TestClient(create_app(config)) as client:
        wait_served(client, 2 * USERS_PER_GENRE)
        assert sum(genre_of(i) == "a" for i in ranked(client, "/recommend/uA0?howMany=5")) >= 4
        assert sum(genre_of(i) == "b" for i in ranked(client, "/similarity/b1?howMany=5")) >= 4


def test_deep_model_serves_and_speed_layer_places_new_items(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **FAST_DEEP, **{"oryx.ml.eval.test-fraction": 0.0})
    generation(config, interactions() + contents())
    messages = read_updates(config)
    info = check_published(config, messages)
    assert isinstance(messages[0], ModelMessage)
    assert set(info.extra) >= {"modelType", "towerPath", "embeddingPath", "modelDir"}
    speed = TwoTowerSpeedModelManager(config)
    for message in messages:
        speed.consume(message)
    assert speed.model_status() == "ready"
    # content only, no interaction: an item-tower vector at once
    new_item = content_record(item_content("a-new", "a"))
    updates = speed.build_updates([new_item, f"uNew,b3,1,{T0}", f"uNew,b4,1,{T0 + 1}", "bad,record",
                                   '{"item": "z", "content": 3}'])  # bad records are rejected, not fatal
    assert [decode(k, v).matrix for k, v in updates] == ["Y", "X"]  # type: ignore[union-attr]
    y_up, x_up = (decode(k, v) for k, v in updates)
    assert y_up.id == "a-new" and len(y_up.vector) == 8  # type: ignore[union-attr]
    assert x_up.id == "uNew" and x_up.known == ("b3", "b4")  # type: ignore[union-attr]
    with TestClient(create_app(config)) as client:
        wait_served(client, 2 * USERS_PER_GENRE)
        manager = client.app.state.oryx.manager  # type: ignore[attr-defined]
        for key, value in updates:
            assert key == UP
            manager.consume(decode(key, value))
        similar = ranked(client, "/similarity/a2?howMany=40")
        first_b = min(n for n, item in enumerate(similar) if genre_of(item) == "b")
        assert similar.index("a-new") < first_b
        recommended = ranked(client, "/recommend/uA1?howMany=40")
        assert recommended.index("a-new") < min(n for n, i in enumerate(recommended) if genre_of(i) == "b")
        assert all(genre_of(i) == "b" for i in ranked(client, "/recommend/uNew?howMany=3"))
        assert client.get("/item/allIDs").text.count("a-new") == 1


def test_speed_manager_holds_input_until_a_new_generations_vectors_arrive(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **FAST_DEEP, **{"oryx.ml.eval.test-fraction": 0.0})
    generation(config, interactions() + contents())
    model, *vectors = read_updates(config)
    assert isinstance(model, ModelMessage) and vectors
    speed = TwoTowerSpeedModelManager(config)
    for message in [model, *vectors]:
        speed.consume(message)
    assert speed.model_status() == "ready"
    speed.consume(model)  # the next generation: the vectors of this one are kept, yet its own are awaited
    for message in vectors:
        assert speed.model_status() == "loading" and speed.build_updates([f"uA0,a5,1,{T0}"]) == []
        speed.consume(message)
    assert speed.model_status() == "ready" and speed.build_updates([f"uA0,a5,1,{T0}"]) != []


def test_speed_manager_loads_model_ref_and_rejects_other_models(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **FAST_DEEP, **{"oryx.ml.eval.test-fraction": 0.0,
                                                                     "oryx.update-topic.message.max-size": 1024})
    generation(config, interactions() + contents())
    messages = read_updates(config)
    speed = TwoTowerSpeedModelManager(config)
    speed.consume(messages[0])  # MODEL-REF: loads X/ and Y/ from the model directory
    assert speed.model_status() == "ready" and speed.model is not None and len(speed.model.y) == 32
    [(_, value)] = speed.build_updates([f"uA0,a5,1,{T0}"])
    assert "a5" in decode(UP, value).known  # type: ignore[union-attr, operator]
    als_pmml = ModelMessage(
        '<PMML xmlns="http://www.dmg.org/PMML-4_4"><Extension name="features" value="8"/>'
        '<Extension name="implicit" value="true"/></PMML>')
    with pytest.raises(Exception, match="not a two-tower model"):
        speed.consume(als_pmml)
    assert pmml_to_als_model(als_pmml.pmml).features == 8


@pytest.mark.integration
def test_deep_model_on_kafka_and_hdfs(kafka_config: Config, hdfs_config: Config) -> None:
    """Kafka topics and an HDFS model directory: the speed layer reads the tower weights over WebHDFS."""
    config = kafka_config.with_overrides({**FAST_DEEP, "oryx.ml.eval.test-fraction": 0.0,
                                          "oryx.batch.storage.model-dir": hdfs_config.model_dir,
                                          "oryx.batch.storage.data-dir": hdfs_config.data_dir,
                                          "oryx.storage.hdfs.webhdfs-url": hdfs_config["oryx.storage.hdfs.webhdfs-url"]})
    generation(config, interactions() + contents())
    messages = read_updates(config, idle_s=2.0)
    info = check_published(config, messages)
    assert info.extra["modelDir"].startswith("hdfs://")
    speed = TwoTowerSpeedModelManager(config)
    for message in messages:
        speed.consume(message)
    [(_, value)] = speed.build_updates([content_record(item_content("a-new", "a"))])
    assert decode(UP, value).id == "a-new"  # type: ignore[union-attr]
    with TestClient(create_app(config)) as client:
        wait_served(client, 2 * USERS_PER_GENRE)
        assert sum(genre_of(i) == "a" for i in ranked(client, "/recommend/uA0?howMany=5")) >= 4


def test_speed_manager_follows_the_models_known_items_setting(tmp_path: Path) -> None:
    """The batch layer records in the PMML whether it published known items; the speed manager follows the model,
    reading no key of another model (oryx.als.no-known-items)."""
    config = embedded_config_at(tmp_path / "state", **FAST_DEEP, **{"oryx.ml.eval.test-fraction": 0.0,
                                                                     "oryx.als.no-known-items": True})
    generation(config, interactions() + contents())
    messages = read_updates(config)
    assert check_published(config, messages).extra["knownItems"] == "false"
    speed = TwoTowerSpeedModelManager(embedded_config_at(tmp_path / "speed", **FAST_DEEP))  # its own config: default
    for message in messages:
        speed.consume(message)
    [(_, value)] = speed.build_updates([f"uA0,a5,1,{T0}"])
    assert decode(UP, value).known is None  # type: ignore[union-attr]
