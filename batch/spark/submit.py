"""Start the Spark batch job with spark-submit from the config (master, deploy mode, executors, memory, jars)."""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from types import FrameType

from batch.spark.session import SUBMIT_FLAGS, is_local_master, spark_conf
from oryxpy.config import Config
from oryxpy.errors import ConfigError, OryxError

log = logging.getLogger(__name__)

JOB = Path(__file__).resolve().parent / "job.py"
PACKAGES = ("oryxpy", "batch")
CONFIG_FILE = "oryx-batch-config.json"


def spark_submit_executable() -> str:
    """``$SPARK_HOME/bin/spark-submit``, else the one of the installed pyspark."""
    from pyspark.find_spark_home import _find_spark_home

    home = os.environ.get("SPARK_HOME") or _find_spark_home()
    path = Path(home) / "bin" / "spark-submit"
    if not path.exists():
        raise ConfigError(f"no spark-submit at {path}: install pyspark (pip install 'oryxpy[spark]') or set SPARK_HOME")
    return str(path)


def write_config(config: Config, path: Path) -> Path:
    """Every key's value as JSON, for the job to load."""
    path.write_text(json.dumps({key: config[key] for key in config}), encoding="utf-8")
    return path


def package_zip(folder: Path) -> Path:
    """The Python packages the job imports, zipped for --py-files (cluster masters)."""
    root = Path(__file__).resolve().parents[2]
    target = folder / "oryxpy-batch.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in PACKAGES:
            for file in sorted((root / package).rglob("*.py")):
                archive.write(file, file.relative_to(root).as_posix())
    return target


def spark_submit_command(config: Config, work_dir: Path, job: Path = JOB) -> list[str]:
    """The spark-submit command line of the batch job (writes its config, and for a cluster its code, to work_dir)."""
    conf = spark_conf(config)
    command = [spark_submit_executable()]
    for key, flag in SUBMIT_FLAGS.items():
        command += [flag, conf.pop(key)]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    config_file = write_config(config, work_dir / CONFIG_FILE)
    if is_local_master(config.settings.batch.streaming.master):
        return command + [str(job), "--config-json", str(config_file)]
    # the driver may run elsewhere (cluster deploy mode): ship the code and the config; oryxpy's dependencies
    # (numpy, scipy, pyarrow, numba, kafka-python, hdfs) must be installed on the cluster's Python
    command += ["--py-files", str(package_zip(work_dir)), "--files", str(config_file)]
    return command + [str(job), "--config-json", CONFIG_FILE if config.settings.batch.streaming.deploy_mode == "cluster" else str(config_file)]


def prepare_submit(config: Config, out_dir: str | Path) -> list[str]:
    """Write what a user's own spark-submit needs into ``out_dir`` (the job script, the config as JSON and, for a
    cluster master, the --py-files archive of oryxpy and batch) and return the command line that runs it."""
    folder = Path(out_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    job = folder / JOB.name
    shutil.copyfile(JOB, job)
    return spark_submit_command(config, folder, job)


def print_spark_submit(config: Config, out_dir: str | Path) -> str:
    """``oryxpy batch --print-spark-submit DIR``: prepare DIR and print the spark-submit command line (shell-quoted)."""
    line = shlex.join(prepare_submit(config, out_dir))
    print(line)  # noqa: T201 - the command's output
    return line


def run(config: Config) -> None:
    """Run the batch job in the foreground until it ends or this process gets SIGINT/SIGTERM (passed on to it)."""
    with tempfile.TemporaryDirectory(prefix="oryx-spark-") as work:
        command = spark_submit_command(config, Path(work))
        log.info("starting the batch layer on Spark: %s", " ".join(command))
        env = {**os.environ, "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable)}
        process = subprocess.Popen(command, env=env, start_new_session=True)

        def forward(signum: int, frame: FrameType | None) -> None:
            log.info("batch layer: signal %d, stopping the Spark job", signum)
            os.killpg(process.pid, signal.SIGTERM)

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, forward)
        status = process.wait()
    if status not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
        raise OryxError(f"the Spark batch job (spark-submit) exited with status {status}")
    log.info("batch layer on Spark stopped")
