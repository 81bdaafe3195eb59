"""User and item IDs on the executors: dense integer indices for MLlib's ALS, and model.pmml with its ID lists streamed
from them, so that the driver never holds the IDs.

The indices are those of StringIndexer with ``alphabetAsc`` (the rank of each ID among the distinct IDs, in ascending
order) without its ``fit``, which collects every distinct ID to the driver. The PMML is byte for byte what
``oryxpy.pmml.als_model_to_pmml`` writes for the same model: its XIDs and YIDs, in ascending order, are streamed from
the executors one partition at a time into the file, opened through Hadoop's FileSystem (any URI Spark writes to).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any
from xml.sax.saxutils import escape

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from oryxpy.errors import InvalidInput
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml, join_ids

#: IDs joined, escaped and written at once.
WRITE_CHUNK = 20_000
#: IDs in one partition handed to the driver while model.pmml is written (its JVM holds one such partition at a time).
DRIVER_IDS = 100_000
#: monotonically_increasing_id puts the partition index above these bits and the row number within it below.
_ROW_BITS = 33
_CLOSING = "</PMML>"


@dataclasses.dataclass
class IndexedIds:
    """The distinct values of one ID column with their dense index (0..count-1 in ascending ID order), cached."""

    frame: DataFrame  # (id column, index column int), partitions in index order
    id_column: str
    index_column: str
    count: int

    def ids_in_order(self) -> Iterator[str]:
        """The IDs in index order, through the driver one range of about DRIVER_IDS (sampled bounds) at a time."""
        ranges = max(1, -(-self.count // DRIVER_IDS))
        ordered = (self.frame.repartitionByRange(ranges, self.index_column).sortWithinPartitions(self.index_column)
                   .select(self.id_column))
        for row in ordered.toLocalIterator(prefetchPartitions=False):
            yield row[0]

    def unpersist(self) -> None:
        self.frame.unpersist()


def index_ids(frame: DataFrame, id_column: str, index_column: str) -> IndexedIds:
    """Number the distinct values of ``frame[id_column]`` 0, 1, ... in ascending order, on the executors.

    The sorted distinct IDs are numbered within each partition (monotonically_increasing_id); only the row count of
    each partition reaches the driver, which turns them into each partition's first index. A partition recomputed
    after a lost executor gets the same numbers: its range bounds are fixed and distinct IDs sort in one order.
    """
    ordered = frame.select(F.col(id_column).cast("string").alias(id_column)).where(F.col(id_column).isNotNull())
    numbered = (ordered.distinct().orderBy(id_column)
                .select(id_column, F.spark_partition_id().alias("_part"), F.monotonically_increasing_id().alias("_mid"))
                .cache())
    try:
        sizes = {int(part): int(count) for part, count in numbered.groupBy("_part").count().collect()}
        offsets, total = [], 0
        for part in range(max(sizes, default=-1) + 1):
            offsets.append(total)
            total += sizes.get(part, 0)
        if total >= 2**31:
            raise InvalidInput(f"{total} distinct values of {id_column}: MLlib's ALS indexes at most 2^31 - 1")
        if total == 0:
            indexed = numbered.select(id_column, F.lit(0).cast("int").alias(index_column))
        else:
            first_index = F.element_at(F.array(*[F.lit(o) for o in offsets]).cast("array<long>"), F.col("_part") + 1)
            row = F.col("_mid") - F.shiftleft(F.col("_part").cast("long"), _ROW_BITS)
            indexed = numbered.select(id_column, (first_index + row).cast("int").alias(index_column))
        indexed = indexed.cache()
        indexed.count()  # materialised before the numbering it was computed from is dropped
    finally:
        numbered.unpersist()
    return IndexedIds(indexed, id_column, index_column, total)


def _id_lists(name: str, ids: Iterable[str]) -> Iterator[str]:
    """``<Extension name="NAME">ID ID ...</Extension>`` in chunks, as ElementTree writes it; nothing for no IDs."""
    iterator = iter(ids)
    first = True
    while chunk := list(islice(iterator, WRITE_CHUNK)):
        yield (f'<Extension name="{name}">' if first else " ") + escape(join_ids(chunk))
        first = False
    if not first:
        yield "</Extension>"


def pmml_chunks(info: ALSModelInfo, x_ids: Iterable[str], y_ids: Iterable[str]) -> Iterator[str]:
    """The text of ``als_model_to_pmml(info with x_ids and y_ids)``, in pieces; ``info``'s own ID lists are ignored."""
    head = als_model_to_pmml(dataclasses.replace(info, x_ids=[], y_ids=[]))
    if not head.endswith(_CLOSING):
        raise InvalidInput(f"the PMML writer's document does not end with {_CLOSING}: cannot add the ID lists")
    yield head[: -len(_CLOSING)]
    yield from _id_lists("XIDs", x_ids)
    yield from _id_lists("YIDs", y_ids)
    yield _CLOSING


def _file_system(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    """A private Hadoop FileSystem for ``uri`` (no .crc side files) and the Path: closing it leaves Spark's cached one."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = jvm.org.apache.hadoop.fs.FileSystem.newInstance(path.toUri(), spark.sparkContext._jsc.hadoopConfiguration())
    fs.setWriteChecksum(False)
    return fs, path


def write_streamed(spark: SparkSession, uri: str, chunks: Iterable[str]) -> None:
    """Write text pieces (UTF-8) to one file at ``uri`` through Hadoop's FileSystem, holding one piece at a time."""
    fs, path = _file_system(spark, uri)
    try:
        stream = fs.create(path, True)
        try:
            for chunk in chunks:
                stream.write(bytearray(chunk.encode("utf-8")))
        finally:
            stream.close()
    finally:
        fs.close()


def file_length(spark: SparkSession, uri: str) -> int:
    """The size in bytes of the file at ``uri``."""
    fs, path = _file_system(spark, uri)
    try:
        return int(fs.getFileStatus(path).getLen())
    finally:
        fs.close()


def write_pmml(spark: SparkSession, uri: str, info: ALSModelInfo, users: IndexedIds, items: IndexedIds) -> None:
    """model.pmml at ``uri`` with the IDs of ``users`` and ``items`` as XIDs and YIDs, streamed from the executors."""
    write_streamed(spark, uri, pmml_chunks(info, users.ids_in_order(), items.ids_in_order()))
