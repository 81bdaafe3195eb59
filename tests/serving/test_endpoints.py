"""Every read endpoint on the golden fixture, checked against values computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.serving.golden import ITEMS, KNOWN, USERS, X, Y

JSON = {"Accept": "application/json"}
Y64, X64 = Y.astype(np.float64), X.astype(np.float64)


def parse_csv(text: str) -> list[tuple[str, float]]:
    return [(line.split(",")[0], float(line.split(",")[1])) for line in text.splitlines()]


def known(user: str) -> set[str]:
    return {ITEMS[j] for j in KNOWN[user]}


def expected_top(scores: np.ndarray, exclude: set[str], n: int = 10, filtered: bool = False) -> list[tuple[str, float]]:
    pairs = [(ITEMS[j], float(scores[j])) for j in range(len(ITEMS)) if ITEMS[j] not in exclude]
    if filtered:  # the test rescorer: drop IDs whose last char code is even, double scores
        pairs = [(i, 2 * s) for i, s in pairs if ord(i[-1]) % 2 == 1]
    return sorted(pairs, key=lambda p: -p[1])[:n]


def assert_pairs(actual: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [i for i, _ in actual] == [i for i, _ in expected]
    np.testing.assert_allclose([v for _, v in actual], [v for _, v in expected], rtol=1e-12, atol=1e-12)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def fold(pairs: list[tuple[int, float]], xu: np.ndarray | None) -> np.ndarray:
    """Oryx's fold-in (spec 4.4), written out independently for the implicit golden model."""
    yty = Y64.T @ Y64
    for j, value in pairs:
        yi = Y64[j]
        qui = float(xu @ yi) if xu is not None else 0.0
        current = qui if xu is not None else 0.5
        if value > 0 and current < 1:
            target = current + (value / (1 + value)) * (1 - max(0.0, current))
        elif value < 0 and current > 0:
            target = current + (value / (value - 1)) * (-min(1.0, current))
        else:
            continue
        dxu = np.linalg.solve(yty, yi * (target - qui))
        xu = ((xu.astype(np.float32) if xu is not None else np.zeros(2, np.float32)) + dxu).astype(np.float32).astype(np.float64)
    return xu  # type: ignore[return-value]


@pytest.mark.parametrize("user", USERS)
def test_recommend_every_user(golden_client: TestClient, user: str) -> None:
    r = golden_client.get(f"/recommend/{user}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ X64[USERS.index(user)], known(user)))


def test_recommend_parameters(golden_client: TestClient) -> None:
    scores = Y64 @ X64[1]
    r = golden_client.get("/recommend/U1?howMany=2&offset=1&considerKnownItems=true")
    assert_pairs(parse_csv(r.text), expected_top(scores, set(), 3)[1:])
    r = golden_client.get("/recommend/U1?rescorerParams=a", headers=JSON)
    expected = expected_top(scores, known("U1"), filtered=True)
    assert_pairs([(d["id"], d["value"]) for d in r.json()], expected)
    assert r.headers["content-type"] == "application/json"


def test_recommend_to_many(golden_client: TestClient) -> None:
    mean = (X64[0] + X64[3]) / 2
    r = golden_client.get("/recommendToMany/U0/U3")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ mean, known("U0") | known("U3")))
    r = golden_client.get("/recommendToMany/U0/U3?considerKnownItems=true&rescorerParams=x&howMany=3")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ mean, set(), 3, filtered=True))
    assert golden_client.get("/recommendToMany/U0/nobody").status_code == 404


def test_recommend_to_anonymous(golden_client: TestClient) -> None:
    xu = fold([(0, 2.0), (4, 1.0)], None)
    r = golden_client.get("/recommendToAnonymous/I0=2/I4/unknown")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ xu, {"I0", "I4", "unknown"}))
    r = golden_client.get("/recommendToAnonymous/I0=2/I4?rescorerParams=1&howMany=2")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ xu, {"I0", "I4"}, 2, filtered=True))
    assert golden_client.get("/recommendToAnonymous/nothing/known").status_code == 400
    assert golden_client.get("/recommendToAnonymous/I0=abc").status_code == 400


def test_recommend_with_context(golden_client: TestClient) -> None:
    xu = fold([(1, 1.0), (2, 0.5)], X64[0])
    r = golden_client.get("/recommendWithContext/U0/I1/I2=0.5")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ xu, known("U0") | {"I1", "I2"}))
    r = golden_client.get("/recommendWithContext/U0/")  # no context: plain recommend
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ X64[0], known("U0")))
    assert golden_client.get("/recommendWithContext/nobody/I1").status_code == 404


def test_similarity(golden_client: TestClient) -> None:
    target = Y64[0] + Y64[3]
    scores = np.array([cos(y, target) for y in Y64])
    r = golden_client.get("/similarity/I0/I3", headers=JSON)
    assert_pairs([(d["id"], d["value"]) for d in r.json()], expected_top(scores, {"I0", "I3"}))
    r = golden_client.get("/similarity/I0/I3?rescorerParams=z&howMany=2&offset=1")
    assert_pairs(parse_csv(r.text), expected_top(scores, {"I0", "I3"}, 3, filtered=True)[1:])
    assert golden_client.get("/similarity/I0/nothing").text == "unknown item 'nothing'"


