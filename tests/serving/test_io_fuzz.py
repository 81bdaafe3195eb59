"""Schema-driven fuzzing (schemathesis) of every operation in the OpenAPI spec, with a small model loaded: no 5xx, and
every status answered is one the spec documents for that operation (never FastAPI's 422)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

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
        documented = documented_statuses(app.openapi())
        assert all("422" not in statuses for statuses in documented.values())
        failures: list[str] = []
        allowed: set[str] = set()  # the statuses documented for the operation being fuzzed
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {"/ingest", "/pref/{userID}/{itemID}", "/metrics", "/"} <= {op.path for op in operations}
        for operation in operations:
            names = {p.name for p in operation.path_parameters}
            passes = [(schemathesis.GenerationMode.POSITIVE, None), (schemathesis.GenerationMode.NEGATIVE, None)]
            if names and names <= KNOWN.keys():
                passes.append((schemathesis.GenerationMode.POSITIVE, {n: KNOWN[n] for n in names}))
            allowed.clear()
            allowed.update(documented[(operation.method.lower(), operation.path)])
            for mode, pinned in passes:

                @given(case=operation.as_strategy(mode, path_parameters=pinned))
                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def call(case: object) -> None:
                    response = case.call()  # type: ignore[attr-defined]
                    if response.status_code >= 500 and str(response.status_code) not in ("501", "503"):
                        failures.append(f"{response.status_code} {case.as_curl_command()}\n  {response.text[:300]}")  # type: ignore[attr-defined]
                    if str(response.status_code) not in allowed:
                        failures.append(f"undocumented {response.status_code} {case.as_curl_command()}\n  "  # type: ignore[attr-defined]
                                        f"{response.text[:300]}")

                try:
                    call()
                except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
                    assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:20])


def documented_statuses(spec: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(method, path) -> the statuses the spec documents for that operation."""
    return {(method, path): set(operation["responses"]) for path, operations in spec["paths"].items()
            for method, operation in operations.items()}


#: hostile values for every path parameter (issue 12): huge, JSON-like, control characters, lone surrogate escapes
HOSTILE_IDS = ["u" * 8000, "[x", "{x", "%00", "a%0Ab", "x%ED%A0%80", "=cmd|' /C calc'!A0", "%2F%2F", " "]
HOSTILE_QUERIES = [{"howMany": v} for v in ("1_000", " 5 ", "\u0665", "-1", "0", "99999999999999999999")] + [
    {"offset": "1_0"}, {"considerKnownItems": "\x00"}, {"rescorerParams": "x" * 5000}]
HOSTILE_BODIES = [b"u,50,1,99999999999999999999999", b"[" * 3000, b'["x\\ud800","i","5"]', b"\xff\xfe", b"u,i,1_0",
                  b"u,i,1,2,3", b"x" * 20000 + b",i"]


def test_hostile_values_in_every_operation_give_no_server_error(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.api.max-body-bytes": 1 << 20})
    failures: list[str] = []
    with open_producer(config, "input") as producer:
        app = create_app(config, small_model_manager(config), producer, consume_updates=False)
        with TestClient(app) as client:
            spec = app.openapi()
            documented = documented_statuses(spec)
            for path, operations in spec["paths"].items():
                for method in operations:
                    targets = [path]
                    if "{" in path:
                        targets = [_fill(path, value) for value in HOSTILE_IDS] + [_fill(path, "") + "//x"]
                    for target in targets:
                        for query in [{}, *HOSTILE_QUERIES]:
                            for body in [None] if method in ("get", "delete") else HOSTILE_BODIES:
                                r = client.request(method.upper(), target, params=query, content=body)
                                if r.status_code >= 500 or str(r.status_code) not in documented[(method, path)]:
                                    failures.append(f"{r.status_code} {method.upper()} {target[:80]} {query} "
                                                    f"{(body or b'')[:40]!r}: {r.text[:200]}")
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:20])


def _fill(template: str, value: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", value, template)
