"""The compact serving model: the ID table, known items as a CSR of byte-packed numbers with an overlay, renumbering
across bulk loads, and the memory it takes against the raw float32 vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from oryxpy.config import Config
from oryxpy.errors import InvalidInput
from oryxpy.modelfiles import open_model_ref, write_vectors
from oryxpy.pmml import ALSModelInfo, als_model_to_pmml, join_ids, split_ids
from oryxpy.storage import LocalStorage
from serving.vectors.ids import IdTable, last_occurrences
from serving.vectors.known import from_lists
from serving.vectors.model import VectorServingModel
from serving.vectors.packed import PackedInts
from serving.vectors.queries import top_n
from serving.vectors.vectors import VectorStore


def test_id_table_finds_every_id_and_numbers_additions_after_the_base() -> None:
    ids = [f"id-{i}" for i in range(5000)] + ["", "é", "a b"]
    table = IdTable(pa.array(ids).slice(0))
    assert [table.find(i) for i in ids] == list(range(len(ids)))
    assert table.find("missing") == -1 and table.find("id-50000") == -1
    assert table.add("new") == len(ids) and table.add("id-7") == 7 and table.find("new") == len(ids)
    assert table.id_of(len(ids) - 2) == "é" and table.id_of(len(ids)) == "new"
    assert table.ids_of([3, len(ids), 0]) == ["id-3", "new", "id-0"]
    assert table.ids_of(np.arange(40))[39] == "id-39"  # the Arrow path for many numbers
    assert table.find_many(["id-9", "new", "nope"]).tolist() == [9, len(ids), -1]
    sliced = IdTable(pa.array(["x", "y", "z"]).slice(1))  # a slice starts past its buffers' beginning
    assert sliced.find("z") == 1 and sliced.find("x") == -1 and sliced.id_of(0) == "y"
    assert IdTable().find("x") == -1


def test_duplicate_ids_keep_their_last_occurrence() -> None:
    assert last_occurrences(pa.array(["a", "b", "a", "c", "b"])).tolist() == [2, 3, 4]  # type: ignore[union-attr]
    assert last_occurrences(pa.array(["a", "b"])) is None
    store = VectorStore(2)
    store.fill(["a", "b", "a"], np.array([[1, 0], [0, 1], [2, 2]], dtype=np.float32))
    assert len(store) == 2 and store.get("a").tolist() == [2, 2]  # type: ignore[union-attr]


def test_known_lists_become_a_csr_without_repeats() -> None:
    lengths = np.array([3, 0, 2, 2])
    codes = np.array([5, 1, 5, 7, 7, 9, 9])
    known = from_lists(lengths, codes, np.array([2, 0, 1, 2]), 4)  # user 2 given twice: its last row counts
    assert known.row(0) == [] and known.row(1) == [7] and known.row(2) == [9] and known.row(3) == []
    known = from_lists(np.array([3, 1]), np.array([4, 2, 4, 8]), np.array([1, 0]), 2)
    assert known.row(1) == [4, 2] and known.row(0) == [8]
    assert known.add(1, [2, 3, 3]) and not known.add(1, [4, 3]) and known.row(1) == [4, 2, 3]
    assert known.added == {1: (3,)} and known.counts_per_item(10).tolist()[2:5] == [1, 1, 1]
    renumbered = known.renumbered(np.array([1, 0]), np.arange(10)[::-1].copy())
    assert renumbered.row(0) == [5, 7, 6] and renumbered.row(1) == [1] and renumbered.added == {0: (6,)}


@pytest.mark.parametrize("top", [0, 255, 256, 70_000, 2**24 - 1, 2**24, 2**31 - 1])
def test_packed_numbers_take_the_fewest_bytes_and_read_back(top: int) -> None:
    rng = np.random.default_rng(top)
    values = np.append(rng.integers(0, top + 1, 1000), [top, 0])
    packed = PackedInts(values)
    assert packed.width == max(1, top.bit_length()) and packed.nbytes == -(-len(values) // 8) * packed.width + 8
    assert packed.to_numpy().tolist() == values.tolist() and packed.to_numpy().dtype == np.int32
    assert packed[10:20].tolist() == values[10:20].tolist() and packed[5:5].tolist() == []
    picks = rng.integers(0, len(values), 50)
    assert packed[picks].tolist() == values[picks].tolist()


def test_packed_numbers_refuse_what_int32_cannot_hold() -> None:
    for bad in ([-1, 3], [2**31]):
        with pytest.raises(ValueError, match=r"\[0, 2\*\*31\)"):
            PackedInts(np.array(bad, dtype=np.int64))
    assert len(PackedInts()) == 0 and PackedInts().to_numpy().tolist() == []


def test_known_items_survive_renumbering_by_a_later_bulk_load() -> None:
    model = VectorServingModel(2, True)
    model.set_item_vector("a", np.array([1, 0], np.float32))
    model.set_user_vector("u", np.array([1, 1], np.float32))
    model.add_known_items("u", ["a", "ghost"])  # "ghost" has no vector: a number without one
    model.bulk_load_items(["b", "a"], np.array([[0, 1], [2, 0]], np.float32))  # new item numbers
    assert model.known_items("u") == ("a", "ghost") and model.item_counts() == {"a": 1, "ghost": 1}
    model.bulk_load_users(["v", "u"], np.ones((2, 2), np.float32), [["b"], ["b", "a", "b"]])
    assert model.known_items("u") == ("b", "a", "ghost") and model.known_items("v") == ("b",)
    assert model.user_counts() == {"u": 3, "v": 1} and model.known_added() == {"u": ("a", "ghost")}
    assert [i for i, _ in top_n(model, np.array([1.0, 1.0]), 2, model.known_items("v"))] == ["a"]
    assert sorted(model.item_ids()) == ["a", "b"] and "ghost" not in model.Y


def test_bulk_loaded_rows_are_written_after_a_copy() -> None:
    model = VectorServingModel(2, True)
    matrix = np.array([[1, 0], [0, 1]], np.float32)
    matrix.setflags(write=False)  # as a view of Arrow memory is
    model.bulk_load_users(["u", "v"], matrix, None)
    model.set_user_vector("u", np.array([3, 3], np.float32))
    assert model.user_vector("u").tolist() == [3, 3] and matrix[0].tolist() == [1, 0]  # type: ignore[union-attr]


def test_plain_id_lists_split_fast_and_quoted_ones_as_before() -> None:
    for ids in (["a", "b", "c"], ["a b", 'q"x', "", "t\tu", "nb\u00a0sp"], ["x\\y"]):
        assert split_ids(join_ids(ids)) == ids
    assert split_ids("  a   b ") == ["a", "b"]


def test_model_memory_is_near_the_raw_vectors() -> None:
    rng = np.random.default_rng(1)
    items, users, features = 60_000, 30_000, 50
    y = rng.standard_normal((items, features), dtype=np.float32)
    x = rng.standard_normal((users, features), dtype=np.float32)
    item_ids = pa.array([f"I{i}" for i in range(items)])
    offsets = np.concatenate([[0], np.cumsum(rng.poisson(20, users))]).astype(np.int32)
    known = pa.ListArray.from_arrays(pa.array(offsets), item_ids.take(pa.array(rng.integers(0, items, offsets[-1]))))
    model = VectorServingModel(features, True)
    model.bulk_load_items(item_ids, y)
    model.bulk_load_users(pa.array([f"U{u}" for u in range(users)]), x, known)
    raw = x.nbytes + y.nbytes
    # vectors, norms, ID tables and 20 known items a user (16 bits each for 60k items): 1.2x; Python objects took 2.4x
    assert model.nbytes() <= 1.22 * raw, model.nbytes() / raw
    assert model.X.blocks[0].norms is None and model.Y.blocks[0].norms is not None  # users are not ranked by cosine
    assert model.X.loc is None and model.X.blocks[0].nums is None  # rows are ID numbers: no arrays for either
    assert model.known.nbytes() <= 2 * len(known.flatten()) + 16 + 4 * (users + 1)
    user = "U17"
    expected = known[17].as_py()
    assert model.known_items(user) == tuple(dict.fromkeys(expected))


def test_one_model_ref_reader_for_both_layers(embedded_config: Config, tmp_path: Path) -> None:
    storage, model_dir = LocalStorage(), f"file:{tmp_path}/model/7"
    storage.write_text(f"{model_dir}/model.pmml", als_model_to_pmml(ALSModelInfo(3, True, ["u"], ["a", "b"])))
    write_vectors(storage, f"{model_dir}/Y", ["a", "b"], np.ones((2, 2), np.float32))  # 2 values, the PMML says 3
    assert open_model_ref(f"{model_dir}/gone.pmml", embedded_config) is None
    ref = open_model_ref(f"{model_dir}/model.pmml", embedded_config)
    assert ref is not None and ref.side("X") is None  # no X/ files: wait for UP messages
    with pytest.raises(InvalidInput, match="2 features, the model says 3"):
        ref.side("Y")
    write_vectors(storage, f"{model_dir}/Y", ["a", "b"], np.ones((2, 3), np.float32))
    table = ref.side("Y")
    assert table is not None and table.id_list() == ["a", "b"] and table.matrix.shape == (2, 3) and table.known is None


def test_a_serving_process_takes_arrow_buffers_from_the_c_allocator() -> None:
    """So that a model load's Parquet buffers go back to the OS once freed (pyarrow's default pool keeps some)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    code = ("import pyarrow as pa; from oryxpy.config import default_config; from serving.layer import prepare_process; "
            "before = pa.default_memory_pool().backend_name; prepare_process(default_config()); "
            "print(before, pa.default_memory_pool().backend_name)")
    before, after = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                   env=env).stdout.split()
    assert before != "system" and after == "system"


