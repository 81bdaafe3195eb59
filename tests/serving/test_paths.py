"""IDs with '/', spaces, '=', '+' and unicode in paths; the context path; 503 before the model is ready; errors."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest

from oryxpy.config import Config
from oryxpy.messages import ModelMessage, VectorUpdate
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from tests.serving import golden
from tests.serving.conftest import client_for

ODD_USERS = ["u/0", "user one", "usér☃", "a=b", "p+q", "U3", "x%2Fy", "comma,id"]
ODD_ITEMS = ["i/0", "item one", "itém☃", "c=d", "r+s", "I5", "a/b/c", 'quote"d', "I8"]


def enc(id_: str) -> str:
    return quote(id_, safe="")


def test_odd_ids_round_trip(embedded_config: Config) -> None:
    client, manager = client_for(embedded_config, load=False)
    golden.load(manager, ODD_USERS[:7], ODD_ITEMS)
    with client:
        assert client.get(f"/knownItems/{enc('u/0')}", headers={"Accept": "application/json"}).json() == ["i/0", "r+s", 'quote"d']
        for user in ODD_USERS[:7]:
            r = client.get(f"/recommend/{enc(user)}", headers={"Accept": "application/json"})
            assert r.status_code == 200, user
            assert {d["id"] for d in r.json()}.isdisjoint(manager.get_model().known_items(user))  # type: ignore[union-attr]
        r = client.get(f"/estimate/{enc('x%2Fy')}/{enc('a/b/c')}/{enc('itém☃')}", headers={"Accept": "application/json"})
        np.testing.assert_allclose(r.json(), [golden.X[6] @ golden.Y[6], golden.X[6] @ golden.Y[2]], rtol=1e-6)
        r = client.get(f"/similarityToItem/{enc('a/b/c')}/{enc('i/0')}/{enc('c=d')}")
        assert len(r.text.split()) == 2
        # an '=' written %3D is part of the ID; a literal '=' separates the strength
        quoted = enc('quote"d')
        r = client.get(f"/recommendToAnonymous/{enc('c=d')}=2.5/{quoted}")
        assert r.status_code == 200 and "c=d" not in r.text
        assert client.get(f"/because/{enc('p+q')}/{enc('r+s')}").status_code == 200
        assert "a/b/c" in client.get("/item/allIDs").text
        assert '"quote""d"' in client.get("/item/allIDs").text  # CSV quoting of an ID with a quote
        assert client.get("/recommend/u/0").status_code == 404  # unencoded '/' splits: user "u" is unknown


def test_invalid_utf8_segment_is_400(golden_client) -> None:  # type: ignore[no-untyped-def]
    assert golden_client.get("/recommend/%FF%FE").status_code == 400


def test_context_path(embedded_config: Config) -> None:
    client, _ = client_for(embedded_config, **{"oryx.serving.api.context-path": "/oryx/api/"})
    with client:
        assert client.get("/oryx/api/ready").status_code == 200
        assert client.get("/oryx/api/recommend/U0?howMany=1").text.startswith("I1,")
        assert client.get(f"/oryx/api/estimate/U0/{enc('I/0')}").text == "0.0\n"
        assert client.get("/recommend/U0").status_code == 404
        assert client.get("/oryx/api/openapi.json").status_code == 200


def test_not_ready_without_model(embedded_config: Config) -> None:
    client, _ = client_for(embedded_config, load=False)
    with client:
        for path in ("/ready", "/recommend/U0", "/knownItems/U0", "/item/allIDs", "/mostPopularItems", "/estimate/U0/I0"):
            r = client.get(path)
            assert r.status_code == 503, path
            assert r.text.startswith("no model yet; "), (path, r.text)
        assert client.head("/ready").status_code == 503


def test_readiness_follows_the_current_model(embedded_config: Config) -> None:
    client, manager = client_for(embedded_config, load=False, **{"oryx.serving.min-model-load-fraction": 0.5})
    with client:
        ids = [f"u{i}" for i in range(4)], [f"i{i}" for i in range(4)]
        manager.consume(ModelMessage(als_model_to_pmml(ALSModelInfo(2, True, *ids))))
        assert client.get("/ready").status_code == 503  # 0 of 8 loaded
        for i in range(3):
            manager.consume(VectorUpdate("Y", f"i{i}", np.ones(2, np.float32)))
        assert client.get("/ready").status_code == 503  # 3/8 < 0.5
        manager.consume(VectorUpdate("X", "u0", np.ones(2, np.float32)))
        assert client.get("/ready").status_code == 200 and client.head("/ready").status_code == 200  # 4/8
        # a new model whose IDs are all new (the old vectors arrived after the last MODEL, so are recent and kept)
        new_ids = [f"v{i}" for i in range(20)], [f"j{i}" for i in range(20)]
        manager.consume(ModelMessage(als_model_to_pmml(ALSModelInfo(2, True, *new_ids))))
        assert client.get("/ready").status_code == 503  # 4 recent kept, 40 expected: not ready again (no latch)
        # a model with a different number of features starts empty
        manager.consume(ModelMessage(als_model_to_pmml(ALSModelInfo(3, True, ["w"], []))))
        assert client.get("/ready").status_code == 503
        manager.consume(VectorUpdate("X", "w", np.ones(3, np.float32)))
        assert client.get("/ready").status_code == 200
        assert client.get("/user/allIDs").text == "w\n"


@pytest.mark.parametrize("path", ["/recommend", "/recommend/", "/similarity/", "/estimate/", "/because/U0", "/recommend/U0/I1",
                                  "/because/U0/I1/I2", "/knownItems/U0/I1", "/mostSurprising/U0/x", "/knownItems/"])
def test_missing_ids_are_404(golden_client, path: str) -> None:  # type: ignore[no-untyped-def]
    assert golden_client.get(path).status_code == 404


def test_openapi_documents_every_read_endpoint(golden_client) -> None:  # type: ignore[no-untyped-def]
    paths = golden_client.get("/openapi.json").json()["paths"]
    for name in ("recommend", "recommendToMany", "recommendToAnonymous", "recommendWithContext", "similarity",
                 "similarityToItem", "estimate", "estimateForAnonymous", "because", "mostSurprising",
                 "popularRepresentativeItems", "mostActiveUsers", "mostPopularItems", "knownItems", "item/allIDs",
                 "user/allIDs", "ready"):
        assert any(p == f"/{name}" or p.startswith(f"/{name}/") for p in paths), name
