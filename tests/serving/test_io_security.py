"""HTTP authentication: Digest (MD5, qop=auth, realm Oryx) on every endpoint, Basic only with TLS configured."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from serving import security
from serving.security import HttpAuthMiddleware, parse_auth_params
from tests.conftest import embedded_config_at
from tests.serving.io_support import io_app, read_input

AUTH = {"oryx.serving.api.user-name": "oryx", "oryx.serving.api.password": "s3cret pass"}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return embedded_config_at(tmp_path / "state", **AUTH)


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with TestClient(io_app(config)) as c:
        yield c


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_every_endpoint_requires_authentication(client: TestClient) -> None:
    for method, path in [("GET", "/"), ("GET", "/metrics"), ("POST", "/ingest"), ("DELETE", "/pref/u/i"), ("GET", "/nothing")]:
        response = client.request(method, path)
        assert response.status_code == 401, path
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Digest ")
        params = parse_auth_params(challenge[len("Digest "):])
        assert params["realm"] == "Oryx" and params["qop"] == "auth" and params["algorithm"] == "MD5" and params["nonce"]
        assert "Basic" not in challenge


def test_digest_accepted(client: TestClient, config: Config) -> None:
    auth = httpx.DigestAuth("oryx", "s3cret pass")
    assert client.get("/", auth=auth).status_code == 200
    assert client.get("/metrics?x=1", auth=auth).status_code == 200
    response = client.post("/ingest", content=b"u,i,2\n", headers={"Content-Type": "text/plain"}, auth=auth)
    assert response.status_code == 204
    assert [r.value.rsplit(",", 1)[0] for r in read_input(config, 1, settle_s=0.1)] == ["u,i,2.0"]


@pytest.mark.parametrize("user, password", [("oryx", "wrong"), ("other", "s3cret pass")])
def test_digest_wrong_credentials(client: TestClient, user: str, password: str) -> None:
    assert client.get("/", auth=httpx.DigestAuth(user, password)).status_code == 401


def digest_header(challenge: str, method: str, uri: str, nc: str = "00000001", password: str = "s3cret pass") -> str:
    """A Digest Authorization header computed by hand (RFC 2617, MD5, qop=auth)."""
    p = parse_auth_params(challenge.split(" ", 1)[1])

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2, cnonce = md5(f"oryx:Oryx:{password}"), md5(f"{method}:{uri}"), "0a4f113b"
    response = md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (f'Digest username="oryx", realm="Oryx", nonce="{p["nonce"]}", uri="{uri}", qop=auth, nc={nc}, '
            f'cnonce="{cnonce}", response="{response}", opaque="{p["opaque"]}", algorithm=MD5')


def test_digest_by_hand_replay_and_wrong_uri(client: TestClient) -> None:
    challenge = client.get("/").headers["www-authenticate"]
    header = digest_header(challenge, "GET", "/index.html")
    assert client.get("/index.html", headers={"Authorization": header}).status_code == 200
    assert client.get("/index.html", headers={"Authorization": header}).status_code == 401  # same nonce and nc: replay
    next_use = digest_header(challenge, "GET", "/index.html", nc="00000002")
    assert client.get("/index.html", headers={"Authorization": next_use}).status_code == 200
    elsewhere = digest_header(challenge, "GET", "/index.html", nc="00000003")
    assert client.get("/metrics", headers={"Authorization": elsewhere}).status_code == 401
    forged = digest_header(challenge.replace('nonce="', 'nonce="AA'), "GET", "/", nc="00000004")
    assert client.get("/", headers={"Authorization": forged}).status_code == 401


def test_expired_nonce_is_stale_and_clients_renew() -> None:
    async def ok(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    app = HttpAuthMiddleware(ok, "oryx", "s3cret pass", allow_basic=False, nonce_validity_s=0.5)  # type: ignore[arg-type]
    client = TestClient(app)  # type: ignore[arg-type]  # no lifespan: a bare ASGI app
    challenge = client.get("/").headers["www-authenticate"]
    assert client.get("/", headers={"Authorization": digest_header(challenge, "GET", "/")}).status_code == 200
    time.sleep(0.7)
    old = client.get("/", headers={"Authorization": digest_header(challenge, "GET", "/", nc="00000002")})
    assert old.status_code == 401 and "stale=true" in old.headers["www-authenticate"]
    assert client.get("/", auth=httpx.DigestAuth("oryx", "s3cret pass")).status_code == 200


def test_basic_refused_without_tls(client: TestClient) -> None:
    response = client.get("/", headers=basic("oryx", "s3cret pass"))
    assert response.status_code == 401
    assert "Basic" not in response.headers["www-authenticate"]


def test_basic_accepted_when_tls_is_configured(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **AUTH, **{
        "oryx.serving.api.cert-file": str(tmp_path / "cert.pem"), "oryx.serving.api.key-file": str(tmp_path / "key.pem")})
    with TestClient(io_app(config)) as client:
        challenge = client.get("/")
        assert challenge.status_code == 401
        assert challenge.headers.get_list("www-authenticate")[1].startswith('Basic realm="Oryx"')
        assert client.get("/", headers=basic("oryx", "s3cret pass")).status_code == 200
        assert client.get("/", headers=basic("oryx", "nope")).status_code == 401
        assert client.get("/", auth=httpx.DigestAuth("oryx", "s3cret pass")).status_code == 200


def test_no_credentials_configured_means_open(tmp_path: Path) -> None:
    with TestClient(io_app(embedded_config_at(tmp_path / "state"))) as client:
        assert client.get("/").status_code == 200


def test_half_configured_credentials_stop_with_the_key_named(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **{"oryx.serving.api.user-name": "oryx"})
    with pytest.raises(ConfigError, match="oryx.serving.api.password"):
        security.install(FastAPI(), config)


def test_the_openapi_document_tells_that_every_operation_may_answer_401(client: TestClient, tmp_path: Path) -> None:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    statuses = [set(op["responses"]) for ops in spec["paths"].values() for op in ops.values()]
    assert statuses and all("401" in s for s in statuses)
    assert client.get("/ready").status_code == 401
    open_app = io_app(embedded_config_at(tmp_path / "open"))
    assert not any("401" in op["responses"] for ops in open_app.openapi()["paths"].values() for op in ops.values())