def test_a_serving_process_keeps_one_malloc_arena_and_arrow_on_it() -> None:
    """So that freed buffers of a Parquet read on many threads are not left between live ones in per-thread arenas:
    ``oryxpy serving`` sets its allocators before numpy and Arrow load; ``prepare_process``, later, covers the
    threads started after it."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "if sys.argv[1] == 'early': from oryxpy.malloc import prepare_allocators; prepare_allocators()\n"
            "import ctypes, threading; import numpy as np; import pyarrow as pa; from oryxpy.config import default_config\n"
            "from serving.layer import prepare_process\n"
            "if sys.argv[1] == 'late': prepare_process(default_config())\n"
            "threads = [threading.Thread(target=lambda: [np.ones(100 + i) for i in range(1000)]) for _ in range(4)]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "print(pa.default_memory_pool().backend_name, pa.total_allocated_bytes() >= 0, flush=True)\n"
            "ctypes.CDLL('libc.so.6').malloc_stats()")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}

    def allocators(mode: str) -> tuple[str, int]:
        run = subprocess.run([sys.executable, "-c", code, mode], check=True, capture_output=True, text=True, env=env)
        return run.stdout.split()[0], sum(line.startswith("Arena ") for line in run.stderr.splitlines())

    (plain_pool, plain), (late_pool, late), (early_pool, early) = allocators("plain"), allocators("late"), \
        allocators("early")
    assert plain >= 5 and late <= 2 and early == 1, (plain, late, early)  # late: a thread an import started keeps its own
    assert plain_pool != "system" and late_pool == early_pool == "system"
