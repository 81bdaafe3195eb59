"""The released Oryx 2.8.0 serving layer and a standalone ZooKeeper as subprocesses, for the interop tests.

Their classpath comes from ``scripts/fetch-oryx.sh`` (Maven Central jars in ``.infra/oryx``). ZooKeeper only holds
``/brokers/topics/<topic>`` nodes: Oryx checks its topics there (its ``lock.master``), which a KRaft Kafka lacks.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ORYX_DIR = Path(os.environ.get("ORYXPY_INFRA_DIR", REPO / ".infra")) / "oryx"
FETCH = REPO / "scripts" / "fetch-oryx.sh"
JAVA_OPTS = ["-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_oryx() -> Path:
    """Fetch Oryx 2.8.0 when it is not there yet (Maven Central, about 90 MB, once); returns its folder."""
    if not (ORYX_DIR / ".complete").exists():
        subprocess.run(["bash", str(FETCH)], check=True, timeout=900)
    return ORYX_DIR


def classpath() -> str:
    return f"{ORYX_DIR / 'classes'}:{ORYX_DIR / 'lib'}/*"


class JavaProcess:
    """A Java main class in its own process group, with its output in a log file."""

    def __init__(self, main: str, args: list[str], log_path: Path, props: dict[str, str] | None = None):
        self.log_path = log_path
        java = shutil.which("java") or "java"
        defs = [f"-D{k}={v}" for k, v in (props or {}).items()]
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([java, *JAVA_OPTS, *defs, "-cp", classpath(), main, *args],
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self, what: str) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"{what} exited ({self.process.returncode}); log:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


def start_zookeeper(topics: list[str], work: Path, timeout_s: float = 60) -> tuple[JavaProcess, str]:
    """A standalone ZooKeeper on a free port holding the topics' nodes; returns it and its host:port."""
    port = free_port()
    (work / "zk-data").mkdir(parents=True, exist_ok=True)
    zk = JavaProcess("local.infra.oryx.TopicsZooKeeper", [str(port), str(work / "zk-data"), *topics],
                     work / "zookeeper.log", {"zookeeper.admin.enableServer": "false"})
    deadline = time.monotonic() + timeout_s
    while f"READY {port}" not in zk.log_path.read_text(errors="replace"):
        zk.check_alive("ZooKeeper")
        if time.monotonic() > deadline:
            zk.stop()
            raise AssertionError(f"ZooKeeper did not start in {timeout_s:.0f} s; log:\n{zk.log_tail()}")
        time.sleep(0.2)
    return zk, f"127.0.0.1:{port}"


def oryx_config(broker: str, zk: str, input_topic: str, update_topic: str, port: int) -> str:
    """The HOCON configuration of an Oryx 2.8.0 ALS serving layer on these topics."""
    return f"""oryx {{
  id = "oryxpy-interop"
  input-topic {{ broker = "{broker}", lock.master = "{zk}", message.topic = "{input_topic}" }}
  update-topic {{ broker = "{broker}", lock.master = "{zk}", message.topic = "{update_topic}" }}
  als {{ sample-rate = 1.0 }}
  serving {{
    model-manager-class = "com.cloudera.oryx.app.serving.als.model.ALSServingModelManager"
    application-resources = "com.cloudera.oryx.app.serving,com.cloudera.oryx.app.serving.als"
    api {{ port = {port} }}
  }}
}}
"""


class OryxServing:
    """The Oryx 2.8.0 serving layer (ALS) on a free port, reading the given topics."""

    def __init__(self, broker: str, zk: str, input_topic: str, update_topic: str, work: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = work / "oryx.conf"
        conf.write_text(oryx_config(broker, zk, input_topic, update_topic, self.port))
        log4j = work / "log4j.properties"
        log4j.write_text("log4j.rootLogger=INFO, out\nlog4j.appender.out=org.apache.log4j.ConsoleAppender\n"
                         "log4j.appender.out.layout=org.apache.log4j.PatternLayout\n"
                         "log4j.appender.out.layout.ConversionPattern=%d %p [%c{1}] %m%n\n"
                         "log4j.logger.org.apache.kafka=WARN\nlog4j.logger.org.apache.zookeeper=WARN\n")
        self.java = JavaProcess("local.infra.oryx.OryxServingMain", [], work / "oryx-serving.log",
                                {"config.file": str(conf), "log4j.configuration": log4j.as_uri()})
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, timeout_s: float = 180) -> None:
        """Until /ready answers 200 (the model and enough vectors are loaded)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.java.check_alive("the Oryx 2.8.0 serving layer")
            try:
                if self.client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"Oryx 2.8.0 was not ready in {timeout_s:.0f} s; log:\n{self.java.log_tail()}")

    def stop(self) -> None:
        self.client.close()
        self.java.stop()
