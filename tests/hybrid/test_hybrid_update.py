"""The hybrid update class (issue 17): ALS + two-tower built per generation, published as one blended ALS-format
model, served by the unchanged serving layer, its users folded in by the ALS speed manager."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.messages import decode
from oryxpy.storage import LocalStorage, join_uri
from serving.app import create_app
from speed.als.manager import ALSSpeedModelManager
from tests.batch.helpers import check_model_dir, check_published, model_dirs, read_updates
from tests.conftest import embedded_config_at
from tests.deep.planted import FAST_DEEP, T0, USERS_PER_GENRE, contents, genre_of, interactions
from tests.deep.test_end_to_end import generation, ranked, wait_served

HYBRID = {**FAST_DEEP, "oryx.batch.update-class": "batch.hybrid.update.HybridUpdate",
          "oryx.speed.model-manager-class": "speed.als.manager.ALSSpeedModelManager",
          "oryx.als.hyperparams.features": 6, "oryx.als.iterations": 5, "oryx.als.seed": 1,
          "oryx.hybrid.hyperparams.tower-features": 8, "oryx.hybrid.hyperparams.weight": 0.5}


def hybrid_config(tmp_path: Path, **more: object) -> Config:
    return embedded_config_at(tmp_path / "state", **{**HYBRID, **more})


def test_hybrid_generation_is_evaluated_published_and_served(tmp_path: Path) -> None:
    config = hybrid_config(tmp_path, **{"oryx.ml.eval.test-fraction": 0.1})
    generation(config, interactions() + contents())
    [model_uri] = model_dirs(config)
    check_model_dir(config, model_uri)
    assert not any(p.name.startswith(".") for p in Path(model_uri.removeprefix("file://")).iterdir())  # parts removed
    report = json.loads(LocalStorage().read_text(join_uri(model_uri, "metrics.json")))
    assert report["hyperparams"]["weight"] == 0.5 and report["hyperparams"]["tower-features"] == 8
    assert 0 < report["metrics"]["auc"] <= 1 and "ndcg@10" in report["metrics"]  # ALSUpdate's evaluation, on the blend
    info = check_published(config, read_updates(config))
    assert info.features == 6 + 8 and info.extra["hybrid"] == "als+two-tower" and "modelType" not in info.extra
    with TestClient(create_app(config)) as client:
        wait_served(client, 2 * USERS_PER_GENRE)
        assert sum(genre_of(i) == "a" for i in ranked(client, "/recommend/uA0?howMany=5")) >= 4
        assert sum(genre_of(i) == "b" for i in ranked(client, "/similarity/b1?howMany=5")) >= 4


def test_weight_one_is_als_alone_in_ranking(tmp_path: Path) -> None:
    """With weight 1 the tower half of every vector is zero: scores are ALS's divided by its spread."""
    config = hybrid_config(tmp_path, **{"oryx.ml.eval.test-fraction": 0.0, "oryx.hybrid.hyperparams.weight": 1.0})
    generation(config, interactions())
    [model_uri] = model_dirs(config)
    from oryxpy.modelfiles import read_vectors

    _, y, _ = read_vectors(LocalStorage(), join_uri(model_uri, "Y"))
    assert y.shape[1] == 14 and np.allclose(y[:, 6:], 0) and np.abs(y[:, :6]).sum() > 0


def test_speed_path_folds_new_users_into_the_blend(tmp_path: Path) -> None:
    config = hybrid_config(tmp_path, **{"oryx.ml.eval.test-fraction": 0.0})
    generation(config, interactions() + contents())
    speed = ALSSpeedModelManager(config)
    for message in read_updates(config):
        speed.consume(message)
    assert speed.model_status() == "ready"
    updates = [decode(k, v) for k, v in speed.build_updates([f"uNew,b3,1,{T0}", f"uNew,b4,1,{T0 + 1}"])]
    x_up = [u for u in updates if u.matrix == "X" and u.id == "uNew"]  # type: ignore[union-attr]
    assert x_up and len(x_up[-1].vector) == 14  # type: ignore[union-attr]
    with TestClient(create_app(config)) as client:
        wait_served(client, 2 * USERS_PER_GENRE)
        for update in updates:
            client.app.state.oryx.manager.consume(update)  # type: ignore[attr-defined]
        assert sum(genre_of(i) == "b" for i in ranked(client, "/recommend/uNew?howMany=3")) >= 2
