"""Connection limits of the real server (uvicorn with serving.limits): head size, head and body timeouts, keep-alive,
and Digest authentication that cannot be replayed."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from oryxpy.config import Config
from serving.layer import server_config
from serving.security import parse_auth_params
from tests.conftest import embedded_config_at
from tests.integration.system import free_port


@contextlib.contextmanager
def running(tmp_path: Path, **overrides: object) -> Iterator[tuple[Config, int]]:
    """The serving layer's real uvicorn server, with short limits, on a free port in a thread."""
    port = free_port()
    config = embedded_config_at(tmp_path / "state", **{
        "oryx.serving.api.port": port, "oryx.serving.api.max-header-bytes": 4096,
        "oryx.serving.api.header-timeout-ms": 1000, "oryx.serving.api.body-timeout-ms": 1000,
        "oryx.serving.api.keep-alive-timeout-ms": 1000, "oryx.serving.api.max-connections": 50, **overrides})
    uv = server_config(config)
    srv = uvicorn.Server(uv)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    try:
        yield config, port
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Config, int]]:
    with running(tmp_path) as started:
        yield started


def exchange(port: int, data: bytes, wait_s: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as s:
        s.sendall(data)
        return receive_all(s)


def receive_all(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return out


def test_oversized_head_is_431(server: tuple[Config, int]) -> None:
    _, port = server
    answer = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    answer = exchange(port, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]


def test_slow_head_and_idle_connection_are_closed(server: tuple[Config, int]) -> None:
    _, port = server
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # connects, never sends a byte
        answer = receive_all(s)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 5, answer[:100]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # half a request line
        s.sendall(b"GET /rea")
        assert receive_all(s).startswith(b"HTTP/1.1 408")


def test_slow_body_is_closed(server: tuple[Config, int]) -> None:
    _, port = server
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nu,i\n")
        answer = receive_all(s)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 6, answer[:100]


def test_keep_alive_idle_connection_is_closed(server: tuple[Config, int]) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        answer = receive_all(s)  # the answer, then the server closes the idle keep-alive connection
        assert answer.startswith(b"HTTP/1.1 200") and time.monotonic() - started < 5


def _digest(challenge: str, uri: str, nc: str | None, qop: bool = True) -> str:
    p = parse_auth_params(challenge.split(" ", 1)[1])

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest

    ha1, ha2 = md5("oryx:Oryx:pw"), md5(f"GET:{uri}")
    if not qop:  # RFC 2069: no qop, no nonce count
        plain = md5(f"{ha1}:{p['nonce']}:{ha2}")
        return f'Digest username="oryx", realm="Oryx", nonce="{p["nonce"]}", uri="{uri}", response="{plain}"'
    response = md5(f"{ha1}:{p['nonce']}:{nc}:c0ffee:auth:{ha2}")
    return (f'Digest username="oryx", realm="Oryx", nonce="{p["nonce"]}", uri="{uri}", qop=auth, nc={nc}, '
            f'cnonce="c0ffee", response="{response}"')


def test_digest_requires_qop_auth_and_refuses_replays(tmp_path: Path) -> None:
    import httpx

    with running(tmp_path, **{"oryx.serving.api.user-name": "oryx", "oryx.serving.api.password": "pw"}) as (_, port), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        challenge = client.get("/ready").headers["www-authenticate"]
        assert client.get("/ready", headers={"Authorization": _digest(challenge, "/ready", None, qop=False)}).status_code == 401
        first = client.get("/ready", headers={"Authorization": _digest(challenge, "/ready", "00000001")})
        assert first.status_code in (200, 503)  # authenticated (no model yet: 503)
        replay = client.get("/ready", headers={"Authorization": _digest(challenge, "/ready", "00000001")})
        assert replay.status_code == 401
        assert client.get("/ready", auth=httpx.DigestAuth("oryx", "pw")).status_code in (200, 503)


def test_connections_beyond_the_limit_get_503(tmp_path: Path) -> None:
    with running(tmp_path, **{"oryx.serving.api.max-connections": 5}) as (_, port):
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
        try:
            time.sleep(0.2)
            assert exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 503")
        finally:
            for s in idle:
                s.close()
        time.sleep(0.3)
        assert exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")


def test_401_has_the_error_format_of_every_status(tmp_path: Path) -> None:
    import httpx

    with running(tmp_path, **{"oryx.serving.api.user-name": "oryx", "oryx.serving.api.password": "pw"}) as (_, port), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        plain = client.get("/ready")
        assert (plain.status_code, plain.text) == (401, "Unauthorized")
        as_json = client.get("/ready", headers={"Accept": "application/json"})
        assert as_json.status_code == 401 and as_json.json() == {"status": 401, "message": "Unauthorized"}
