"""HTTPS: `python -m serving` in a subprocess with a self-signed certificate, called over TLS with Basic and Digest."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import embedded_config_at
from tests.serving.io_support import read_input, split_ts

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A fresh certificate for 127.0.0.1 and localhost, made with the openssl command."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed (Debian package openssl)"
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext, Path]]:
    cert, key = self_signed(tmp_path)
    port = free_port()
    state = tmp_path / "state"
    settings = {"oryx.embedded.state-dir": state, "oryx.serving.api.secure-port": port, "oryx.serving.api.cert-file": cert,
                "oryx.serving.api.key-file": key, "oryx.serving.api.user-name": "oryx", "oryx.serving.api.password": "pw",
                "oryx.serving.api.context-path": "/oryx"}
    command = [sys.executable, "-m", "serving"] + [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    context = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{port}/oryx"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                httpx.get(f"{base}/", verify=context, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.3)
        yield base, context, state
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_https_with_basic_and_digest(server: tuple[str, ssl.SSLContext, Path]) -> None:
    base, context, state = server
    with httpx.Client(verify=context, timeout=10) as client:
        challenge = client.get(f"{base}/")
        assert challenge.status_code == 401
        assert [h.split()[0] for h in challenge.headers.get_list("www-authenticate")] == ["Digest", "Basic"]
        page = client.get(f"{base}/", auth=("oryx", "pw"))
        assert page.status_code == 200 and page.headers["x-frame-options"] == "SAMEORIGIN"
        sent = client.post(f"{base}/pref/u/i", content=b"4", auth=httpx.DigestAuth("oryx", "pw"))
        assert sent.status_code == 204
        assert client.get(f"{base}/", auth=("oryx", "wrong")).status_code == 401
    with pytest.raises(httpx.ConnectError):  # the certificate is not trusted by default
        httpx.get(f"{base}/", timeout=5)
    port = int(base.split(":")[2].split("/")[0])
    with pytest.raises(httpx.TransportError):  # no plain HTTP on the secure port
        httpx.get(f"http://127.0.0.1:{port}/oryx/", timeout=5)
    config = embedded_config_at(state)
    assert [split_ts(r.value)[0] for r in read_input(config, 1, settle_s=0.1)] == ["u,i,4.0"]
