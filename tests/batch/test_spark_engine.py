"""The Spark batch engine in one local[2] session: parity with the local engine, and streaming from real Kafka to HDFS."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'oryxpy[spark]'")

from batch.als.update import ALSUpdate  # noqa: E402
from batch.mlupdate import METRICS_FILE, MODEL_FILE  # noqa: E402
from batch.runner import OFFSETS_FILE, generation_dirs  # noqa: E402
from batch.spark.offsets import stored_offsets  # noqa: E402
from batch.spark.session import build_session  # noqa: E402
from batch.spark.stream import CHECKPOINT, SparkBatchLayer  # noqa: E402
from batch.spark.update import SparkALSUpdate  # noqa: E402
from oryxpy.config import Config  # noqa: E402
from oryxpy.interfaces import INPUT_SCHEMA  # noqa: E402
from oryxpy.messages import VectorUpdate  # noqa: E402
from oryxpy.modelfiles import read_vectors  # noqa: E402
from oryxpy.pmml import read_extensions, split_ids  # noqa: E402
from oryxpy.storage import join_uri, storage_for  # noqa: E402
from oryxpy.topics import topic_name  # noqa: E402
from tests.batch.helpers import T0, check_model_dir, check_published, model_dirs, read_updates, send_input  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # minutes of Spark on a shared 2-core machine

#: Small Spark settings for a 2-core machine.
SPARK = {
    "oryx.batch.streaming.master": "local[2]",
    "oryx.batch.spark.als-blocks": 2,
    "oryx.batch.spark.config": "spark.ui.enabled=false,spark.sql.shuffle.partitions=4",
}
FAST = {"oryx.als.hyperparams.features": 6, "oryx.als.iterations": 5, "oryx.als.seed": 3, "oryx.ml.eval.candidates": 1}
ONCE = {"oryx.batch.streaming.trigger": "available-now"}  # starting offsets: earliest by default


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.conftest import embedded_config_at

    session = build_session(embedded_config_at(tmp_path_factory.mktemp("spark"), **SPARK))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def planted(users: int = 120, items: int = 60, groups: int = 4, per_user: int = 12, seed: int = 5) -> list[str]:
    """Implicit input with planted taste groups (each user mostly picks items of its group), with a few deletes."""
    rng = np.random.default_rng(seed)
    lines = []
    size = items // groups
    for u in range(users):
        group = u % groups
        chosen = rng.choice(size, per_user, replace=False) + group * size
        for n, i in enumerate(chosen):
            stamp = T0 + int(rng.integers(0, 10_000_000))
            lines.append(f"u{u},i{i},{1 + n % 3},{stamp}")
        if u % 10 == 0:  # a delete after the user's events, and an item re-added after its delete
            lines.append(f"u{u},i{chosen[0]},,{T0 + 10_000_001}")
            lines.append(f"u{u},i{chosen[1]},,{T0 + 1}")
    return lines


def input_table(lines: list[str]) -> pa.Table:
    return pa.table({"key": [None] * len(lines), "value": lines}, schema=INPUT_SCHEMA)


def only_model(config: Config) -> str:
    dirs = model_dirs(config)
    assert len(dirs) == 1, dirs
    return dirs[0]


def model_summary(config: Config) -> tuple[dict[str, float], dict[str, str], dict[str, list[str]], list[str], dict[str, Any]]:
    """(metrics, PMML extensions, known items per user, item IDs, candidate report) of a config's only model."""
    uri = only_model(config)
    storage = storage_for(uri, config)
    check_model_dir(config, uri)
    extensions = read_extensions(storage.read_text(join_uri(uri, MODEL_FILE)))
    user_ids, x, known = read_vectors(storage, join_uri(uri, "X"))
    item_ids, y, _ = read_vectors(storage, join_uri(uri, "Y"))
    assert x.dtype == np.float32 and x.shape == (len(user_ids), int(extensions["features"])) and known is not None
    report = json.loads(storage.read_text(join_uri(uri, METRICS_FILE)))
    return report["metrics"], extensions, dict(zip(user_ids, known, strict=True)), item_ids, report


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def assert_parity(local: Config, spark_config: Config) -> dict[str, float]:
    """Equal quality (AUC, nDCG@10 within 0.02), PMML extensions, ID sets and known items."""
    local_metrics, local_ext, local_known, local_items, local_report = model_summary(local)
    spark_metrics, spark_ext, spark_known, spark_items, spark_report = model_summary(spark_config)
    assert abs(local_metrics["auc"] - spark_metrics["auc"]) <= 0.02, (local_metrics, spark_metrics)
    assert abs(local_metrics["ndcg@10"] - spark_metrics["ndcg@10"]) <= 0.02, (local_metrics, spark_metrics)
    local_split, spark_split = local_report["split"], spark_report["split"]
    assert local_split.split()[0] == spark_split.split()[0], (local_split, spark_split)  # the same rule chose
    if local_split.startswith("time"):  # the same records
        assert local_metrics["test_pairs"] == spark_metrics["test_pairs"]
    else:  # the same rule with other random draws (numpy vs xxhash64): about the same number of test pairs
        assert abs(local_metrics["test_pairs"] - spark_metrics["test_pairs"]) <= 0.1 * local_metrics["test_pairs"]
    assert list(local_ext) == list(spark_ext)
    ids = ("XIDs", "YIDs")
    for key in (k for k in local_ext if k not in ids):  # numbers from sums (alpha / mean strength): to rounding
        if _number(local_ext[key]) is not None and _number(spark_ext[key]) is not None:
            assert math.isclose(_number(local_ext[key]), _number(spark_ext[key]), rel_tol=1e-9), key  # type: ignore[arg-type]
        else:
            assert local_ext[key] == spark_ext[key], key
    for name in ids:
        assert sorted(split_ids(local_ext[name])) == sorted(split_ids(spark_ext[name]))
    assert sorted(local_items) == sorted(spark_items)
    assert local_known == spark_known
    return {"local_auc": local_metrics["auc"], "spark_auc": spark_metrics["auc"]}


