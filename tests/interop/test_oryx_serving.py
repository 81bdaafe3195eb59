"""The released Oryx 2.8.0 serving layer and ours answer the same on one update topic written by our batch.

Needs Kafka (scripts/services.sh), Maven and a JDK (scripts/fetch-oryx.sh fetches Oryx 2.8.0 once). Setup is in
conftest.py; the whole module takes about two minutes on two cores.
"""

from __future__ import annotations

import math
import time

import pytest

from tests.interop.conftest import Interop, wait_until

JSON = {"Accept": "application/json"}
USERS = 50


def both(interop: Interop, path: str) -> tuple[object, object]:
    """The JSON answers of Oryx and ours to GET path (asserting both are 200)."""
    a, b = interop.oryx.get(path, headers=JSON), interop.ours.get(path, headers=JSON)
    assert (a.status_code, b.status_code) == (200, 200), f"{path}: Oryx {a.status_code} {a.text[:200]!r}, ours {b.status_code} {b.text[:200]!r}"
    return a.json(), b.json()


def assert_same_pairs(path: str, oryx: list[dict], ours: list[dict], tol: float = 1e-6) -> None:
    assert [p["id"] for p in oryx] == [p["id"] for p in ours], path
    for a, b in zip(oryx, ours, strict=True):
        assert math.isclose(a["value"], b["value"], rel_tol=tol, abs_tol=tol), (path, a, b)


def test_model_is_read_by_oryx_2_8(interop: Interop) -> None:
    oryx_users, our_users = both(interop, "/user/allIDs")
    oryx_items, our_items = both(interop, "/item/allIDs")
    assert len(our_users) == 943 and len(our_items) == 1682
    assert sorted(oryx_users) == sorted(our_users) and sorted(oryx_items) == sorted(our_items)


def test_compatible_defaults_warn_nothing(interop: Interop) -> None:
    for layer in ("serving", "speed"):
        text = interop.layer_logs[layer].read_text(errors="replace")
        assert f"{layer} layer: Oryx 2.8" not in text and "Speed layer started" in interop.layer_logs["speed"].read_text()


def test_recommend_same_for_50_users(interop: Interop) -> None:
    for user in interop.user_ids[:USERS]:
        path = f"/recommend/{user}?howMany=10"
        oryx, ours = both(interop, path)
        assert len(ours) == 10
        assert_same_pairs(path, oryx, ours)  # type: ignore[arg-type]


def test_similarity_estimate_known_items(interop: Interop) -> None:
    items, users = interop.item_ids, interop.user_ids
    for item in items[:10]:
        oryx, ours = both(interop, f"/similarity/{item}/{items[-1]}?howMany=8")
        assert_same_pairs(f"/similarity/{item}", oryx, ours)  # type: ignore[arg-type]
    for user in users[:10]:
        oryx, ours = both(interop, f"/estimate/{user}/{items[0]}/{items[1]}/{items[2]}")
        assert len(ours) == 3  # type: ignore[arg-type]
        assert all(math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)
                   for a, b in zip(oryx, ours, strict=True)), (user, oryx, ours)  # type: ignore[call-overload]
        oryx, ours = both(interop, f"/knownItems/{user}")
        assert sorted(oryx) == sorted(ours) and ours  # type: ignore[arg-type]
    oryx, ours = both(interop, f"/similarityToItem/{items[0]}/{items[1]}/{items[2]}")
    assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6) for a, b in zip(oryx, ours, strict=True))  # type: ignore[call-overload]


def test_most_popular_and_active_in_oryx_order(interop: Interop) -> None:
    # ml-100k has many equal counts: the tie order must be Oryx's too
    for path in ("/mostPopularItems?howMany=300", "/mostPopularItems?howMany=20&offset=150", "/mostActiveUsers?howMany=300"):
        oryx, ours = both(interop, path)
        assert len(ours) > 0  # type: ignore[arg-type]
        counts = [p["count"] for p in ours]  # type: ignore[union-attr]
        assert len(set(counts)) < len(counts), f"{path}: no ties to check"
        assert oryx == ours, path


