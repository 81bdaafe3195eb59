"""From outside: poison records (refused at the REST API, or written to the input topic by another producer) followed
by ml-100k through /ingest leave a model under `oryxpy run` that covers every user of the data set."""

from __future__ import annotations

import pytest

from oryxpy.topics import open_producer
from tests.hostile.test_topics import POISON
from tests.integration.system import RunningSystem
from tests.integration.test_end_to_end import movielens_csv, system_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_poison_then_ml100k_gives_a_model_of_every_user(embedded_config, shared_data, tmp_path):  # type: ignore[no-untyped-def]
    data = movielens_csv(shared_data("ml-100k/u.data"))
    users = {line.split(b",")[0].decode() for line in data.splitlines()}
    system = RunningSystem(system_config(embedded_config), tmp_path / "run.log").start()
    try:
        for line in POISON[:3] + POISON[4:] + ["u,i,1,2,3", "[" * 1000 + "]" * 1000]:
            assert system.client.post("/ingest", content=line.encode("utf-8", "surrogatepass")).status_code == 400, line
        assert system.client.post(f"/pref/{'u' * 8000}/50").status_code == 400
        with open_producer(system.config, "input") as producer:  # another producer writes poison to the topic itself
            producer.send_all([(None, v) for v in POISON])
        assert system.client.post("/ingest", content=data, headers={"Content-Type": "text/csv"}).status_code == 204
        system.wait_for(lambda: system.get("/ready").status_code == 200, 300, "a model built despite the poison")
        # a generation may hold part of the input (reading is bounded in time): wait for one that holds it all
        system.wait_for(lambda: users <= set(system.get("/user/allIDs").text.split()), 300,
                        "a model of every ml-100k user")
        assert all(system.get(f"/recommend/{u}").status_code == 200 for u in sorted(users)[:100])
        log = (tmp_path / "run.log").read_text(errors="replace")
        assert "Traceback" not in log and "OverflowError" not in log
    finally:
        system.stop()
