"""The time-decayed most-popular model (package popular/), selected by configuration alone: through the batch
runner, the update topic, the speed layer and the generic REST endpoints, with bad input; and as an A/B test arm."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batch.runner import BatchRunner
from oryxpy.config import Config
from oryxpy.errors import ConfigError, InvalidInput
from oryxpy.interfaces import ServingModelManager
from oryxpy.messages import UP, ModelMessage, ModelRefMessage, VectorUpdate, decode
from oryxpy.storage import LocalStorage
from popular.batch import PopularUpdate
from popular.model import known_updates
from popular.serving import PopularServingModelManager
from popular.speed import PopularSpeedModelManager
from serving.app import create_app
from speed.runner import SpeedLayer
from tests.batch.helpers import read_updates
from tests.conftest import embedded_config_at

HOUR_MS = 3_600_000
NOW = int(time.time() * 1000)
POPULAR = {"oryx.batch.update-class": "popular.batch.PopularUpdate",
           "oryx.speed.model-manager-class": "popular.speed.PopularSpeedModelManager",
           "oryx.serving.model-manager-class": "popular.serving.PopularServingModelManager",
           "oryx.popular.half-life-hours": 1.0}

#: "old" was liked by four users ten half-lives ago, "new" by two users now: "new" is more popular today
LINES = [f"u{n},old,1,{NOW - 10 * HOUR_MS}" for n in range(4)] + ["u0,new,1", "u4,new,1", "u2,mid,1", "u3,mid,1"]
LINES_AT = ["u0,mid,1," + str(NOW - HOUR_MS)]  # mid: 2 + 0.5 now, new: 2, old: 4 / 1024


def popular_config(tmp_path: Path, **overrides: object) -> Config:
    return embedded_config_at(tmp_path / "state", **{**POPULAR, **overrides})


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def ids(response_text: str) -> list[str]:
    return [line.split(",")[0] for line in response_text.splitlines()]


def load_model(manager: ServingModelManager, config: Config, lines: list[str], at_ms: int = NOW) -> None:
    """Feed ``manager`` the model of ``lines`` (timestamped records) as of ``at_ms`` and every user's known items."""
    state = PopularUpdate(config).build(at_ms, _table(lines), None)
    manager.consume(ModelMessage(state.model_json()))
    for key, value in known_updates(state, list(state.known)):
        manager.consume(decode(key, value))


def check_ab_split(app: Any, variants: list[Any], users: list[str], popular_ranking: list[str],
                   als_differs: bool = False) -> None:
    """Each user's /recommend comes from the variant the salted hash assigns (X-Oryx-Variant): the most-popular arm
    ("pop") answers ``popular_ranking`` for everyone, the ALS arm something else when ``als_differs``; both arms
    must be seen among ``users``."""
    from serving.experiments.variants import assign

    seen = set()
    with TestClient(app) as client:
        for user in users:
            response = client.get(f"/recommend/{user}?howMany=3&considerKnownItems=true")
            variant = assign(variants, user).name
            assert response.status_code == 200 and response.headers["x-oryx-variant"] == variant
            if variant == "pop":
                assert ids(response.text) == popular_ranking  # the most-popular ranking, the same for all
            elif als_differs:
                assert ids(response.text) != popular_ranking
            seen.add(variant)
    assert seen == {"pop", "als"}, "the salt should split the golden users"


def served_manager(config: Config, lines: list[str], at_ms: int = NOW) -> PopularServingModelManager:
    """A serving manager holding the model of ``lines`` as of ``at_ms`` and every user's known items."""
    manager = PopularServingModelManager(config)
    load_model(manager, config, lines, at_ms)
    assert manager.is_ready()
    return manager


def started_runner(config: Config) -> BatchRunner:
    """A batch runner whose input position is fixed now: input sent from here on is its next generation's."""
    runner = BatchRunner(config)
    runner.start()
    return runner


def generation(runner: BatchRunner) -> None:
    try:
        assert runner.run_generation(NOW + 1000)
    finally:
        runner.close()


