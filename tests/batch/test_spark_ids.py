"""User and item indices made on the executors, and model.pmml streamed from them (batch.spark.ids)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'oryxpy[spark]'")

from batch.spark import ids as spark_ids  # noqa: E402
from batch.spark.session import build_session  # noqa: E402
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml, pmml_to_als_model  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: IDs that need quoting in the PMML list or escaping in XML, and ones that sort differently as bytes and as text case.
AWKWARD = ["plain", "with space", 'quote"d', "back\\slash", "amp&<lt>", "Zed", "zed", "é-accent", "", "tab\tbed"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.conftest import embedded_config_at

    config = embedded_config_at(tmp_path_factory.mktemp("spark-ids"), **{
        "oryx.batch.streaming.master": "local[2]",
        "oryx.batch.spark.config": "spark.ui.enabled=false,spark.sql.shuffle.partitions=4"})
    session = build_session(config)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _frame(spark, values: list[str]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([(v, n) for n, v in enumerate(values)], "user string, n int").repartition(3)


def _without_timestamp(pmml: str) -> str:
    return re.sub(r"<Timestamp>[^<]*</Timestamp>", "<Timestamp/>", pmml)


def test_indices_are_dense_and_in_ascending_id_order(spark) -> None:  # type: ignore[no-untyped-def]
    values = [f"u{n % 997}" for n in range(5000)] + AWKWARD  # duplicates: one index per distinct ID
    indexed = spark_ids.index_ids(_frame(spark, values), "user", "u")
    try:
        rows = sorted(indexed.frame.collect(), key=lambda row: row["u"])
        expected = sorted(set(values))
        assert indexed.count == len(expected)
        assert [row["u"] for row in rows] == list(range(len(expected)))
        assert [row["user"] for row in rows] == expected
        assert list(indexed.ids_in_order()) == expected  # partition by partition, still in index order
    finally:
        indexed.unpersist()


def test_streamed_pmml_is_what_the_pmml_writer_writes(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(spark_ids, "WRITE_CHUNK", 7)  # several chunks per list, so their joins are checked too
    users = [f"u{n}" for n in range(40)] + AWKWARD
    items = [f"item {n}" for n in range(9)]
    indexed_users = spark_ids.index_ids(_frame(spark, users), "user", "u")
    indexed_items = spark_ids.index_ids(_frame(spark, items).withColumnRenamed("user", "item"), "item", "i")
    info = ALSModelInfo(12, True, [], [], 0.1, 2.5, True, 0.01)
    target = tmp_path / "model" / "model.pmml"
    try:
        spark_ids.write_pmml(spark, str(target), info, indexed_users, indexed_items)
    finally:
        indexed_users.unpersist()
        indexed_items.unpersist()
    written = target.read_text(encoding="utf-8")
    reference = als_model_to_pmml(ALSModelInfo(12, True, sorted(users), sorted(items), 0.1, 2.5, True, 0.01))
    assert _without_timestamp(written) == _without_timestamp(reference)
    read = pmml_to_als_model(written)
    assert read.x_ids == sorted(users) and read.y_ids == sorted(items)
    assert [p.name for p in target.parent.iterdir()] == ["model.pmml"]  # no Hadoop .crc file beside it
    assert spark_ids.file_length(spark, str(target)) == len(written.encode("utf-8"))


def test_empty_id_list_is_left_out_as_the_writer_does(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    info = ALSModelInfo(3, False, [], [], 0.5)
    target = tmp_path / "model.pmml"
    spark_ids.write_streamed(spark, str(target), spark_ids.pmml_chunks(info, ["a b"], []))
    assert _without_timestamp(target.read_text(encoding="utf-8")) == _without_timestamp(
        als_model_to_pmml(ALSModelInfo(3, False, ["a b"], [], 0.5)))
