"""The Spark engine's spark-submit: the command built from config, and one real run through `oryxpy batch`'s entry."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'oryxpy[spark]'")

from batch.spark.job import load_config_json  # noqa: E402
from batch.spark.session import KAFKA_PACKAGE, spark_conf  # noqa: E402
from batch.spark.submit import CONFIG_FILE, JOB, spark_submit_command  # noqa: E402
from oryxpy.config import Config  # noqa: E402
from oryxpy.errors import ConfigError  # noqa: E402
from tests.batch.helpers import (  # noqa: E402
    check_model_dir,
    check_published,
    interactions,
    model_dirs,
    read_updates,
    send_input,
)
from tests.conftest import embedded_config_at  # noqa: E402


def conf_args(command: list[str]) -> dict[str, str]:
    return dict(command[i + 1].split("=", 1) for i, arg in enumerate(command) if arg == "--conf")


def test_local_command_uses_the_fetched_jars_and_this_python(tmp_path: Path) -> None:
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "spark-sql-kafka-0-10_2.13-4.2.0.jar").touch()
    config = embedded_config_at(tmp_path / "state", **{
        "oryx.batch.spark.kafka-jars-dir": str(jars), "oryx.batch.streaming.executor-memory": "3g",
        "oryx.batch.spark.config": "spark.sql.shuffle.partitions=4, spark.ui.enabled=false", "oryx.id": "test"})
    command = spark_submit_command(config, tmp_path)
    assert command[0].endswith("bin/spark-submit")
    assert command[command.index("--master") + 1] == "local[2]"
    assert command[command.index("--deploy-mode") + 1] == "client"
    assert command[command.index("--name") + 1] == "OryxBatchLayer-test"
    conf = conf_args(command)
    assert conf["spark.jars"] == str(jars / "spark-sql-kafka-0-10_2.13-4.2.0.jar") and "spark.jars.packages" not in conf
    assert conf["spark.executor.memory"] == "3g" and conf["spark.executor.instances"] == "4"
    assert conf["spark.sql.shuffle.partitions"] == "4" and conf["spark.ui.enabled"] == "false"
    assert "spark.pyspark.python" in conf and "--py-files" not in command
    assert command[-3:] == [str(JOB), "--config-json", str(tmp_path / CONFIG_FILE)]
    assert load_config_json(command[-1]) == config


def test_cluster_command_ships_code_and_config_and_falls_back_to_packages(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path / "state", **{
        "oryx.batch.spark.kafka-jars-dir": str(tmp_path / "none"), "oryx.batch.streaming.master": "yarn",
        "oryx.batch.streaming.deploy-mode": "cluster", "oryx.batch.streaming.dynamic-allocation": True})
    command = spark_submit_command(config, tmp_path)
    conf = conf_args(command)
    assert conf["spark.jars.packages"] == KAFKA_PACKAGE and "spark.jars" not in conf
    assert conf["spark.dynamicAllocation.enabled"] == "true" and "spark.executor.instances" not in conf
    assert "spark.pyspark.python" not in conf
    names = zipfile.ZipFile(command[command.index("--py-files") + 1]).namelist()
    assert "batch/spark/stream.py" in names and "oryxpy/config/loader.py" in names
    assert command[command.index("--files") + 1] == str(tmp_path / CONFIG_FILE)
    assert command[-2:] == ["--config-json", CONFIG_FILE]
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["oryx.batch.streaming.master"] == "yarn"


def test_bad_extra_spark_setting_names_the_key(tmp_path: Path) -> None:
    config = embedded_config_at(tmp_path, **{"oryx.batch.spark.config": "shuffle=4"})
    with pytest.raises(ConfigError, match="oryx.batch.spark.config"):
        spark_conf(config)


def test_embedded_input_topic_is_refused(tmp_path: Path) -> None:
    from batch.spark.stream import SparkBatchLayer

    with pytest.raises(ConfigError, match="oryx.input-topic.broker"):
        SparkBatchLayer(None, embedded_config_at(tmp_path))  # type: ignore[arg-type]


@pytest.mark.integration
@pytest.mark.slow
def test_batch_layer_runs_a_generation_through_spark_submit(kafka_config: Config) -> None:
    from batch.layer import run

    config = kafka_config.with_overrides({
        "oryx.batch.engine": "spark", "oryx.batch.streaming.trigger": "available-now",
        "oryx.batch.streaming.starting-offsets": "earliest", "oryx.batch.spark.als-blocks": 2,
        "oryx.batch.spark.config": "spark.ui.enabled=false,spark.sql.shuffle.partitions=4",
        "oryx.als.hyperparams.features": 4, "oryx.als.iterations": 3, "oryx.als.seed": 1, "oryx.ml.eval.candidates": 1})
    send_input(config, interactions(30, 20, 300))
    run(config)  # spark-submit batch/spark/job.py; available-now makes it exit after the generation
    check_model_dir(config, model_dirs(config)[0])
    check_published(config, read_updates(config))


def test_print_spark_submit_prepares_a_folder_for_the_users_own_spark_submit(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import shlex

    from oryxpy.cli import main

    folder = tmp_path / "submit"
    status = main(["batch", "--print-spark-submit", str(folder), "--set", f"oryx.embedded.state-dir={tmp_path}",
                   "--set", "oryx.batch.streaming.master=spark://127.0.0.1:7077",
                   "--set", "oryx.input-topic.broker=127.0.0.1:9092", "--set", "oryx.update-topic.broker=127.0.0.1:9092"])
    assert status == 0
    command = shlex.split(capsys.readouterr().out.strip())
    assert command[0].endswith("spark-submit") and command[command.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert command[-3:] == [str(folder / "job.py"), "--config-json", str(folder / CONFIG_FILE)]
    assert (folder / "job.py").read_text() == JOB.read_text()
    assert load_config_json(str(folder / CONFIG_FILE))["oryx.input-topic.broker"] == "127.0.0.1:9092"
    names = zipfile.ZipFile(command[command.index("--py-files") + 1]).namelist()
    assert "batch/spark/update.py" in names and "oryxpy/cli.py" in names


def test_print_spark_submit_with_a_bad_setting_fails_naming_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from oryxpy.cli import main

    status = main(["batch", "--print-spark-submit", str(tmp_path / "submit"), "--set", f"oryx.embedded.state-dir={tmp_path}",
                   "--set", "oryx.batch.spark.config=shuffle=4"])
    assert status == 2 and "oryx.batch.spark.config" in capsys.readouterr().err
    assert not (tmp_path / "submit" / CONFIG_FILE).exists()
