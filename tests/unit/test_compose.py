"""docker-compose.yml: valid against the Compose Specification schema, in agreement with conf/docker.toml, and
every image built here from one base image. The cluster itself is run end to end by scripts/compose-test.sh."""

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
DEFAULT_BASE = "debian:bookworm-slim"
#: "${ORYX_X_PORT:-8080}:8080" -> ("ORYX_X_PORT", "8080", "8080")
PORT = re.compile(r"^\$\{(ORYX_\w+_PORT):-(\d+)\}:(\d+)$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "conf" / "docker.toml", environ={})


def dockerfile(service: dict) -> Path:
    return REPO / service["build"]["context"] / service["build"].get("dockerfile", "Dockerfile")


def stages(path: Path) -> dict[str, list[str]]:
    """Each build stage of a Dockerfile: its name -> its instructions (the FROM line first)."""
    result: dict[str, list[str]] = {}
    current: list[str] = []
    for line in re.sub(r"\\\n", " ", path.read_text()).splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            current = [line]
            result[line.split()[-1]] = current
        elif line and not line.startswith("#") and result:
            current.append(line)
    return result


def published(service: dict, target: int) -> tuple[str, int]:
    """The variable and default host port that publish container port ``target``."""
    for entry in service.get("ports", []):
        match = PORT.match(entry)
        assert match, f"port {entry!r} is not '${{ORYX_<NAME>_PORT:-<host>}}:<container>'"
        if int(match[3]) == target:
            return match[1], int(match[2])
    raise AssertionError(f"container port {target} is not published")


def test_valid_against_the_compose_specification(compose):
    require_service(f"Compose schema {SCHEMA} (fetched by scripts/install.sh)", SCHEMA.exists())
    jsonschema.validate(compose, json.loads(SCHEMA.read_text()))


def test_every_image_is_built_here_from_the_one_base_image(compose):
    for name, service in compose["services"].items():
        if "build" not in service:  # the DataNode runs the image the NameNode builds
            assert any(s.get("build") and s["image"] == service["image"] for s in compose["services"].values()), name
            continue
        assert service["build"]["args"]["ORYX_BASE_IMAGE"] == f"${{ORYX_BASE_IMAGE:-{DEFAULT_BASE}}}", name
        file = dockerfile(service)
        text = file.read_text()
        assert f"ARG ORYX_BASE_IMAGE={DEFAULT_BASE}" in text, file
        assert service["build"]["target"] in stages(file), f"{name}: no stage {service['build']['target']} in {file}"
        for stage, lines in stages(file).items():
            parent = lines[0].split()[1]
            assert parent == "${ORYX_BASE_IMAGE}" or parent in stages(file), f"{file} stage {stage} is FROM {parent}"


def test_images_run_as_a_non_root_user_and_serving_carries_no_java(compose):
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        lines = stages(dockerfile(service))[service["build"]["target"]]
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users and users[-1] not in {"root", "0"}, f"{name} runs as root"
    serving = compose["services"]["serving"]
    layers = stages(dockerfile(serving))
    chain, stage = [], serving["build"]["target"]
    while stage in layers:  # the stage and every stage it is FROM
        chain += layers[stage]
        stage = layers[stage][0].split()[1]
    assert not [line for line in chain if "openjdk" in line or "pyspark" in line or "optional-dependencies" in line]


def test_every_layer_runs_oryxpy_with_the_docker_config(compose):
    services = {name: s for name, s in compose["services"].items()  # built from ./Dockerfile, entrypoint oryxpy
                if "build" in s and "dockerfile" not in s["build"] and "entrypoint" not in s}
    assert set(services) == LAYERS
    for name, service in services.items():
        command = service["command"]
        assert command[0] == name, f"service {name} runs `oryxpy {command[0]}`"
        assert command[1:] == ["--conf", "/app/conf/docker.toml"]
        assert service.get("restart") in ({"unless-stopped", "always"} if name != "kafka-setup" else {"no"}), name
    text = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["oryxpy"]' in text and "COPY conf ./conf" in text


def test_kafka_address_and_topics_agree(compose, config):
    kafka = compose["services"]["kafka"]["environment"]
    internal = re.search(r"PLAINTEXT://([\w.-]+):(\d+)", kafka["KAFKA_ADVERTISED_LISTENERS"])
    assert internal is not None
    assert config["oryx.input-topic.broker"] == f"{internal[1]}:{internal[2]}"
    assert config["oryx.update-topic.broker"] == config["oryx.input-topic.broker"]
    assert f":{internal[2]}" in kafka["KAFKA_LISTENERS"]
    variable, default = published(compose["services"]["kafka"], 9092)  # the host's clients get the host port
    assert f"PLAINTEXT_HOST://localhost:${{{variable}:-{default}}}" in kafka["KAFKA_ADVERTISED_LISTENERS"]
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
    namenode = compose["services"]["namenode"]
    assert webhdfs.hostname == namenode["hostname"]
    assert published(namenode, webhdfs.port) == ("ORYX_HDFS_UI_PORT", webhdfs.port)
    assert env["HDFS-SITE.XML_dfs.namenode.http-address"].endswith(f":{webhdfs.port}")
    # the volumes hold the directories the NameNode and DataNode are configured with
    assert f"namenode:{env['HDFS-SITE.XML_dfs.namenode.name.dir']}" in namenode["volumes"]
    assert f"datanode:{env['HDFS-SITE.XML_dfs.datanode.data.dir']}" in compose["services"]["datanode"]["volumes"]


def test_spark_master_batch_and_serving_port_agree(compose, config):
    master = compose["services"]["spark-master"]
    command = master["command"]
    host, port = command[command.index("--host") + 1], command[command.index("--port") + 1]
    assert config["oryx.batch.streaming.master"] == f"spark://{host}:{port}"
    assert config["oryx.batch.engine"] == "spark"
    worker = compose["services"]["spark-worker"]
    assert worker["command"][-1] == config["oryx.batch.streaming.master"]
    assert worker["image"] == master["image"] == compose["services"]["batch"]["image"]  # executors run the driver's Python
    assert f"--webui-port {published(master, 8081)[1]}" in " ".join(command)
    assert "spark.driver.host=batch" in config["oryx.batch.spark.config"]  # executors connect back by service name
    assert compose["services"]["batch"]["hostname"] == "batch"
    port = config["oryx.serving.api.port"]
    assert published(compose["services"]["serving"], port) == ("ORYX_SERVING_PORT", port)
    assert config["oryx.serving.api.host"] == "0.0.0.0"
    assert str(port) in compose["services"]["serving"]["healthcheck"]["test"][1]


def test_host_ports_can_all_be_moved(compose):
    """scripts/compose-test.sh runs beside services on the host's default ports: every published port is a variable."""
    for name, service in compose["services"].items():
        for entry in service.get("ports", []):
            assert PORT.match(entry), f"{name}: {entry!r}"
    script = (REPO / "scripts" / "compose-test.sh").read_text()
    variables = {PORT.match(e)[1] for s in compose["services"].values() for e in s.get("ports", [])}
    assert all(f"{v}=" in script for v in variables), variables