def run_both(spark: object, tmp_path: Path, lines: list[str], **overrides: object) -> tuple[Config, Config]:
    from pyspark.sql import functions as F

    from tests.conftest import embedded_config_at

    local = embedded_config_at(tmp_path / "local", **overrides)
    on_spark = embedded_config_at(tmp_path / "spark", **SPARK, **overrides)
    table = input_table(lines)
    ALSUpdate(local).run_update(T0, table, None, local.model_dir, None)
    frame = spark.createDataFrame(table).withColumn("gen", F.lit(T0))  # type: ignore[attr-defined]
    SparkALSUpdate(on_spark).run_update(T0, frame, None, on_spark.model_dir, None)
    return local, on_spark


def column_layout(config: Config, side: str) -> dict[str, tuple[str, bool]]:
    """(compression, dictionary-encoded) of each column of the only model's ``side`` files (the first row group)."""
    uri = join_uri(only_model(config), side)
    storage = storage_for(uri, config)
    layout = {}
    for part in (u for u in storage.list(uri) if u.endswith(".parquet")):
        meta = pq.ParquetFile(pa.BufferReader(storage.read_bytes(part))).metadata
        if meta.num_rows:
            group = meta.row_group(0)
            for c in range(group.num_columns):
                column = group.column(c)
                layout[column.path_in_schema] = (column.compression, column.dictionary_page_offset is not None)
    return layout


def test_parity_with_local_engine_on_planted_data(spark: object, tmp_path: Path) -> None:
    local, on_spark = run_both(spark, tmp_path, planted(users=400), **FAST)
    result = assert_parity(local, on_spark)
    assert result["local_auc"] > 0.8 and result["spark_auc"] > 0.8  # the planted groups are learnt
    for config in (local, on_spark):  # both engines write the layout that loads fastest (oryxpy.modelfiles)
        for side in ("X", "Y"):
            layout = column_layout(config, side)
            assert layout["vector.list.element"] == ("UNCOMPRESSED", False), (config.model_dir, side, layout)
            assert not layout["id"][1]
        assert column_layout(config, "X")["known.list.element"][1]  # dictionary-encoded item IDs