def test_through_rest_batch_speed_and_serving(tmp_path: Path) -> None:
    config = popular_config(tmp_path)
    runner = started_runner(config)
    with TestClient(create_app(config)) as client:
        assert client.get("/ready").status_code == 503  # no model yet
        assert client.post("/ingest", content="\n".join(LINES + LINES_AT)).status_code == 204
        generation(runner)
        wait_for(lambda: client.get("/ready").status_code == 200, "the model to be served")
        # the same generic endpoints answer from the ranking, without what the user knows
        assert ids(client.get("/mostPopularItems").text)[0] == "old"  # counts of users, not decayed
        assert client.get("/recommend/nobody").status_code == 404
        assert ids(client.get("/recommend/u4").text) == ["mid", "old"]  # u4 knows new; old decayed below mid
        ranked = json.loads(client.get("/recommend/u3?considerKnownItems=true", headers={"Accept": "application/json"}).text)
        assert [r["id"] for r in ranked] == ["mid", "new", "old"]
        assert ranked[0]["value"] > ranked[1]["value"] > ranked[2]["value"] > 0
        assert ids(client.get("/recommendToAnonymous/new").text) == ["mid", "old"]
        assert ids(client.get("/recommendToMany/u0/u2").text) == []  # between them they know every item
        assert ids(client.get("/recommendWithContext/u4/mid").text) == ["old"]
        assert client.get("/knownItems/u0").text.splitlines() == ["old", "mid", "new"]  # in time order
        assert sorted(client.get("/item/allIDs").text.split()) == ["mid", "new", "old"]
        # bad input: clear errors
        assert client.get("/recommend/u4?howMany=0").status_code == 400
        assert client.get("/recommend/u4?offset=-1").status_code == 400
        assert client.get("/recommendToAnonymous/unknown-item").status_code == 400
        for path in ("/similarity/new", "/estimate/u2/new", "/because/u2/new", "/popularRepresentativeItems"):
            response = client.get(path.replace("u2", "u4"))
            assert response.status_code == 501 and "PopularServingModel" in response.text, path
        # the speed layer folds new input in at once: "old" becomes the most popular again
        with SpeedLayer(config) as speed:
            wait_for(lambda: speed.caught_up and speed.manager.model_status() == "ready", "the speed layer")
            assert client.post("/ingest", content="\n".join(f"v{n},old,1" for n in range(5))).status_code == 204
            wait_for(lambda: ids(client.get("/recommend/u4").text) == ["old", "mid"], "the speed layer's update")
        assert client.get("/knownItems/v0").text.strip() == "old"


def test_batch_skips_bad_records_and_publishes_a_model_ref_when_large(tmp_path: Path) -> None:
    config = popular_config(tmp_path, **{"oryx.update-topic.message.max-size": 1024, "oryx.popular.max-items": 50})
    lines = [f"u{n},i{n},1,{NOW}" for n in range(200)] + ["bad,record", '{"item": "x", "content": {}}', "u,i,-5,1"]
    from oryxpy.topics import open_producer

    runner = started_runner(config)
    with open_producer(config, "input") as producer:
        producer.send_all([(None, line) for line in lines])
    generation(runner)
    messages = read_updates(config)
    first = messages[0]
    assert isinstance(first, ModelRefMessage)  # 200 items do not fit 1024 bytes
    model = json.loads(LocalStorage().read_text(first.uri))
    assert model["modelType"] == "time-decayed-popular" and len(model["items"]) == 50  # max-items
    assert all(isinstance(m, VectorUpdate) and m.matrix == "X" for m in messages[1:]) and len(messages) == 201
    serving = PopularServingModelManager(config)
    for message in messages:
        serving.consume(message)
    assert serving.is_ready()


def test_managers_reject_other_models_and_stale_scores(tmp_path: Path) -> None:
    config = popular_config(tmp_path)
    speed, serving = PopularSpeedModelManager(config), PopularServingModelManager(config)
    for manager in (speed, serving):
        with pytest.raises(InvalidInput, match="not a time-decayed-popular model"):
            manager.consume(ModelMessage('{"modelType": "two-tower"}'))
        with pytest.raises(InvalidInput, match="not JSON"):
            manager.consume(ModelMessage("<PMML/>"))
    assert speed.model_status() == "none" and speed.build_updates(["u,i,1,1"]) == []
    state = PopularUpdate(config).build(NOW, _table(LINES_AT + [f"u{n},old,1,{NOW}" for n in range(4)]), None)
    speed.consume(ModelMessage(state.model_json()))
    assert speed.model_status() == "loading"  # the users' known items are still to come
    for key, value in known_updates(state, list(state.known)):
        speed.consume(decode(key, value))
    assert speed.model_status() == "ready"
    updates = speed.build_updates(["u9,new,2," + str(NOW), "not,a,record,at,all", "u9,,1,1"])  # bad ones skipped
    messages = [decode(k, v) for k, v in updates]
    assert [(m.matrix, m.id) for m in messages] == [("Y", "new"), ("X", "u9")]  # type: ignore[union-attr]
    assert messages[0].known[0] == str(NOW)  # type: ignore[union-attr, index]  # the model it was folded into
    serving.consume(ModelMessage(state.model_json()))
    model = serving.get_model()
    assert model is not None
    before = dict(model.state.scores)
    serving.consume(VectorUpdate("Y", "mid", messages[0].vector * 0 + 1e9, ("12345", str(NOW))))  # another model's
    assert model.state.scores == before  # ignored
    with pytest.raises(InvalidInput, match="not epoch milliseconds"):
        serving.consume(VectorUpdate("Y", "mid", messages[0].vector, (str(NOW), "soon")))
    serving.consume(messages[0])  # this model's: applied
    assert model.state.scores["new"] == pytest.approx(2.0, rel=1e-3)  # type: ignore[union-attr]
    assert [i for i, _ in model.top_items(3, set(), None)] == ["old", "new", "mid"]  # 4, 2 and 0.5
    assert all(k == UP for k, _ in updates)


