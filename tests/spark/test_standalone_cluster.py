"""The batch layer as Spark users run it: `oryxpy batch --print-spark-submit`, then that command by hand against the
standalone cluster of scripts/services.sh (spark://127.0.0.1:7077, client mode), input from the real Kafka, data and
models on the real HDFS, the job killed mid-stream and started again."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'oryxpy[spark]'")

from batch.runner import generation_dirs  # noqa: E402
from batch.spark.stream import CHECKPOINT  # noqa: E402
from oryxpy.config import Config  # noqa: E402
from oryxpy.messages import ModelMessage, ModelRefMessage, VectorUpdate  # noqa: E402
from oryxpy.storage import join_uri, storage_for  # noqa: E402
from tests.batch.helpers import T0, check_model_dir, check_published, model_dirs, read_updates, send_input  # noqa: E402
from tests.conftest import require_service  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]  # two spark-submit runs

MASTER = os.environ.get("ORYXPY_TEST_SPARK_MASTER", "spark://127.0.0.1:7077")
MASTER_UI = os.environ.get("ORYXPY_TEST_SPARK_MASTER_UI", "http://127.0.0.1:8480")
REPO = Path(__file__).resolve().parents[2]


def alive_workers() -> int:
    try:
        with urllib.request.urlopen(f"{MASTER_UI}/json/", timeout=5) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture(scope="module")
def standalone() -> str:
    """The standalone master with at least one worker (fails under CI, skips locally, when it is not running)."""
    require_service(f"a Spark standalone master with a worker at {MASTER} ({MASTER_UI})", alive_workers() >= 1)
    return MASTER


def settings(config: Config, master: str) -> dict[str, object]:
    return {
        "oryx.embedded.state-dir": str(config.state_dir),
        **{key: config[key] for key in ("oryx.input-topic.broker", "oryx.update-topic.broker",
                                        "oryx.input-topic.message.topic", "oryx.update-topic.message.topic",
                                        "oryx.batch.storage.data-dir", "oryx.batch.storage.model-dir",
                                        "oryx.storage.hdfs.webhdfs-url")},
        "oryx.batch.engine": "spark", "oryx.batch.streaming.master": master,
        "oryx.batch.streaming.generation-interval-sec": 5,
        "oryx.batch.streaming.num-executors": 1, "oryx.batch.streaming.executor-cores": 1,
        "oryx.batch.streaming.executor-memory": "768m", "oryx.batch.streaming.driver-memory": "512m",
        "oryx.batch.ui.port": 0, "oryx.batch.spark.als-blocks": 2,
        "oryx.batch.spark.config": "spark.ui.enabled=false,spark.sql.shuffle.partitions=4",
        "oryx.als.hyperparams.features": 4, "oryx.als.iterations": 3, "oryx.als.seed": 1, "oryx.ml.eval.candidates": 1,
    }


def printed_command(values: dict[str, object], folder: Path) -> list[str]:
    """What `oryxpy batch --print-spark-submit DIR` prints, as argv."""
    sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    done = subprocess.run([sys.executable, "-m", "oryxpy.cli", "batch", "--print-spark-submit", str(folder), *sets],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return shlex.split(done.stdout.strip().splitlines()[-1])


def wait_for(what: str, check, process: subprocess.Popen, log: Path, timeout_s: float = 1200) -> None:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + timeout_s
    while not check():
        if process.poll() is not None:
            pytest.fail(f"spark-submit exited ({process.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(2)


def committed(config: Config, batch_id: int) -> bool:
    """Whether the streaming query has committed a batch (after its generation was published)."""
    uri = join_uri(config.model_dir, CHECKPOINT, "offsets", "commits", str(batch_id))
    return storage_for(uri, config).exists(uri)


def models_published(config: Config) -> int:
    return sum(isinstance(m, (ModelMessage, ModelRefMessage)) for m in read_updates(config, idle_s=0.3))


def test_printed_spark_submit_runs_on_the_standalone_cluster_and_resumes(
        standalone: str, kafka_config: Config, hdfs_config: Config, tmp_path: Path) -> None:
    config = kafka_config.with_overrides({key: hdfs_config[key] for key in (
        "oryx.batch.storage.data-dir", "oryx.batch.storage.model-dir", "oryx.storage.hdfs.webhdfs-url")})
    values = settings(config, standalone)
    config = config.with_overrides({k: v for k, v in values.items() if k != "oryx.embedded.state-dir"})
    command = printed_command(values, tmp_path / "submit")
    assert command[command.index("--master") + 1] == standalone and "--py-files" in command
    assert Path(command[command.index("--py-files") + 1]).is_file()
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}

    first = [f"u{n % 25},i{n % 13},1,{T0 + n * 1000}" for n in range(300)]
    send_input(config, first)  # before the job starts: a first run reads from the earliest offset
    log = tmp_path / "spark-submit-1.log"
    with log.open("w") as out:
        job = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)
    try:
        wait_for("the first model", lambda: models_published(config) >= 1, job, log)
        wait_for("the first batch's committed offsets", lambda: committed(config, 0), job, log)
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # mid-stream, without a clean stop
        job.wait(60)
    data = storage_for(config.data_dir, config)
    stored = generation_dirs(data, config.data_dir)
    assert len(stored) == 1 and sorted(data.read_parquet(stored[0]).column("value").to_pylist()) == sorted(first)
    messages = read_updates(config)
    info = check_published(config, messages)
    assert len(info.x_ids) == 25 and len(info.y_ids) == 13  # refit on all data: every user and item
    known = {m.id: sorted(m.known or []) for m in messages if isinstance(m, VectorUpdate) and m.matrix == "X"}
    assert known["u0"] == sorted({f"i{n % 13}" for n in range(300) if n % 25 == 0})
    check_model_dir(config, model_dirs(config)[0])

    second = [f"new{n},i{n % 5},1,{T0 + 10_000_000 + n}" for n in range(40)]
    send_input(config, second)
    log = tmp_path / "spark-submit-2.log"
    with log.open("w") as out:
        job = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)
    try:
        wait_for("the second model", lambda: models_published(config) >= 2, job, log)
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(60)
    stored = generation_dirs(data, config.data_dir)
    assert len(stored) == 2  # resumed from <model-dir>/.checkpoint: only the new input, nothing twice
    assert sorted(data.read_parquet(stored[1]).column("value").to_pylist()) == sorted(second)
    assert len(model_dirs(config)) == 2