@pytest.mark.slow  # about a minute of Spark on 2 cores
def test_parity_with_local_engine_on_ml100k(spark: object, tmp_path: Path, shared_data) -> None:  # type: ignore[no-untyped-def]
    lines = []
    for line in shared_data("ml-100k/u.data").read_text().splitlines():
        user, item, rating, seconds = line.split("\t")
        lines.append(f"{user},{item},{rating},{int(seconds) * 1000}")
    assert_parity(*run_both(spark, tmp_path, lines, **{"oryx.als.hyperparams.features": 10, "oryx.als.seed": 7,
                                                       "oryx.ml.eval.candidates": 1}))


@pytest.mark.integration
def test_streaming_from_kafka_to_hdfs_resumes_after_restart(spark: object, kafka_config: Config, hdfs_config: Config) -> None:
    config = kafka_config.with_overrides({
        **SPARK, **FAST, **ONCE,
        **{k: hdfs_config[k] for k in ("oryx.batch.storage.data-dir", "oryx.batch.storage.model-dir", "oryx.storage.hdfs.webhdfs-url")},
    })
    data = storage_for(config.data_dir, config)
    first, second = planted(users=40, seed=1), [f"new{n},i{n % 7},1,{T0 + 20_000_000 + n}" for n in range(30)]
    send_input(config, first)
    layer = SparkBatchLayer(spark, config)  # type: ignore[arg-type]
    layer.start().awaitTermination()
    assert layer.generations == 1
    generations = generation_dirs(data, config.data_dir)
    assert len(generations) == 1
    stored = data.read_parquet(generations[0])
    assert stored.schema.names == ["key", "value"] and sorted(stored.column("value").to_pylist()) == sorted(first)
    model = only_model(config)
    check_model_dir(config, model)
    messages = read_updates(config)
    info = check_published(config, messages)
    _, _, known, _, _ = model_summary(config)
    published_known = {m.id: sorted(m.known or []) for m in messages if isinstance(m, VectorUpdate) and m.matrix == "X"}
    assert published_known == {u: sorted(k) for u, k in known.items()} and set(info.x_ids) == set(known)

    # a restarted job resumes from <model-dir>/.checkpoint: only the new input makes a generation
    send_input(config, second)
    restarted = SparkBatchLayer(spark, config)  # type: ignore[arg-type]
    restarted.start().awaitTermination()
    assert restarted.generations == 1
    generations = generation_dirs(data, config.data_dir)
    assert len(generations) == 2
    assert sorted(data.read_parquet(generations[1]).column("value").to_pylist()) == sorted(second)
    assert len(model_dirs(config)) == 2
    assert len([m for m in read_updates(config) if not isinstance(m, VectorUpdate)]) == 2

    # foreachBatch is at-least-once: a replayed batch whose generation is done changes nothing
    replay = spark.createDataFrame(input_table(first))  # type: ignore[attr-defined]
    restarted.run_generation(replay, 0)
    assert generation_dirs(data, config.data_dir) == generations and len(model_dirs(config)) == 2

    # a lost .checkpoint: the job starts after the offsets recorded with the stored generations, not from earliest
    recorded = [json.loads(data.read_text(join_uri(g, OFFSETS_FILE))) for g in generations]
    assert all(r["topic"] == topic_name(config, "input") for r in recorded)
    until = stored_offsets(data, config.data_dir, topic_name(config, "input"))  # per partition, the latest recorded
    assert sum(until.values()) == len(first) + len(second)  # a new topic: offsets from 0 in each partition
    storage_for(config.model_dir, config).delete(join_uri(config.model_dir, CHECKPOINT))
    third = [f"late{n},i{n % 5},1,{T0 + 30_000_000 + n}" for n in range(12)]
    send_input(config, third)
    recovered = SparkBatchLayer(spark, config)  # type: ignore[arg-type]
    recovered.start().awaitTermination()
    assert recovered.generations == 1
    generations = generation_dirs(data, config.data_dir)
    assert len(generations) == 3
    assert sorted(data.read_parquet(generations[2]).column("value").to_pylist()) == sorted(third)
