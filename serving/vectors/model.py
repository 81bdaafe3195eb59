"""VectorServingModel: user (X) and item (Y) vectors, known items, expected IDs and the Y'Y solver, safe for concurrent reads."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np
import pyarrow as pa

from oryxpy.als import Solver, SolverCache
from oryxpy.lsh import LocalitySensitiveHash
from serving.vectors import ivf
from serving.vectors.batch import ScanBatcher
from serving.vectors.graph_upkeep import GraphUpkeep
from serving.vectors.known import KnownItems, from_lists, list_codes
from serving.vectors.reads import ModelReads
from serving.vectors.rwlock import RWLock
from serving.vectors.vectors import IdList, VectorStore, renumbering


def _gram_factor(store: VectorStore) -> np.ndarray | None:
    """A k x k matrix R with R'R = V'V, so SolverCache's gram(R) is V'V without copying V to float64."""
    g = store.gram()
    if g is None:
        return None
    w, v = np.linalg.eigh(g)
    factor: np.ndarray = np.sqrt(np.clip(w, 0.0, None))[:, None] * v.T
    return factor


WRITE_CHUNK = 256  # changes per write-lock hold: about 20 us each, so a query waits about 5 ms at most for one hold
FEW_ITEMS = 16  # item UPs applied one by one rather than looked up in bulk


def _discarded(expected: set[str], id_: str) -> set[str]:
    """``expected`` without ``id_``; a fresh empty set once it empties (frees the table of a large emptied set)."""
    if id_ in expected:
        expected.discard(id_)
        if not expected:
            return set()
    return expected


class VectorServingModel(ModelReads, GraphUpkeep):
    """The in-memory model. Writers (the update consumer) take the write lock per change; readers take the read lock.

    Items live in one block per LSH bucket (one block when every bucket is scanned, i.e. sample rate 1.0), or with
    ``approximate_index="ivf"`` one block per IVF list once at least ``ivf_min_items`` items are loaded (LSH unused).
    With ``approximate_index="hnsw"`` items stay in one block and a faiss HNSW graph (``serving.vectors.ann``), built in
    a background thread after a bulk load, proposes candidates; queries scan exactly until it is ready (its upkeep:
    ``serving.vectors.graph_upkeep``). IDs live in compact tables (``serving.vectors.ids``) and known items as their
    numbers (``serving.vectors.known``: a bit-packed CSR from the MODEL-REF plus an overlay of UP additions). They grow
    with UP messages until the next MODEL, which replaces them with the model's own (loaded from its X/ vectors or its
    UP messages) plus the pairs that arrived since the MODEL before it (``known.added``): so a pair deleted upstream
    leaves the known items and can be recommended again.
    """

    def __init__(self, features: int, implicit: bool, sample_rate: float = 1.0, lsh_seed: int | None = None,
                 approximate_index: str = "none", ivf_probes: int = 0, ivf_lists: int = 0,
                 ivf_min_items: int = 4096, hnsw_m: int = 0, hnsw_ef_search: int = 128, scan_threads: int = 0,
                 hnsw_ef_construction: int = 0):
        self.features = features
        self.implicit = implicit
        self.lsh = LocalitySensitiveHash(sample_rate, features, seed=lsh_seed)
        self.use_ivf = approximate_index == "ivf"
        self.ivf: ivf.IVFIndex | None = None
        self.ivf_probes, self.ivf_lists, self.ivf_min_items = ivf_probes, ivf_lists, ivf_min_items
        self._ivf_seed = lsh_seed
        self._ivf_trained_on = 0
        self._ivf_changes = 0  # item vectors set since the index was trained
        self.use_hnsw = approximate_index == "hnsw"
        self.ann = None
        self.hnsw_m, self.hnsw_ef_search, self.hnsw_ef_construction = hnsw_m, hnsw_ef_search, hnsw_ef_construction
        self._ann_journal: list[str] | None = None  # items changed while a graph is built aside
        self._ann_generation = 0
        self.ann_ready = threading.Event()  # set when the graph of the current items is installed
        buckets = 1 if self.lsh.scans_all or self.use_ivf or self.use_hnsw else self.lsh.num_buckets
        self.X = VectorStore(features, with_norms=False)  # users are never ranked by cosine
        # items feature by feature when queries scan them all; vector by vector when a graph's candidates are gathered
        self.Y = VectorStore(features, buckets, self.lsh.indices_for, order="C" if self.use_hnsw else "F")
        self.known = KnownItems()
        self.expected_users: set[str] = set()
        self.expected_items: set[str] = set()
        self._to_expect: tuple[Collection[str], Collection[str]] | None = None  # a MODEL-REF's IDs, while it loads
        self.lock = RWLock()
        self.version = 0  # bumped by every change; keys the caches below
        self._counts_cache: dict[str, tuple[int, Counter[str]]] = {}
        self.yty = SolverCache(self._yty_factor, "Y'Y")
        self.batcher = ScanBatcher(threads=scan_threads or None)

    # ---- writes (called by the manager from the update consumer thread) ----

    def set_user_vector(self, user: str, vector: np.ndarray) -> None:
        self.set_user_vectors([(user, vector, ())])

    def set_user_vectors(self, updates: Sequence[tuple[str, np.ndarray, Sequence[str]]]) -> None:
        """Apply user UPs in order: (user, vector, items it now knows); an ID's last vector wins, its items add up.

        A user that has a vector gets the new one in place without the lock (a row copy is atomic under the GIL, and
        readers copy rows, never scan X), and known pairs between numbered IDs are added without it too. The rest
        (new users, new IDs) is applied under one write-lock hold per WRITE_CHUNK users, not one per message.
        """
        vectors: dict[str, np.ndarray] = {}
        known: dict[str, list[str]] = {}
        for user, vector, items in updates:
            vectors[user] = np.asarray(vector, dtype=np.float32)
            if items:
                known.setdefault(user, []).extend(items)
        self._apply_users(vectors, known)

    def _apply_users(self, vectors: dict[str, np.ndarray], known: dict[str, list[str]]) -> None:
        """IDs are looked up all at once; changed vectors of users that have one are written row by row in place,
        and known pairs between numbered IDs added, without the lock. New users and new IDs take the write lock once
        per WRITE_CHUNK users."""
        new_users: list[tuple[str, np.ndarray]] = []
        if vectors:
            users, matrix = list(vectors), np.stack(list(vectors.values()))
            nums = self.X.table.find_many(users)
            rows = self.X.rows_of(nums)
            changed = np.flatnonzero((rows >= 0) & ~self.X.equal_rows(nums, matrix))
            if len(changed):
                self.X.write_rows(nums[changed], matrix[changed])
                self.version += 1
            new_users = [(users[j], matrix[j]) for j in np.flatnonzero(rows < 0).tolist()]
        new_pairs = self._add_known_in_place(known) if known else []
        for start in range(0, max(len(new_users), len(new_pairs)), WRITE_CHUNK):
            with self.lock.write():
                for user, vector in new_users[start : start + WRITE_CHUNK]:
                    self.X.set(user, vector)
                    self.expected_users = _discarded(self.expected_users, user)
                for user, items in new_pairs[start : start + WRITE_CHUNK]:
                    self.known.add(self.X.add_id(user), [self.Y.add_id(i) for i in items])
                self.version += 1

    def _add_known_in_place(self, known: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
        """Add the new pairs between IDs that have numbers without the lock (replacing one overlay entry is atomic
        under the GIL); returns the users whose pairs name a new ID (the tables must grow under the write lock)."""
        users = list(known)
        owner = np.repeat(np.arange(len(users)), [len(known[u]) for u in users])
        user_nums = self.X.table.find_many(users)[owner]
        item_nums = self.Y.table.find_many([i for u in users for i in known[u]])
        numbered = (user_nums >= 0) & (item_nums >= 0)
        names_new_id = np.zeros(len(users), dtype=bool)
        names_new_id[owner[~numbered]] = True
        adding = np.flatnonzero(numbered & ~names_new_id[owner] & ~self.known.holds_pairs(user_nums, item_nums))
        for user_num, pairs in itertools.groupby(zip(user_nums[adding].tolist(), item_nums[adding].tolist(),
                                                     strict=True), key=lambda pair: pair[0]):
            self.known.add_unknown(user_num, tuple(dict.fromkeys(item for _, item in pairs)))
        if len(adding):
            self.version += 1
        return [(users[j], known[users[j]]) for j in np.flatnonzero(names_new_id).tolist()]

    def set_item_vector(self, item: str, vector: np.ndarray) -> None:
        self.set_item_vectors([(item, vector)])

    def set_item_vectors(self, updates: Sequence[tuple[str, np.ndarray]]) -> None:
        """Apply item UPs (an ID's last vector wins), then keep the HNSW graph or IVF lists up to date. IDs are looked
        up and compared at once, unlocked (only this thread writes): UPs repeating what is loaded (a MODEL-REF's
        replay) take no lock at all. In a store of one block, changed items that have a vector are rewritten in
        place under one write-lock hold (a scan must not read a half-written vector; the rows and their norms are
        written in bulk); new items, LSH bucket moves and a handful of UPs take one hold per WRITE_CHUNK."""
        latest = {item: np.asarray(vector, dtype=np.float32) for item, vector in updates}
        items, matrix = list(latest), np.stack(list(latest.values()))
        if len(items) <= FEW_ITEMS:  # a handful (one UP): looked up one by one, 13 us an item against 44 in bulk
            changed = np.array([j for j, item in enumerate(items) if not self.Y.holds(item, matrix[j])], dtype=np.int64)
            in_place = np.zeros(len(changed), dtype=bool)
        else:
            nums = self.Y.table.find_many(items)
            changed = np.flatnonzero(~self.Y.equal_rows(nums, matrix))
            in_place = (self.Y.rows_of(nums[changed]) >= 0) if self.Y.buckets == 1 else np.zeros(len(changed), bool)
        if not len(changed):
            return
        if in_place.any():
            with self.lock.write():
                self.Y.write_rows(nums[changed[in_place]], matrix[changed[in_place]])
                self._note_changed_items([items[j] for j in changed[in_place].tolist()])
        others = changed[~in_place].tolist()
        for start in range(0, len(others), WRITE_CHUNK):
            with self.lock.write():
                for j in others[start : start + WRITE_CHUNK]:
                    self.Y.set(items[j], matrix[j])
                self._note_changed_items([items[j] for j in others[start : start + WRITE_CHUNK]])
        self.yty.set_dirty()
        if self.use_hnsw:
            self._maintain_ann()
        elif self.use_ivf:
            self._ivf_changes += len(changed)
            if len(self.Y) >= self.ivf_min_items and self._ivf_changes >= max(self._ivf_trained_on, self.ivf_min_items):
                self.rebuild_ivf()

    def _note_changed_items(self, items: list[str]) -> None:
        """Under the write lock, after these items got new vectors: the graph's pending set, the journal of a graph
        being built, the IDs a MODEL still expects, and the version."""
        for item in items:
            if self.ann is not None:
                self.ann.changed(item)
            if self._ann_journal is not None:
                self._ann_journal.append(item)
            self.expected_items = _discarded(self.expected_items, item)
        self.version += 1

    def rebuild_ivf(self) -> None:
        """Retrain the IVF centroids on the current item vectors and rebuild the item store aside, then swap it in.
        Called from the consumer thread (the only writer), so reading Y unlocked is safe."""
        store, index = ivf.rebuild(self.Y, self.ivf_lists, self.ivf_probes, self._ivf_seed)
        with self.lock.write():
            self.Y, self.ivf = store, index
            self._ivf_trained_on, self._ivf_changes = len(store), 0
            self.version += 1

    def add_known_items(self, user: str, items: Iterable[str]) -> None:
        items = list(items)
        if items:
            self._apply_users({}, {user: items})

    def known_added(self) -> dict[str, tuple[str, ...]]:
        """The pairs added since the last MODEL, by user (for tests and diagnostics)."""
        with self.lock.read():
            return {self.X.table.id_of(u): tuple(self.Y.table.ids_of(r)) for u, r in self.known.added.items()}

    def on_new_model_ids(self, users: Collection[str], items: Collection[str], implicit: bool,
                         vectors_follow: bool = False) -> None:
        """A new MODEL: keep users and items that it lists or that arrived since the last MODEL and expect the rest; known
        items restart from the pairs added since the last MODEL (the model's own are loaded next). ``vectors_follow``:
        bulk loads follow, then :meth:`expect_missing` (the model counts as 0 % loaded meanwhile)."""
        with self.lock.write():
            self.implicit = implicit
            if self.X.count or self.Y.count or self.known.added:
                self._retain(users, items)
            else:  # a fresh model: nothing to keep or drop
                self.known = KnownItems()
            self._forget_removed_items()
            if vectors_follow:
                self._to_expect = (users, items)
                self.expected_users, self.expected_items = set(), set()
            else:
                self._to_expect = None
                self.expected_users, self.expected_items = self.X.absent(users), self.Y.absent(items)
            self.version += 1
        self.yty.set_dirty()
        if self.use_hnsw and self._ann_journal is not None and self.Y.blocks[0].n:
            self.rebuild_ann()  # the graph being built may hold dropped items: start over

    def _retain(self, users: Collection[str], items: Collection[str]) -> None:
        """Under the write lock: drop what the new MODEL neither lists nor recently arrived; keep the pairs added since
        the last MODEL among what stays (they become the overlay of the next known items)."""
        user_set = users if isinstance(users, set | frozenset) else set(users)
        item_set = items if isinstance(items, set | frozenset) else set(items)
        x_recent, y_recent = self.X.recent, self.Y.recent
        kept: dict[str, list[str]] = {}
        for user_num, nums in self.known.added.items():
            user = self.X.table.id_of(user_num)
            if user in user_set or user in x_recent:
                kept[user] = [i for i in self.Y.table.ids_of(nums) if i in item_set or i in y_recent]
        self.X = self.X.retain_recent_and(user_set)
        self.Y = self.Y.retain_recent_and(item_set)
        known = KnownItems()
        for user, row in kept.items():
            if row:
                known.add(self.X.add_id(user), [self.Y.add_id(i) for i in row])
        known.added = {}
        self.known = known

    def expect_missing(self) -> None:
        """After the bulk loads of a MODEL-REF: expect the model's IDs that still have no vector."""
        pending = self._to_expect
        if pending is not None:
            users, items = self.X.absent(pending[0]), self.Y.absent(pending[1])
            with self.lock.write():
                self.expected_users, self.expected_items, self._to_expect = users, items, None
                self.version += 1

    def bulk_load_items(self, ids: IdList, matrix: np.ndarray) -> None:
        """Load many item vectors at once (MODEL-REF); the store is rebuilt aside, then swapped in."""
        # only the consumer thread writes, so reading Y unlocked is safe; with IVF the lists are retrained
        store = self.Y.merged_with(ids, matrix, flat=self.use_ivf)
        index = None
        if self.use_ivf and len(store) >= self.ivf_min_items:
            store, index = ivf.rebuild(store, self.ivf_lists, self.ivf_probes, self._ivf_seed)
        known = self.known.renumbered(None, renumbering(self.Y, store, self.known.referenced_items()))
        with self.lock.write():
            self.Y, self.known = store, known
            if self.use_hnsw:
                self.ann = None  # exact search until the new graph is built
                self.ann_ready.clear()
            if self.use_ivf:
                self.ivf, self._ivf_trained_on, self._ivf_changes = index, len(store), 0
            if self.expected_items:
                self.expected_items = self.Y.absent(self.expected_items)
            self.version += 1
        self.yty.set_dirty()
        if self.use_hnsw:
            self.rebuild_ann()

    def bulk_load_users(self, ids: IdList, matrix: np.ndarray,
                        known: pa.ListArray | pa.ChunkedArray | Sequence[Sequence[str]] | None) -> None:
        """Load many user vectors and their known items (row r: the items of ``ids[r]``) at once (MODEL-REF); a user's
        items already known and not in its row follow it. Item IDs without vectors get numbers without vectors."""
        store = self.X.merged_with(ids, matrix)
        old = self.known.renumbered(renumbering(self.X, store, self.known.referenced_users()), None)
        new = KnownItems()
        if known is not None and len(known):
            lengths, codes = list_codes(known, self.Y.numbers_adding)  # items without vectors get numbers too
            new = from_lists(lengths, codes, store.table.find_many(ids), len(store.table))
        for user in set(old.extra) | set(np.flatnonzero(np.diff(old.indptr) > 0).tolist()):
            new.add(user, old.row(user))  # old pairs the new rows lack follow them
        new.added = old.added
        with self.lock.write():
            self.X, self.known = store, new
            if self.expected_users:
                self.expected_users = self.X.absent(self.expected_users)
            self.version += 1

    # ---- reads ----

    def candidate_buckets(self, target: np.ndarray) -> Iterable[int]:
        """Item blocks a top-N query for ``target`` scans (under the read lock): all, the LSH candidates or IVF lists."""
        if self.Y.buckets == 1:
            return [0]
        if self.use_ivf and self.ivf is not None:
            return self.ivf.probe(target)
        return self.lsh.candidate_indices(target)

    def fraction_loaded(self) -> float:
        """(|X| + |Y|) / (|X| + |Y| + expected users + expected items), or 1.0 if nothing is expected."""
        with self.lock.read():
            if self._to_expect is not None and (self._to_expect[0] or self._to_expect[1]):
                return 0.0  # a MODEL-REF is loading
            loaded = len(self.X) + len(self.Y)
            expected = len(self.expected_users) + len(self.expected_items)
        return 1.0 if loaded + expected == 0 else loaded / (loaded + expected)

    def yty_solver(self, blocking: bool = True) -> Solver | None:
        """The latest Y'Y solver (blocking waits for the first); None when Y is empty or singular."""
        return self.yty.get(blocking)

    def _yty_factor(self) -> np.ndarray | None:
        with self.lock.read():
            return _gram_factor(self.Y)

    def nbytes(self) -> int:
        """Bytes of the model: vector blocks, norms, ID tables and known items (the HNSW graph excluded)."""
        return self.X.nbytes() + self.Y.nbytes() + self.known.nbytes()

    def __repr__(self) -> str:
        return (f"VectorServingModel[features:{self.features}, implicit:{self.implicit}, X:{len(self.X)} users, "
                f"Y:{len(self.Y)} items, fraction loaded:{self.fraction_loaded():.3f}]")


