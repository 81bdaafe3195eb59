"""The exact scan shared by concurrent queries: one product split over threads, and leaders that gather the
announced queries into one batch."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from serving.vectors import batch as scan
from serving.vectors.batch import CHUNK_ROWS, ScanBatcher, batch_product
from serving.vectors.model import VectorServingModel
from serving.vectors.queries import top_n


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_product_split_over_threads_equals_the_plain_product(threads: int) -> None:
    rng = np.random.default_rng(threads)
    rows = CHUNK_ROWS * 9 + 123  # not a whole number of chunks, enough to split
    matrix = rng.standard_normal((rows, 12)).astype(np.float32)
    targets = rng.standard_normal((12, 5)).astype(np.float32)
    product = batch_product(matrix, targets, threads)
    assert product.shape == (5, rows) and product.flags.c_contiguous
    np.testing.assert_allclose(product, (matrix @ targets).T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_column_major_product_equals_the_plain_product(threads: int) -> None:
    """Items stored feature by feature (a block's "F" layout, live rows a prefix of a larger capacity)."""
    rng = np.random.default_rng(threads)
    rows = scan.CHUNK_COLUMNS * 5 + 77
    capacity = np.asfortranarray(rng.standard_normal((rows + 1000, 12)).astype(np.float32))
    matrix = capacity[:rows]
    assert not matrix.flags.c_contiguous and matrix.strides[0] == 4
    targets = rng.standard_normal((12, 5)).astype(np.float32)
    product = batch_product(matrix, targets, threads)
    assert product.shape == (5, rows) and product.flags.c_contiguous
    np.testing.assert_allclose(product, (np.ascontiguousarray(matrix) @ targets).T, rtol=1e-5, atol=1e-5)
    single = batch_product(matrix, targets[:, :1], threads)
    np.testing.assert_allclose(single[0], product[0], rtol=1e-5, atol=1e-5)


def test_a_helper_thread_failure_reaches_the_caller() -> None:
    matrix = np.ones((CHUNK_ROWS * 8, 3), dtype=np.float32)
    with pytest.raises(ValueError):
        batch_product(matrix, np.ones((4, 2), dtype=np.float32), 2)  # 3 features against 4: every part fails


def _in_thread(fn):  # type: ignore[no-untyped-def]
    out: dict[str, object] = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", fn()))
    thread.start()
    return thread, out


def test_a_leader_waits_for_an_announced_query_and_scans_both_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "GATHER_MAX_S", 5.0)
    batcher = ScanBatcher(threads=1)
    batcher._last_product_s = 10.0  # so the wait is bounded by GATHER_MAX_S
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((1000, 4)).astype(np.float32)
    a, b = rng.standard_normal((2, 4)).astype(np.float32)
    late_arrived = threading.Event()

    def late() -> np.ndarray:
        with batcher.query():
            time.sleep(0.3)  # announced, still preparing its query when the leader starts
            late_arrived.set()
            return batcher.scores(matrix, b)

    def leader() -> np.ndarray:
        with batcher.query():
            return batcher.scores(matrix, a)

    slow, slow_out = _in_thread(late)
    while batcher._querying < 1:
        time.sleep(0.001)
    started = time.perf_counter()
    first, first_out = _in_thread(leader)
    first.join(10)
    slow.join(10)
    assert late_arrived.is_set() and time.perf_counter() - started < 4.0
    assert batcher.largest_batch == 2  # one product for both
    np.testing.assert_allclose(first_out["value"], matrix @ a, rtol=1e-5, atol=1e-5)  # type: ignore[arg-type]
    np.testing.assert_allclose(slow_out["value"], matrix @ b, rtol=1e-5, atol=1e-5)  # type: ignore[arg-type]


def test_a_leader_stops_waiting_when_an_announced_query_ends_without_scanning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "GATHER_MAX_S", 5.0)
    batcher = ScanBatcher(threads=1)
    batcher._last_product_s = 10.0
    matrix = np.ones((100, 2), dtype=np.float32)
    release = threading.Event()

    def idle() -> None:
        with batcher.query():
            release.wait(10)  # e.g. a request that finds its answer without a scan

    other, _ = _in_thread(idle)
    while batcher._querying < 1:
        time.sleep(0.001)
    def lead() -> np.ndarray:
        with batcher.query():
            return batcher.scores(matrix, np.ones(2, dtype=np.float32))

    leader, out = _in_thread(lead)
    time.sleep(0.2)
    assert leader.is_alive()  # waiting for the announced query
    started = time.perf_counter()
    release.set()
    leader.join(10)
    other.join(10)
    assert time.perf_counter() - started < 2.0 and np.all(out["value"] == 2.0)  # type: ignore[operator]


def test_the_wait_is_bounded_when_the_expected_callers_do_not_come() -> None:
    batcher = ScanBatcher(threads=1)
    batcher._recent = [8, 8]  # eight callers were seen lately, none comes now
    batcher._last_product_s = 10.0
    matrix = np.ones((100, 2), dtype=np.float32)
    started = time.perf_counter()
    assert np.all(batcher.scores(matrix, np.ones(2, dtype=np.float32)) == 2.0)
    assert time.perf_counter() - started < 1.0  # at most GATHER_MAX_S, plus scheduling


def test_exact_answers_under_many_threads_equal_brute_force_with_known_items_excluded() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(6)
    items = rng.standard_normal((CHUNK_ROWS * 10, 8)).astype(np.float32)  # large enough to split over threads
    model = VectorServingModel(8, True, scan_threads=2)
    ids = [f"i{i}" for i in range(len(items))]
    model.bulk_load_items(ids, items)
    targets = rng.standard_normal((48, 8))
    excluded = [{f"i{j}" for j in rng.integers(0, len(items), 20)} for _ in targets]

    def brute(t: np.ndarray, skip: set[str]) -> list[str]:
        scores = items.astype(np.float64) @ t
        order = [int(i) for i in np.argsort(-scores) if ids[int(i)] not in skip]
        return [ids[i] for i in order[:10]]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: top_n(model, p[0], 10, p[1]), zip(targets, excluded, strict=True)))
    for t, skip, answer in zip(targets, excluded, answers, strict=True):
        assert [i for i, _ in answer] == brute(t, skip)
        assert not skip & {i for i, _ in answer}