def test_configuration_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="oryx.popular.half-life-hours"):
        popular_config(tmp_path, **{"oryx.popular.half-life-hours": 0.0})
    with pytest.raises(ConfigError, match="oryx.serving.application-resources.*nope"):
        create_app(popular_config(tmp_path, **{"oryx.serving.application-resources": "recommend,nope"}),
                   PopularServingModelManager(popular_config(tmp_path)), consume_updates=False)


def test_endpoint_groups_chosen_by_config(tmp_path: Path) -> None:
    config = popular_config(tmp_path, **{"oryx.serving.application-resources": "recommend,popular,ids,ready,popular.routes"})
    manager = served_manager(config, [f"{line},{NOW}" if line.count(",") == 2 else line for line in LINES])
    with TestClient(create_app(config, manager, consume_updates=False)) as client:
        paths = set(client.get("/openapi.json").json()["paths"])
        assert "/recommend/{userID}" in paths and "/similarity/{itemIDs}" not in paths and "/ingest" not in paths
        assert client.get("/similarity/new").status_code == 404  # not served at all
        assert client.post("/ingest", content="u,i").status_code in (404, 405)
        assert ids(client.get("/recommend/u4").text) == ["mid", "old"]
        # the model package's own endpoint, named by its module in the key
        assert "/popularity/{itemID}" in paths
        assert 1.0 < float(client.get("/popularity/mid").text) <= 2.0  # two users at NOW, decayed to now
        assert client.get("/popularity/nothing").status_code == 404


def test_as_the_control_arm_of_an_ab_test(tmp_path: Path) -> None:
    from serving.experiments.app import create_experiment_app
    from serving.experiments.variants import parse_variants
    from tests.serving import golden
    from tests.serving.conftest import client_for

    config = popular_config(tmp_path)
    popular = served_manager(config, [f"{u},{i},{n + 1},{NOW}" for u in golden.USERS for n, i in enumerate(golden.ITEMS[:3])])
    _, als = client_for(embedded_config_at(tmp_path / "als"))
    variants = parse_variants("pop:UpdPop:50:s1, als:UpdAls:50")
    app = create_experiment_app(config, variants, {"pop": popular, "als": als}, consume_updates=False)
    check_ab_split(app, variants, golden.USERS, golden.ITEMS[:3][::-1])


def _table(lines: list[str]):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    from oryxpy.interfaces import INPUT_SCHEMA

    return pa.table({"key": [None] * len(lines), "value": lines}, schema=INPUT_SCHEMA)


def test_a_model_many_half_lives_old_still_ranks(tmp_path: Path) -> None:
    """A model 100 000 half-lives older than the query (or than new input) neither overflows nor loses its order."""
    config = popular_config(tmp_path, **{"oryx.popular.half-life-hours": 0.001})  # 3.6 s
    old = NOW - 100_000 * 3600
    manager = served_manager(config, [f"u{n},a,1,{old}" for n in range(3)] + [f"u{n},b,1,{old}" for n in range(2)], old)
    model = manager.get_model()
    assert model is not None
    assert [i for i, _ in model.top_items(5, set(), None)] == ["a", "b"]  # scores decayed to 0.0 now, order kept
    speed = PopularSpeedModelManager(config)
    speed.consume(ModelMessage(model.state.model_json()))
    for key, value in known_updates(model.state, list(model.state.known)):
        speed.consume(decode(key, value))
    [(_, y_value), _] = speed.build_updates([f"v,b,1,{NOW}"])  # 100 000 half-lives after the model's time
    update = decode(UP, y_value)
    assert 0.99 < update.vector[0] < 1.01  # type: ignore[union-attr]  # b's score now: the new interaction alone
    manager.consume(update)
    assert [i for i, _ in model.top_items(5, set(), None)] == ["b", "a"]