def test_similarity_to_item(golden_client: TestClient) -> None:
    r = golden_client.get("/similarityToItem/I2/I0/nothing/I7", headers=JSON)
    np.testing.assert_allclose(r.json(), [cos(Y64[0], Y64[2]), 0.0, cos(Y64[7], Y64[2])], rtol=1e-12)
    assert golden_client.get("/similarityToItem/nothing/I0").status_code == 404


def test_estimate(golden_client: TestClient) -> None:
    r = golden_client.get("/estimate/U2/I0/nothing/I8")
    np.testing.assert_allclose([float(v) for v in r.text.split()], [X64[2] @ Y64[0], 0.0, X64[2] @ Y64[8]], rtol=1e-12)
    assert golden_client.get("/estimate/nobody/I0").status_code == 404


def test_estimate_for_anonymous(golden_client: TestClient) -> None:
    xu = fold([(1, 1.0), (5, 3.0)], None)
    r = golden_client.get("/estimateForAnonymous/I8/I1/I5=3", headers=JSON)
    assert r.json() == pytest.approx(float(xu @ Y64[8]), rel=1e-12)
    assert golden_client.get("/estimateForAnonymous/I8/unknown").text == "0.0\n"
    assert golden_client.get("/estimateForAnonymous/nothing/I1").status_code == 404


def test_because(golden_client: TestClient) -> None:
    expected = sorted(((ITEMS[j], cos(Y64[j], Y64[3])) for j in KNOWN["U4"]), key=lambda p: -p[1])
    r = golden_client.get("/because/U4/I3?howMany=3&offset=1")
    assert_pairs(parse_csv(r.text), expected[1:4])
    assert golden_client.get("/because/U4/nothing").status_code == 404
    assert golden_client.get("/because/nobody/I3").status_code == 404  # fixed quirk: Oryx answered []


def test_most_surprising(golden_client: TestClient) -> None:
    expected = sorted(((ITEMS[j], float(X64[5] @ Y64[j])) for j in KNOWN["U5"]), key=lambda p: p[1])
    assert_pairs(parse_csv(golden_client.get("/mostSurprising/U5").text), expected)
    assert_pairs(parse_csv(golden_client.get("/mostSurprising/U5?howMany=2&offset=2").text), expected[2:4])
    assert golden_client.get("/mostSurprising/nobody").status_code == 404


def test_popular_representative_items(golden_client: TestClient) -> None:
    expected = [ITEMS[int(np.argmax(Y64[:, f]))] for f in range(2)]
    assert golden_client.get("/popularRepresentativeItems", headers=JSON).json() == expected
    assert golden_client.get("/popularRepresentativeItems").text == "".join(i + "\n" for i in expected)


def test_most_active_users_and_popular_items(golden_client: TestClient) -> None:
    r = golden_client.get("/mostActiveUsers?howMany=2", headers=JSON)
    assert r.json()[0] == {"id": "U5", "count": 7} and r.json()[1]["count"] == 6
    r = golden_client.get("/mostActiveUsers?rescorerParams=x")  # filters U0, U2, U4, U6
    assert parse_csv(r.text) == [("U5", 7), ("U1", 5), ("U3", 3)]
    counts = {i: sum(ITEMS.index(i) in v for v in KNOWN.values()) for i in ITEMS}
    r = golden_client.get("/mostPopularItems?howMany=9")
    assert dict(parse_csv(r.text)) == counts
    assert [c for _, c in parse_csv(r.text)] == sorted(counts.values(), reverse=True)
    r = golden_client.get("/mostPopularItems?rescorerParams=x&offset=1", headers=JSON)
    assert [d["id"] for d in r.json()] == ["I5", "I1", "I3"]
    assert golden_client.get("/mostPopularItems?howMany=-1").status_code == 400  # fixed quirk: Oryx answered 500


def test_known_items_and_all_ids(golden_client: TestClient) -> None:
    assert golden_client.get("/knownItems/U3", headers=JSON).json() == ["I3", "I6", "I8"]
    assert golden_client.get("/knownItems/nobody").text == ""
    assert sorted(golden_client.get("/item/allIDs").text.split()) == ITEMS
    assert sorted(golden_client.get("/user/allIDs", headers=JSON).json()) == USERS


@pytest.mark.parametrize(("query", "message"), [
    ("howMany=0", "howMany must be positive"),
    ("howMany=-3", "howMany must be positive"),
    ("offset=-1", "offset must be nonnegative"),
    ("howMany=100001", "howMany + offset is too large"),
    ("howMany=99999&offset=2", "howMany + offset is too large"),
    ("howMany=ten", "howMany must be an integer"),
    ("offset=1.5", "offset must be an integer"),
])
def test_bad_paging_is_400(golden_client: TestClient, query: str, message: str) -> None:
    for path in ("/recommend/U0", "/similarity/I0", "/because/U0/I1", "/mostActiveUsers", "/recommendToAnonymous/I1"):
        r = golden_client.get(f"{path}?{query}")
        assert (r.status_code, r.text) == (400, message), path


