"""Fast start: the MODEL-REF files' layout, the vectorised ID table and known-items CSR, and the bulk check that skips
UP messages repeating the loaded model (while changed, new and bad messages are still applied or reported)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oryxpy.config import Config
from oryxpy.messages import ModelRefMessage, decode, encode, parse_vectors, split_up, up_value
from oryxpy.modelfiles import read_vector_table, write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml
from oryxpy.storage import LocalStorage
from oryxpy.topics import open_producer
from serving.als.manager import ALSServingModelManager
from serving.update_consumer import UpdateConsumer
from serving.vectors.ids import IdTable, distinct_ids
from serving.vectors.known import from_lists, list_codes
from serving.vectors.repeats import PROBE
from serving.vectors.vectors import VectorStore

FEATURES = 4


def test_id_table_built_at_once_finds_ids_one_by_one_and_in_bulk() -> None:
    ids = [f"u{i}" for i in range(20_000)] + ["", "é", "x y"]
    table = IdTable(pa.array(ids))
    assert [table.find(i) for i in ids] == list(range(len(ids)))
    queries = ids[::7] + ["nope", "u20000", ""]
    expected = [*range(0, len(ids), 7), -1, -1, len(ids) - 3]
    assert table.find_many(queries).tolist() == expected  # a Python list
    assert table.find_many(pa.array(queries)).tolist() == expected  # an Arrow array
    assert table.add("new") == len(ids) and table.find_many(["new", "u3"]).tolist() == [len(ids), 3]  # the overlay


def test_repeated_ids_keep_their_last_occurrence_when_the_table_is_built() -> None:
    table, keep = distinct_ids(pa.array(["a", "b", "a", "c", "b"]))
    assert keep is not None and keep.tolist() == [2, 3, 4] and [table.find(i) for i in "abc"] == [0, 2, 1]
    table, keep = distinct_ids(pa.array(["a", "b"]))
    assert keep is None and len(table) == 2


def test_a_model_id_list_is_checked_against_the_loaded_ids_in_one_compare_or_in_bulk() -> None:
    store = VectorStore(2)
    store.fill(pa.array(["a", "b", "c"]), np.ones((3, 2), np.float32))
    assert store.table.is_exactly(["a", "b", "c"]) and not store.table.is_exactly(["c", "b", "a"])
    assert store.absent(["a", "b", "c"]) == set() and store.absent(["c", "a"]) == set()
    assert store.absent(["a", "b", "c", "d"]) == {"d"} and store.absent(["x", "b", "c"]) == {"x"}
    store.add_id("ghost")  # an ID without a vector (a known item): the one-compare shortcut no longer applies
    assert store.absent(["a", "b", "c"]) == set() and store.absent(["ghost"]) == {"ghost"}


def test_rows_numbered_in_order_become_the_csr_and_repeats_still_go() -> None:
    known = from_lists(np.array([3, 0, 2, 0]), np.array([5, 1, 6, 7, 8]), np.arange(4), 4)
    assert [known.row(u) for u in range(4)] == [[5, 1, 6], [], [7, 8], []]
    known = from_lists(np.array([3, 0, 2, 0]), np.array([5, 1, 5, 7, 7]), np.arange(4), 4)
    assert [known.row(u) for u in range(4)] == [[5, 1], [], [7], []] and known.indptr.tolist() == [0, 2, 2, 3, 3]


def test_known_pairs_are_checked_in_bulk_in_the_csr_and_the_overlay() -> None:
    known = from_lists(np.array([2, 1]), np.array([4, 9, 3]), np.arange(2), 2)
    known.add(1, [6])
    held = known.holds_pairs(np.array([0, 0, 0, 1, 1, 1, -1, 5]), np.array([4, 9, 3, 3, 6, 4, 4, 4]))
    assert held.tolist() == [True, True, False, True, True, False, False, False]


def test_dictionary_encoded_lists_number_each_distinct_item_once() -> None:
    calls: list[int] = []

    def numbers_of(ids: pa.Array) -> np.ndarray:
        calls.append(len(ids))
        return np.array([ord(i) - ord("a") for i in ids.to_pylist()], dtype=np.int64)

    first = pa.array([["a", "c"], None, ["c"]]).cast(pa.list_(pa.dictionary(pa.int32(), pa.string())))
    second = pa.array([["b", "a"]]).cast(pa.list_(pa.dictionary(pa.int32(), pa.string())))
    lengths, codes = list_codes(pa.chunked_array([first, second]), numbers_of)
    assert lengths.tolist() == [2, 0, 1, 2] and codes.tolist() == [0, 2, 2, 1, 0] and calls == [3]
    unreferenced = pa.DictionaryArray.from_arrays(pa.array([1, 1]), pa.array(["zz", "b"]))  # "zz" is in no list
    lengths, codes = list_codes(pa.ListArray.from_arrays(pa.array([0, 2]), unreferenced), numbers_of)
    assert codes.tolist() == [1, 1] and calls[-1] == 1
    assert list_codes([["b"], []], numbers_of)[1].tolist() == [1]
    with pytest.raises(ValueError, match="null"):
        list_codes(pa.array([["a", None]]), numbers_of)


def test_model_files_keep_vectors_plain_and_known_items_as_one_dictionary(tmp_path: Path) -> None:
    storage, users = LocalStorage(), [f"u{i}" for i in range(3000)]
    items = [f"item-{i}" for i in range(40_000)]  # more distinct IDs than Parquet's default 1 MB dictionary page holds
    x = np.random.default_rng(3).standard_normal((len(users), FEATURES), dtype=np.float32)
    known = [items[i * 13 : i * 13 + 20] for i in range(len(users))]
    write_vectors(storage, f"file:{tmp_path}/X", users, x, known)
    columns = pq.ParquetFile(tmp_path / "X" / "part-00000.parquet").metadata.row_group(0)
    by_path = {columns.column(c).path_in_schema: columns.column(c) for c in range(columns.num_columns)}
    assert by_path["vector.list.element"].compression == "UNCOMPRESSED"
    assert "RLE_DICTIONARY" not in by_path["vector.list.element"].encodings
    known_column = by_path["known.list.element"]
    assert known_column.has_dictionary_page and known_column.dictionary_page_offset is not None
    table = read_vector_table(storage, f"file:{tmp_path}/X", FEATURES)
    assert table.known is not None and pa.types.is_dictionary(table.known.type.value_type)
    assert table.known.chunk(0).values.dictionary.to_pylist()[:2] == ["item-0", "item-1"]  # one dictionary, no fallback
    assert table.id_list() == users and np.array_equal(table.matrix, x) and table.known_lists() == known


def test_vector_files_of_other_writers_and_several_parts_read_alike(tmp_path: Path) -> None:
    storage, part = LocalStorage(), tmp_path / "X"
    part.mkdir()
    plain = pa.table({"id": ["a", "b"], "vector": pa.array([[1.0, 2.0], [3.0, 4.0]], pa.list_(pa.float32())),
                      "known": pa.array([["i1", "i2"], []], pa.list_(pa.string()))})
    pq.write_table(plain, part / "part-00000.parquet")  # Spark-like: default dictionary, compression
    pq.write_table(pa.table({"id": ["c"], "vector": pa.array([[5.0, 6.0]], pa.list_(pa.float32()))}),
                   part / "part-00001.parquet")  # a part without known items
    table = read_vector_table(storage, f"file:{part}", 2)
    assert table.id_list() == ["a", "b", "c"] and table.matrix.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert table.known_lists() == [["i1", "i2"], [], None]


def test_up_values_split_without_json_as_decode_reads_them() -> None:
    rng = np.random.default_rng(5)
    vectors = np.concatenate([rng.standard_normal((300, FEATURES), dtype=np.float32) * 10.0 ** rng.integers(-8, 8, (300, 1)),
                              np.array([[0.0, -0.0, 1e-45, 3.4028235e38]], np.float32)])
    values = [up_value("X", f"user {i}", v, [f"i{i}", "ünï"]) for i, v in enumerate(vectors)]
    values.append('["Y","it",[1,2.5e3,-3E-2,4]]')
    parts = [split_up(v) for v in values]
    assert all(p is not None for p in parts)
    ok, parsed = parse_vectors([p[2] for p in parts if p], FEATURES)
    decoded = [decode("UP", v) for v in values]
    assert ok.all() and all(np.array_equal(parsed[i].view(np.uint32), d.vector.view(np.uint32))  # type: ignore[union-attr]
                            for i, d in enumerate(decoded))
    assert parts[0] == ("X", "user 0", parts[0][2], ["i0", "ünï"]) and parts[-1][3] is None  # type: ignore[index]
    for other in ('["X","a\\"b",[1,2,3,4]]', '["X", "a",[1,2,3,4]]', '{"X":1}', '["Z","a",[1]]', '["X","a",[1],5]'):
        assert split_up(other) is None  # escapes, spaces, other shapes: left to decode()
    assert parse_vectors(["1,2,3,4", "1,2,3"], FEATURES)[0].tolist() == [True, False]  # the wrong length is not parsed
    for bad in ("1,2,x,4", "1,,2,3", "1,2,3,NaN", "1,2,3,4 "):
        assert not parse_vectors(["1,2,3,4", bad], FEATURES)[0].any()  # not all numbers: none parsed fast


def publish_model(root: Path, users: int, items: int) -> tuple[str, np.ndarray, np.ndarray, list[list[str]]]:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((users, FEATURES), dtype=np.float32)
    y = rng.standard_normal((items, FEATURES), dtype=np.float32)
    known = [[f"I{j}" for j in rng.choice(items, 3, replace=False)] for _ in range(users)]
    storage, model_dir = LocalStorage(), f"file:{root}/model/1"
    user_ids, item_ids = [f"U{u}" for u in range(users)], [f"I{i}" for i in range(items)]
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(ALSModelInfo(FEATURES, True, user_ids, item_ids)))
    write_vectors(storage, f"{model_dir}/Y", item_ids, y)
    write_vectors(storage, f"{model_dir}/X", user_ids, x, known)
    return f"{model_dir}/model.pmml", x, y, known


@pytest.mark.parametrize("sample_rate", [1.0, 0.3])  # one block of items, or one per LSH bucket
def test_only_exact_repeats_of_the_loaded_model_are_skipped(embedded_config: Config, tmp_path: Path,
                                                            sample_rate: float) -> None:
    uri, x, y, known = publish_model(tmp_path, 50, 80)
    manager = ALSServingModelManager(embedded_config.with_overrides({"oryx.als.sample-rate": sample_rate}), lsh_seed=2)
    assert not manager.repeated_updates([("UP", up_value("Y", "I0", y[0]))]).any()  # no model yet
    manager.consume(ModelRefMessage(uri))
    messages = [("UP", up_value("Y", f"I{i}", y[i])) for i in range(80)]
    messages += [("UP", up_value("X", f"U{u}", x[u], known[u])) for u in range(50)]
    assert manager.repeated_updates(messages).all()
    unknown_to_u2 = next(f"I{i}" for i in range(80) if f"I{i}" not in known[2])
    changed = [("UP", up_value("Y", "I1", y[1] + 1)), ("UP", up_value("X", "U2", x[2], [*known[2], unknown_to_u2])),
               ("UP", up_value("X", "U3", x[3], ["I999"])), ("UP", up_value("Y", "new", y[0])),
               ("UP", up_value("X", "U4", x[4] * 2, known[4][:1])), ("UP", up_value("X", "U5", x[5], known[5][:2])),
               ("UP", up_value("Y", "I1", y[1]))]  # a repeat of the model, but after a change of I1 in this poll
    assert manager.repeated_updates(changed).tolist() == [False, False, False, False, False, True, False]
    after_bad = [("UP", up_value("Y", "I0", y[0])), ("UP", "not json"), ("UP", up_value("Y", "I2", y[2]))]
    assert manager.repeated_updates(after_bad).tolist() == [True, False, False]  # everything after it: full path
    assert manager.repeated_updates([("MODEL", "<PMML/>"), messages[0]]).tolist() == [False, False]
    live = [("UP", up_value("Y", f"I{i}", y[i] + 1)) for i in range(PROBE)]  # the speed layer's new vectors
    assert not manager.repeated_updates(live + messages).any()  # no repeat among the first: the rest is not checked
    replay = messages[:PROBE] + changed + messages[PROBE:]  # a repeat among the first: every message is checked
    assert manager.repeated_updates(replay).tolist() == [True] * PROBE + [False] * 5 + [True, False] + \
        [i != 1 for i in range(PROBE, 80)] + [u not in (2, 3, 4) for u in range(50)]  # changed in this poll


def test_a_replay_skips_repeats_applies_changes_and_reports_bad_messages(
        embedded_config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    uri, x, y, known = publish_model(tmp_path, 200, 300)
    ups = [up_value("Y", f"I{i}", y[i]) for i in range(300)] + [up_value("X", f"U{u}", x[u], known[u]) for u in range(200)]
    ups[150] = up_value("Y", "I150", y[150] * 3)  # the speed layer's newer vector, mid-replay
    ups[400] = up_value("X", "U100", x[100], ["I7"])  # a new pair
    ups[401] = '["X","U101",[1,2,3]]'  # the wrong number of features
    ups[402] = '["X","U102",[1,2,3,"x"]]'  # not numbers
    with open_producer(embedded_config, "update") as producer:
        producer.send(*encode(ModelRefMessage(uri)))
        producer.send_all([("UP", v) for v in ups])
    manager = ALSServingModelManager(embedded_config)
    consumer = UpdateConsumer(embedded_config, manager)
    with caplog.at_level(logging.WARNING, logger="serving.update_consumer"):
        consumer.start()
        try:
            assert consumer.wait_caught_up(60)
            deadline = time.monotonic() + 10
            while consumer.consumed + consumer.errors < len(ups) + 1 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            consumer.stop()
    model = manager.get_model()
    assert model is not None and consumer.errors == 2 and consumer.consumed == len(ups) - 1
    assert np.array_equal(model.item_vector("I150"), y[150] * 3)  # type: ignore[arg-type]
    assert "I7" in model.known_items("U100") and np.array_equal(model.user_vector("U3"), x[3])  # type: ignore[arg-type]
    warnings = [r.getMessage() for r in caplog.records]
    assert any("U101" in w and "3 values" in w for w in warnings) and any("not a list of numbers" in w for w in warnings)
    assert json.loads(ups[0])[1] == "I0"
