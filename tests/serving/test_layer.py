"""The serving layer runner: uvicorn settings from config (HTTP or HTTPS), BLAS threads, and python -m serving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from serving.layer import server_config


def test_http_on_port_by_default(embedded_config: Config) -> None:
    uv = server_config(embedded_config.with_overrides({"oryx.serving.api.port": 8123}))
    assert (uv.host, uv.port, uv.ssl_certfile, uv.ssl_keyfile) == ("127.0.0.1", 8123, None, None)


def test_https_on_secure_port_with_cert_and_key(embedded_config: Config, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    config = embedded_config.with_overrides({"oryx.serving.api.cert-file": str(cert), "oryx.serving.api.key-file": str(key),
                                             "oryx.serving.api.secure-port": 8444})
    uv = server_config(config)
    assert (uv.port, uv.ssl_certfile, uv.ssl_keyfile) == (8444, str(cert), str(key))
    with pytest.raises(ConfigError, match="cert-file"):
        server_config(embedded_config.with_overrides({"oryx.serving.api.cert-file": str(cert)}))


def test_bad_manager_class_stops_with_the_key(embedded_config: Config) -> None:
    with pytest.raises(ConfigError, match="oryx.serving.model-manager-class"):
        server_config(embedded_config.with_overrides({"oryx.serving.model-manager-class": "serving.nothing.Manager"}))


def test_python_m_serving_reports_a_bad_config() -> None:
    result = subprocess.run([sys.executable, "-m", "serving", "--set", "oryx.als.rescorer-provider-class=no.such.P"],
                            capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2 and "oryx.als.rescorer-provider-class" in result.stderr


def test_https_serves_with_a_self_signed_certificate(embedded_config: Config, tmp_path: Path) -> None:
    import shutil
    import threading
    import time

    import httpx
    import uvicorn

    from tests.serving.test_update_topic import free_port

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    port = free_port()
    config = embedded_config.with_overrides({"oryx.serving.api.cert-file": str(cert), "oryx.serving.api.key-file": str(key),
                                             "oryx.serving.api.secure-port": port})
    server = uvicorn.Server(server_config(config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert httpx.get(f"https://127.0.0.1:{port}/ready", verify=False).status_code == 503  # no model yet
    finally:
        server.should_exit = True
        thread.join(15)
