"""docker-compose.yml: valid against the Compose Specification schema, and in agreement with conf/docker.toml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from oryxpy.config import load_config
from tests.conftest import require_service

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / ".infra" / "compose" / "compose_spec.json"
LAYERS = {"batch", "speed", "serving", "kafka-setup"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "conf" / "docker.toml", environ={})


def test_valid_against_the_compose_specification(compose):
    require_service(f"Compose schema {SCHEMA} (fetched by scripts/install.sh)", SCHEMA.exists())
    jsonschema.validate(compose, json.loads(SCHEMA.read_text()))


def oryxpy_services(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def test_every_layer_runs_from_the_project_image_with_the_docker_config(compose):
    services = oryxpy_services(compose)
    assert set(services) == LAYERS
    for name, service in services.items():
        command = service["command"]
        assert command[0] == name, f"service {name} runs `oryxpy {command[0]}`"
        assert command[1:] == ["--conf", "/app/conf/docker.toml"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["oryxpy"]' in dockerfile and "COPY conf ./conf" in dockerfile


def test_kafka_address_and_topics_agree(compose, config):
    kafka = compose["services"]["kafka"]["environment"]
    internal = re.search(r"PLAINTEXT://([\w.-]+):(\d+)", kafka["KAFKA_ADVERTISED_LISTENERS"])
    assert internal is not None
    assert config["oryx.input-topic.broker"] == f"{internal[1]}:{internal[2]}"
    assert config["oryx.update-topic.broker"] == config["oryx.input-topic.broker"]
    assert f":{internal[2]}" in kafka["KAFKA_LISTENERS"]
    assert int(kafka["KAFKA_MESSAGE_MAX_BYTES"]) >= config["oryx.update-topic.message.max-size"] + 4096
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # so kafka-setup must run first:
    assert compose["services"]["speed"]["depends_on"]["kafka-setup"]["condition"] == "service_completed_successfully"


def test_hdfs_uris_agree(compose, config):
    env = dict(line.split("=", 1) for line in (REPO / "conf" / "hadoop.env").read_text().splitlines() if "=" in line)
    default_fs = urlparse(env["CORE-SITE.XML_fs.defaultFS"])
    for key in ("oryx.batch.storage.data-dir", "oryx.batch.storage.model-dir"):
        uri = urlparse(config[key])
        assert (uri.scheme, uri.netloc) == ("hdfs", default_fs.netloc), key
    assert env["HDFS-SITE.XML_dfs.namenode.rpc-address"] == default_fs.netloc
    webhdfs = urlparse(config["oryx.storage.hdfs.webhdfs-url"])
    assert webhdfs.hostname == compose["services"]["namenode"]["hostname"]
    assert f"{webhdfs.port}:{webhdfs.port}" in compose["services"]["namenode"]["ports"]
    assert env["HDFS-SITE.XML_dfs.namenode.http-address"].endswith(f":{webhdfs.port}")


def test_spark_master_and_serving_port_agree(compose, config):
    master = compose["services"]["spark-master"]
    command = master["command"]
    host, port = command[command.index("--host") + 1], command[command.index("--port") + 1]
    assert config["oryx.batch.streaming.master"] == f"spark://{host}:{port}"
    assert config["oryx.batch.engine"] == "spark"
    assert compose["services"]["spark-worker"]["command"][-1] == config["oryx.batch.streaming.master"]
    port = config["oryx.serving.api.port"]
    assert f"{port}:{port}" in compose["services"]["serving"]["ports"]
    assert config["oryx.serving.api.host"] == "0.0.0.0"
    assert str(port) in compose["services"]["serving"]["healthcheck"]["test"][1]
