"""Schema-driven fuzzing (schemathesis) of every operation in the OpenAPI spec, with a small model loaded: no 5xx."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from oryxpy.topics import open_producer
from serving.app import create_app
from tests.conftest import embedded_config_at, require_service
from tests.serving.io_support import small_model_manager

#: examples per operation and generation mode; ORYXPY_FUZZ_EXAMPLES raises it for a longer hunt
EXAMPLES = int(os.environ.get("ORYXPY_FUZZ_EXAMPLES", "12"))
#: path parameters pinned to IDs of the model in a third pass, so that queries reach the ranking code
KNOWN = {"userID": "u1", "itemID": "i1"}


def test_fuzzing_the_openapi_spec_finds_no_server_error(tmp_path: Path) -> None:
    require_service("schemathesis (pip install 'schemathesis>=4,<5')", importlib.util.find_spec("schemathesis") is not None)
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.api.max-body-bytes": 1 << 20})
    with open_producer(config, "input") as producer:
        app = create_app(config, small_model_manager(config), producer, consume_updates=False)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {"/ingest", "/pref/{userID}/{itemID}", "/metrics", "/"} <= {op.path for op in operations}
        for operation in operations:
            names = {p.name for p in operation.path_parameters}
            passes = [(schemathesis.GenerationMode.POSITIVE, None), (schemathesis.GenerationMode.NEGATIVE, None)]
            if names and names <= KNOWN.keys():
                passes.append((schemathesis.GenerationMode.POSITIVE, {n: KNOWN[n] for n in names}))
            for mode, pinned in passes:

                @given(case=operation.as_strategy(mode, path_parameters=pinned))
                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def call(case: object) -> None:
                    response = case.call()  # type: ignore[attr-defined]
                    if response.status_code >= 500:
                        failures.append(f"{response.status_code} {case.as_curl_command()}\n  {response.text[:300]}")  # type: ignore[attr-defined]

                try:
                    call()
                except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
                    assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:20])