#: Requests whose status Oryx 2.8.0 and ours must agree on (method, path, body, content type).
SAME_STATUS = [
    ("GET", "/ready", None, None),
    ("GET", "/recommend/nosuchuser", None, None),
    ("GET", "/similarity/nosuchitem", None, None),
    ("GET", "/estimate/1/nosuchitem", None, None),
    ("GET", "/knownItems/nosuchuser", None, None),
    ("GET", "/estimate/1", None, None),
    ("GET", "/mostPopularItems?howMany=0", None, None),
    ("GET", "/recommendToAnonymous", None, None),
    ("GET", "/nosuchendpoint", None, None),
    ("POST", "/pref/1/2", "1.5", "text/plain"),
]


#: Where ours answers differently on purpose (README, Compatibility with Oryx): (request, Oryx's status, ours).
DIFFERENT_STATUS = [
    # Oryx answers 404 to a malformed number (JAX-RS cannot convert the parameter); ours says what is wrong with 400
    (("GET", "/recommend/1?howMany=abc", None, None), 404, 400),
    # a negative howMany: Oryx fails inside (500); ours says what is wrong
    (("GET", "/mostPopularItems?howMany=-1", None, None), 500, 400),
    # curl -d sends a form-encoded body; Oryx's /pref takes text/plain only
    (("POST", "/pref/1/3", "2.0", "application/x-www-form-urlencoded"), 415, 204),
]


def status_pair(interop: Interop, method: str, path: str, body: str | None, ctype: str | None) -> list[int]:
    headers = {"Content-Type": ctype} if ctype else {}
    return [client.request(method, path, content=body, headers=headers, follow_redirects=True).status_code
            for client in (interop.oryx, interop.ours)]


@pytest.mark.parametrize(("method", "path", "body", "ctype"), SAME_STATUS, ids=[f"{m} {p}" for m, p, _, _ in SAME_STATUS])
def test_status_codes_match_oryx(interop: Interop, method: str, path: str, body: str | None, ctype: str | None) -> None:
    oryx, ours = status_pair(interop, method, path, body, ctype)
    assert oryx == ours, f"{method} {path}: Oryx {oryx}, ours {ours}"


@pytest.mark.parametrize(("request_", "oryx_status", "our_status"), DIFFERENT_STATUS,
                         ids=[f"{r[0]} {r[1]}" for r, _, _ in DIFFERENT_STATUS])
def test_documented_status_differences(interop: Interop, request_: tuple, oryx_status: int, our_status: int) -> None:
    assert status_pair(interop, *request_) == [oryx_status, our_status]


def test_oryx_pref_and_ingest_reach_our_speed_and_batch(interop: Interop) -> None:
    """Oryx's /pref and /ingest write the input topic; our speed layer folds them in (both serving layers see
    the result) and our batch stores them."""
    user, item = f"oryx-user-{int(time.time())}", interop.item_ids[0]
    response = interop.oryx.post(f"/pref/{user}/{item}", content="4.5", headers={"Content-Type": "text/plain"})
    assert response.status_code == 204, response.text
    other = f"{user}-ingest"
    response = interop.oryx.post("/ingest", content=f"{other},{item},2\n", headers={"Content-Type": "text/plain"})
    assert response.status_code == 204, response.text
    for client, name in ((interop.oryx, "Oryx"), (interop.ours, "ours")):
        wait_until(lambda c=client: c.get(f"/knownItems/{user}", headers=JSON).text == f'["{item}"]', 60,
                   f"the speed layer's update for {user} in {name}")
    oryx, ours = both(interop, f"/recommend/{user}?howMany=10")
    assert_same_pairs(f"/recommend/{user}", oryx, ours)  # type: ignore[arg-type]
    assert interop.runner.run_generation(), "our batch built no model from the new input"
    stored = interop.runner.read_past_data()
    assert stored is not None
    values = stored.column("value").to_pylist()
    mine = [v for v in values if v.startswith(f"{user},")]
    assert len(mine) == 1 and mine[0].startswith(f"{user},{item},4.5,"), mine
    ingested = [v for v in values if v.startswith(f"{other},")]
    assert len(ingested) == 1 and ingested[0].startswith(f"{other},{item},2"), ingested
