"""exclude= and include= on every recommend, similarity and popularity endpoint, through REST (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.messages import ModelMessage
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from serving.als.manager import ALSServingModelManager
from serving.app import create_app
from tests.serving.golden import ITEMS, KNOWN, X, Y
from tests.serving.test_endpoints import JSON, assert_pairs, cos, expected_top, parse_csv

Y64, X64 = Y.astype(np.float64), X.astype(np.float64)


def known(user: str) -> set[str]:
    return {ITEMS[j] for j in KNOWN[user]}


def only(expected: list[tuple[str, float]], include: set[str]) -> list[tuple[str, float]]:
    return [p for p in expected if p[0] in include]


def test_recommend_exclude_repeatable_and_comma_separated(golden_client: TestClient) -> None:
    full = expected_top(X64[0] @ Y64.T, known("U0"), n=9)
    gone = {full[0][0], full[1][0], full[2][0]}
    r = golden_client.get(f"/recommend/U0?exclude={full[0][0]},{full[1][0]}&exclude={full[2][0]}&exclude=nosuch")
    assert r.status_code == 200, r.text
    got = parse_csv(r.text)
    assert not gone & {i for i, _ in got}
    assert_pairs(got, [p for p in full if p[0] not in gone][:10])


def test_recommend_include_scores_only_those(golden_client: TestClient) -> None:
    include = {"I1", "I3", "I6", "I0"}  # I0 is known to U0: still excluded
    r = golden_client.get("/recommend/U0?include=I1,I3&include=I6&include=I0&include=unknown", headers=JSON)
    assert r.status_code == 200, r.text
    got = [(d["id"], d["value"]) for d in r.json()]
    assert_pairs(got, only(expected_top(X64[0] @ Y64.T, known("U0"), n=9), include))
    r = golden_client.get("/recommend/U0?include=I1,I3&exclude=I3")
    assert [i for i, _ in parse_csv(r.text)] == ["I1"]


def test_lists_combine_with_rescorer(golden_client: TestClient) -> None:
    # the test rescorer keeps IDs with an odd last character and doubles scores
    expected = expected_top(X64[1] @ Y64.T, known("U1") | {"I3"}, n=9, filtered=True)
    r = golden_client.get("/recommend/U1?rescorerParams=a&exclude=I3&considerKnownItems=false")
    assert_pairs(parse_csv(r.text), expected)
    r = golden_client.get("/recommend/U1?rescorerParams=a&include=I2,I3,I6")  # all even but I3: only I3 can come
    assert [i for i, _ in parse_csv(r.text)] == ["I3"]
    np.testing.assert_allclose(parse_csv(r.text)[0][1], 2 * float(X64[1] @ Y64[3]), rtol=1e-12)


def test_recommend_to_many_anonymous_and_context(golden_client: TestClient) -> None:
    target = (X64[0] + X64[3]) / 2
    full = expected_top(target @ Y64.T, known("U0") | known("U3"), n=9)
    drop = full[0][0]
    r = golden_client.get(f"/recommendToMany/U0/U3?exclude={drop}")
    assert_pairs(parse_csv(r.text), [p for p in full if p[0] != drop])
    r = golden_client.get("/recommendToAnonymous/I0/I4?include=I1,I2,I4")
    assert r.status_code == 200 and {i for i, _ in parse_csv(r.text)} <= {"I1", "I2"}
    assert len(parse_csv(r.text)) == 2
    r = golden_client.get("/recommendToAnonymous/I0/I4?exclude=I1,I2")
    assert not {"I0", "I4", "I1", "I2"} & {i for i, _ in parse_csv(r.text)}
    r = golden_client.get("/recommendWithContext/U0/I1?exclude=I2&howMany=9")
    got = {i for i, _ in parse_csv(r.text)}
    assert got and not {"I1", "I2"} & got and not known("U0") & got
    r = golden_client.get("/recommendWithContext/U0/I1?include=I3")
    assert [i for i, _ in parse_csv(r.text)] == ["I3"]


def test_similarity_and_similarity_to_item(golden_client: TestClient) -> None:
    scores = [(ITEMS[j], cos(Y64[0], Y64[j])) for j in range(1, 9)]
    expected = sorted(scores, key=lambda p: -p[1])
    r = golden_client.get(f"/similarity/I0?exclude={expected[0][0]}&howMany=3")
    assert_pairs(parse_csv(r.text), expected[1:4])
    r = golden_client.get("/similarity/I0?include=I8,I5,I0")  # I0 is the query item: excluded as before
    assert_pairs(parse_csv(r.text), [p for p in expected if p[0] in {"I8", "I5"}])
    r = golden_client.get("/similarityToItem/I0/I1/I2/I3?exclude=I2", headers=JSON)
    values = r.json()
    assert values[1] == 0.0 and values[0] == pytest.approx(cos(Y64[0], Y64[1])) and values[2] != 0.0
    r = golden_client.get("/similarityToItem/I0/I1/I2?include=I2", headers=JSON)
    assert r.json()[0] == 0.0 and r.json()[1] == pytest.approx(cos(Y64[0], Y64[2]))


def test_most_popular_items(golden_client: TestClient) -> None:
    everything = golden_client.get("/mostPopularItems?howMany=9", headers=JSON).json()
    top = everything[0]["id"]
    r = golden_client.get(f"/mostPopularItems?howMany=9&exclude={top}", headers=JSON)
    assert [d["id"] for d in r.json()] == [d["id"] for d in everything if d["id"] != top]
    r = golden_client.get("/mostPopularItems?include=I0,I3,zzz", headers=JSON)
    assert sorted(d["id"] for d in r.json()) == ["I0", "I3"]


def test_bad_list_is_a_clear_400(golden_client: TestClient) -> None:
    r = golden_client.get("/recommend/U0", params={"exclude": "x" * 5000})
    assert r.status_code == 400 and "exclude" in r.text
    r = golden_client.get("/recommend/U0", params={"include": ["ok", "y" * 2000]})
    assert r.status_code == 400 and "include" in r.text


def test_openapi_documents_the_lists(golden_client: TestClient) -> None:
    spec = golden_client.get("/openapi.json").json()
    for path in ("/recommend/{userID}", "/recommendToMany/{userIDs}", "/recommendToAnonymous/{items}",
                 "/recommendWithContext/{userAndItems}", "/similarity/{itemIDs}", "/similarityToItem/{toItemAndItems}",
                 "/mostPopularItems"):
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"exclude", "include"} <= names, path


def test_short_include_list_scores_only_its_items_on_a_large_catalogue(embedded_config: Config) -> None:
    """200k items: a 5-item include list is answered from its 5 vectors; the catalogue is never scanned (counted on the
    model's scan batcher, which every exact scan goes through), while a request without it scans once."""
    rng = np.random.default_rng(7)
    n, k = 200_000, 32
    items = [f"i{j}" for j in range(n)]
    matrix = rng.standard_normal((n, k)).astype(np.float32)
    manager = ALSServingModelManager(embedded_config, lsh_seed=1)
    manager.consume(ModelMessage(als_model_to_pmml(ALSModelInfo(k, True, ["u"], items))))
    model = manager.get_model()
    model.bulk_load_items(items, matrix)  # type: ignore[union-attr]
    xu = rng.standard_normal(k).astype(np.float32)
    model.bulk_load_users(["u"], xu[None, :], [[]])  # type: ignore[union-attr]
    include = ["i5", "i77", "i123456", "i199999", "i42"]
    scans = []
    scores_of = model.batcher.scores  # type: ignore[union-attr]
    model.batcher.scores = lambda m, t: scans.append(len(m)) or scores_of(m, t)  # type: ignore[union-attr]
    with TestClient(create_app(embedded_config, manager, consume_updates=False)) as client:
        r = client.get(f"/recommend/u?howMany=3&include={','.join(include)}", headers=JSON)
        assert r.status_code == 200 and scans == []
        assert client.get("/recommend/u?howMany=3&exclude=i1").status_code == 200
        assert scans == [n]
    scores = {i: float(matrix[int(i[1:])].astype(np.float64) @ xu.astype(np.float64)) for i in include}
    expected = sorted(scores.items(), key=lambda p: -p[1])[:3]
    assert_pairs([(d["id"], d["value"]) for d in r.json()], expected)


def test_membership_is_the_same_for_short_and_long_id_lists() -> None:
    from serving.selection import ISIN_MAX, ListFilter, members

    ids = np.array([f"i{k}" for k in range(2000)], dtype=object)
    for size in (0, 1, ISIN_MAX, ISIN_MAX + 1, 1000):
        chosen = {f"i{k * 3}" for k in range(size)} | {"not-a-candidate"}
        expected = np.array([i in chosen for i in ids])
        assert (members(ids, chosen) == expected).all(), size
        assert (ListFilter(frozenset(), frozenset(chosen)).is_filtered_many(ids) == ~expected).all(), size