def test_unknown_ids_are_404_with_the_id(golden_client: TestClient) -> None:
    for path in ("/recommend/nobody", "/mostSurprising/nobody", "/estimate/nobody/I1", "/similarity/nothing"):
        r = golden_client.get(path)
        assert (r.status_code, r.text) == (404, "unknown user 'nobody'" if "nobody" in path else "unknown item 'nothing'")


def test_accept_header_chooses_format(golden_client: TestClient) -> None:
    assert golden_client.get("/estimate/U0/I0", headers={"Accept": "text/csv"}).headers["content-type"].startswith("text/csv")
    assert golden_client.get("/estimate/U0/I0", headers={"Accept": "*/*"}).text.endswith("\n")
    both = {"Accept": "text/plain;q=0.5, application/json"}
    assert isinstance(golden_client.get("/estimate/U0/I0", headers=both).json(), list)


def test_csv_numbers_use_java_double_text(golden_client: TestClient) -> None:
    r = golden_client.get("/recommendToMany/U1/U2?considerKnownItems=true&howMany=9")
    values = [line.split(",")[1] for line in r.text.splitlines()]
    assert all("e" not in v for v in values)  # Java writes E, never e
    assert golden_client.get("/estimateForAnonymous/I8/unknown").text == "0.0\n"


def test_recommend_with_context_and_rescorer(golden_client: TestClient) -> None:
    xu = fold([(3, 1.0)], X64[2])
    r = golden_client.get("/recommendWithContext/U2/I3?rescorerParams=on&considerKnownItems=true")
    assert_pairs(parse_csv(r.text), expected_top(Y64 @ xu, {"I3"}, filtered=True))


def test_fold_in_without_a_solver_is_503(embedded_config) -> None:  # type: ignore[no-untyped-def]
    from oryxpy.messages import VectorUpdate
    from tests.serving.conftest import client_for
    from tests.serving.test_model import model_message

    client, manager = client_for(embedded_config, load=False)
    manager.consume(model_message(["u"], ["i", "j"]))
    for item in ("i", "j"):  # parallel vectors: Y'Y is singular
        manager.consume(VectorUpdate("Y", item, np.array([1.0, 2.0], np.float32)))
    manager.consume(VectorUpdate("X", "u", np.array([1.0, 0.0], np.float32)))
    with client:
        r = client.get("/recommendToAnonymous/i")
        assert (r.status_code, r.text) == (503, "No solver available for model yet")
        assert client.get("/estimateForAnonymous/j/i").status_code == 503
        assert client.get("/similarity/i").status_code == 200


def test_an_id_the_model_names_whose_vector_is_on_its_way_is_503_not_404(embedded_config) -> None:  # type: ignore[no-untyped-def]
    """Ready at min-model-load-fraction (0.8) before every UP arrived: a user or item the model names but whose
    vector has not arrived is 'retry shortly' (503), not 'unknown' (404); an ID the model never named stays 404."""
    from oryxpy.messages import VectorUpdate
    from tests.serving.conftest import client_for
    from tests.serving.test_model import model_message

    client, manager = client_for(embedded_config, load=False)
    users, items = [f"u{i}" for i in range(10)], [f"i{i}" for i in range(10)]
    manager.consume(model_message(users, items))
    rng = np.random.default_rng(3)
    for item in items[:-1]:
        manager.consume(VectorUpdate("Y", item, rng.normal(size=2).astype(np.float32)))
    for user in users[:-2]:
        manager.consume(VectorUpdate("X", user, rng.normal(size=2).astype(np.float32)))
    with client:
        assert client.get("/ready").status_code == 200  # 17 of 20 vectors: 85 %
        assert client.get("/recommend/u0").status_code == 200
        for path in ("/recommend/u9", "/estimate/u8/i0", "/mostSurprising/u9", "/because/u9/i0",
                     "/recommendToMany/u0/u9", "/recommendWithContext/u9/i0"):
            r = client.get(path)
            assert r.status_code == 503 and "vector has not arrived yet" in r.text and "user 'u" in r.text, path
        for path in ("/similarity/i9", "/similarityToItem/i9/i0", "/estimateForAnonymous/i9/i0", "/because/u0/i9"):
            r = client.get(path)
            assert (r.status_code, r.text.split(" is ")[0]) == (503, "item 'i9'"), path
        assert (client.get("/recommend/nobody").status_code, client.get("/similarity/nothing").status_code) == (404, 404)
        manager.consume(VectorUpdate("X", "u9", rng.normal(size=2).astype(np.float32)))
        manager.consume(VectorUpdate("Y", "i9", rng.normal(size=2).astype(np.float32)))
        assert client.get("/recommend/u9").status_code == 200 and client.get("/similarity/i9").status_code == 200
