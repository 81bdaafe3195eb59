"""Two model variants on one serving layer, through REST (issue 17): each fed by its own update topic, users assigned
by the stable hash, the variant named in a header (and in JSON on request), served lists published and joined with
later input into /experiment and /metrics."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.messages import encode
from oryxpy.topics import open_consumer, open_producer, setup_topics
from serving.als.manager import ALSServingModelManager
from serving.app import create_app
from serving.experiments.app import create_serving_app
from serving.experiments.variants import assign, parse_variants
from tests.serving import golden

ITEMS_B = list(reversed(golden.ITEMS))  # variant b: the same vectors under other item IDs, so its lists differ


def pick_salt() -> str:
    """A salt that puts some of the 7 golden users in each variant (found, not assumed)."""
    for n in range(100):
        variants = parse_variants(f"a:UpdA:50:s{n}, b:UpdB:50")
        names = {assign(variants, u).name for u in golden.USERS}
        if names == {"a", "b"}:
            return f"s{n}"
    raise AssertionError("no salt splits the golden users")


def expected_lists(config: Config, items: list[str]) -> dict[str, str]:
    manager = ALSServingModelManager(config, lsh_seed=1)
    golden.load(manager, golden.USERS, items)
    with TestClient(create_app(config, manager, consume_updates=False)) as client:
        return {u: client.get(f"/recommend/{u}?howMany=3").text for u in golden.USERS}


def wait_for(check: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_variants_on_one_serving_layer(embedded_config: Config) -> None:
    two_variants(embedded_config, "")


@pytest.mark.integration
def test_two_variants_on_kafka(kafka_config: Config) -> None:
    suffix = "-" + kafka_config["oryx.input-topic.message.topic"].rsplit("-", 1)[-1]
    for topic in (f"UpdA{suffix}", f"UpdB{suffix}"):
        setup_topics(kafka_config.with_overrides({"oryx.update-topic.message.topic": topic}))
    setup_topics(kafka_config.with_overrides({"oryx.input-topic.message.topic": f"OryxServed{suffix}"}))
    two_variants(kafka_config, suffix)


def two_variants(base: Config, suffix: str) -> None:
    salt = pick_salt()
    spec = f"a:UpdA{suffix}:50:{salt}, b:UpdB{suffix}:50"
    config = base.with_overrides({"oryx.serving.experiment.variants": spec,
                                  "oryx.serving.experiment.served-topic": f"OryxServed{suffix}",
                                  "oryx.serving.experiment.conversion-window-s": 600})
    variants = parse_variants(spec)
    for topic, items in ((f"UpdA{suffix}", golden.ITEMS), (f"UpdB{suffix}", ITEMS_B)):
        with open_producer(config.with_overrides({"oryx.update-topic.message.topic": topic}), "update") as producer:
            producer.send_all([encode(m) for m in golden.messages(golden.USERS, items)])  # type: ignore[arg-type]
    expected = {"a": expected_lists(config, golden.ITEMS), "b": expected_lists(config, ITEMS_B)}
    assert expected["a"] != expected["b"]

    with TestClient(create_serving_app(config)) as client:
        wait_for(lambda: all(client.get(f"/estimate/{u}/I1").status_code == 200 for u in golden.USERS))  # not published
        served = {}
        for user in golden.USERS:
            r = client.get(f"/recommend/{user}?howMany=3")
            variant = assign(variants, user).name
            assert r.headers["x-oryx-variant"] == variant
            assert r.text == expected[variant][user], (user, variant)
            served[user] = (variant, [line.split(",")[0] for line in r.text.splitlines()])
        user = golden.USERS[0]
        r = client.get(f"/recommend/{user}?howMany=3", headers={"Accept": "application/json", "X-Oryx-Variant-In-Body": "true"})
        body = r.json()
        assert body["variant"] == served[user][0] and [d["id"] for d in body["results"]] == served[user][1]
        r = client.get("/recommendToAnonymous/I1", headers={"X-Oryx-Assignment-Key": "device-42"})
        assert r.status_code == 200 and r.headers["x-oryx-variant"] == assign(variants, "device-42").name
        r = client.get("/recommendToAnonymous/I1")  # no key: the control answers, nothing is published
        assert r.headers["x-oryx-variant"] == "a"
        assert client.get("/ready").status_code == 200 and "x-oryx-variant" not in client.get("/ready").headers

        # the served-items topic holds every list served to a known key: 7 + 1 + 1
        served_topic = config.with_overrides({"oryx.input-topic.message.topic": f"OryxServed{suffix}"})
        with open_consumer(served_topic, "input") as c:
            records = []
            wait_for(lambda: records.extend(c.poll(0.1)) or len(records) >= 9)
        records.sort(key=lambda r: json.loads(r.value)["time"])
        first = json.loads(records[0].value)
        assert set(first) >= {"user", "variant", "items", "time"} and first["items"] == served[first["user"]][1]

        # take the first served item of two users: conversions for their variants
        for user in golden.USERS[:2]:
            assert client.post(f"/pref/{user}/{served[user][1][0]}", content="1").status_code in (200, 204)
        client.post("/pref/U6/not-served", content="1")

        def converted() -> bool:
            rows = {r["name"]: r for r in client.get("/experiment").json()["variants"]}
            return sum(r["conversions"] for r in rows.values()) == 2
        wait_for(converted)
        result = client.get("/experiment").json()
        rows = {r["name"]: r for r in result["variants"]}
        assert sum(r["exposures"] for r in rows.values()) == 9
        for user in golden.USERS[:2]:
            assert rows[served[user][0]]["conversions"] >= 1
        assert rows["a"]["control"] and "p_value" in rows["b"] and result["winner"] is None
        metrics = client.get("/metrics").text
        assert 'oryx_experiment_exposures{variant="a"}' in metrics and 'oryx_experiment_p_value{variant="b"}' in metrics


def test_bad_variant_config_is_a_clear_error(embedded_config: Config) -> None:
    config = embedded_config.with_overrides({"oryx.serving.experiment.variants": "a:UpdA"})
    with pytest.raises(ConfigError, match="oryx.serving.experiment.variants"):
        create_serving_app(config)
