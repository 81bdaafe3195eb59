"""ALSServingModel: user (X) and item (Y) vectors, known items, expected IDs and the Y'Y solver, safe for concurrent reads."""

from __future__ import annotations

import itertools
import sys
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np

from oryxpy.als import Solver, SolverCache
from oryxpy.lsh import LocalitySensitiveHash
from serving.als import ivf
from serving.als.ann import HNSWIndex
from serving.als.batch import ScanBatcher
from serving.als.rwlock import RWLock
from serving.als.vectors import VectorStore


def _gram_factor(store: VectorStore) -> np.ndarray | None:
    """A k x k matrix R with R'R = V'V, so SolverCache's gram(R) is V'V without copying V to float64."""
    g = store.gram()
    if g is None:
        return None
    w, v = np.linalg.eigh(g)
    return np.sqrt(np.clip(w, 0.0, None))[:, None] * v.T


class ALSServingModel:
    """The in-memory model. Writers (the update consumer) take the write lock per change; readers take the read lock.

    Items live in one block per LSH bucket (one block when every bucket is scanned, i.e. sample rate 1.0), or with
    ``approximate_index="ivf"`` one block per IVF list once at least ``ivf_min_items`` items are loaded (LSH unused).
    With ``approximate_index="hnsw"`` items stay in one block and a faiss HNSW graph (``serving.als.ann``), built in
    a background thread after a bulk load, proposes candidates; queries scan exactly until it is ready.
    Known items are tuples of interned item IDs per user. They grow with UP messages until the next MODEL, which
    replaces them with the model's own (loaded from its X/ vectors or its UP messages) plus the pairs that arrived
    since the MODEL before it (``known_added``): so a pair deleted upstream leaves the known items and can be
    recommended again.
    """

    def __init__(self, features: int, implicit: bool, sample_rate: float = 1.0, lsh_seed: int | None = None,
                 approximate_index: str = "none", ivf_probes: int = 0, ivf_lists: int = 0,
                 ivf_min_items: int = 4096, hnsw_m: int = 0, hnsw_ef_search: int = 128):
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
        self.ann: HNSWIndex | None = None
        self.hnsw_m, self.hnsw_ef_search = hnsw_m, hnsw_ef_search
        self._ann_journal: list[str] | None = None  # items changed while a graph is built aside
        self._ann_generation = 0
        self.ann_ready = threading.Event()  # set when the graph of the current items is installed
        buckets = 1 if self.lsh.scans_all or self.use_ivf or self.use_hnsw else self.lsh.num_buckets
        self.X = VectorStore(features)
        self.Y = VectorStore(features, buckets, self.lsh.indices_for)
        self.known: dict[str, tuple[str, ...]] = {}
        self.known_added: dict[str, tuple[str, ...]] = {}  # pairs new to ``known`` since the last MODEL
        self.expected_users: set[str] = set()
        self.expected_items: set[str] = set()
        self.lock = RWLock()
        self.version = 0  # bumped by every change; keys the caches below
        self._counts_cache: dict[str, tuple[int, Counter[str]]] = {}
        self.yty = SolverCache(self._yty_factor, "Y'Y")
        self.batcher = ScanBatcher()

    # ---- writes (called by the manager from the update consumer thread) ----

    def set_user_vector(self, user: str, vector: np.ndarray) -> None:
        loc = self.X.locate(user)
        vector = np.asarray(vector, dtype=np.float32)
        if loc is not None and vector.shape == (self.features,):
            block = self.X.blocks[loc[0]]
            if not np.array_equal(block.matrix[loc[1]], vector):
                # in place without the lock: a row copy is atomic under the GIL (readers copy rows, never scan X),
                # so a stream of user UPs does not wait for every in-flight query
                block.write(loc[1], vector)
                self.version += 1
            return
        with self.lock.write():
            self.X.set(user, vector)
            if user in self.expected_users:
                self.expected_users.discard(user)
                if not self.expected_users:
                    self.expected_users = set()  # free the table of a large emptied set
            self.version += 1

    def set_item_vector(self, item: str, vector: np.ndarray) -> None:
        if _same(self.Y, item, vector):
            return  # an UP repeating what is loaded (a MODEL-REF's replay): nothing to do (only this thread writes)
        with self.lock.write():
            self.Y.set(item, vector)
            if self.ann is not None:
                self.ann.changed(item)
            if self._ann_journal is not None:
                self._ann_journal.append(item)
            if item in self.expected_items:
                self.expected_items.discard(item)
                if not self.expected_items:
                    self.expected_items = set()
            self.version += 1
        self.yty.set_dirty()
        if self.use_hnsw:
            self._maintain_ann()
        elif self.use_ivf:
            self._ivf_changes += 1
            if len(self.Y) >= self.ivf_min_items and self._ivf_changes >= max(self._ivf_trained_on, self.ivf_min_items):
                self.rebuild_ivf()

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
        old = self.known.get(user)  # only this thread writes: read unlocked
        if old is not None and (set(items).issubset(old) if len(old) > 8 else all(i in old for i in items)):
            return
        if old is not None:  # replacing a value is atomic under the GIL; only a new key (resizing) needs the lock
            self._add_known(user, items)
        else:
            with self.lock.write():
                self._add_known(user, items)

    def _add_known(self, user: str, items: list[str]) -> None:
        user = self.X.canonical(user) or user
        old = self.known.get(user, ())
        new = _union(old, (self.Y.canonical(i) or sys.intern(i) for i in items))
        if new is not old:
            self.known[user] = new
            added = self.known_added.get(user)
            # share the known tuple itself when every pair of it is new (a MODEL followed by its UPs)
            whole = added is old if added is not None else not old
            self.known_added[user] = new if whole else (added or ()) + new[len(old):]
        self.version += 1

    def on_new_model_ids(self, users: Collection[str], items: Collection[str], implicit: bool) -> None:
        """A new MODEL: keep users and items that it lists or that arrived since the last MODEL and expect the rest; known
        items restart from the pairs added since the last MODEL (the model's own are loaded next)."""
        user_set = users if isinstance(users, set | frozenset) else set(users)
        item_set = items if isinstance(items, set | frozenset) else set(items)
        with self.lock.write():
            self.implicit = implicit
            x_recent, y_recent = self.X.recent, self.Y.recent
            kept: dict[str, tuple[str, ...]] = {}
            for user, known in self.known_added.items():
                if user in user_set or user in x_recent:
                    kept[user] = tuple(i for i in known if i in item_set or i in y_recent)
            self.known = {u: k for u, k in kept.items() if k}
            self.known_added = {}
            self.X.retain_recent_and(user_set)
            self.Y.retain_recent_and(item_set)
            self._forget_removed_items()
            self.expected_users = {u for u in user_set if u not in self.X}
            self.expected_items = {i for i in item_set if i not in self.Y}
            self.version += 1
        self.yty.set_dirty()
        if self.use_hnsw and self._ann_journal is not None and self.Y.blocks[0].n:
            self.rebuild_ann()  # the graph being built may hold dropped items: start over

    def bulk_load_items(self, ids: list[str], matrix: np.ndarray) -> None:
        """Load many item vectors at once (MODEL-REF); the store is rebuilt aside, then swapped in."""
        # only the consumer thread writes, so reading Y unlocked is safe; with IVF the lists are retrained
        store = self.Y.merged_with(ids, matrix, flat=self.use_ivf)
        index = None
        if self.use_ivf and len(store) >= self.ivf_min_items:
            store, index = ivf.rebuild(store, self.ivf_lists, self.ivf_probes, self._ivf_seed)
        with self.lock.write():
            self.Y = store
            if self.use_hnsw:
                self.ann = None  # exact search until the new graph is built
                self.ann_ready.clear()
            if self.use_ivf:
                self.ivf, self._ivf_trained_on, self._ivf_changes = index, len(store), 0
            self.expected_items = _minus(self.expected_items, ids)
            self.version += 1
        self.yty.set_dirty()
        if self.use_hnsw:
            self.rebuild_ann()

    # ---- the HNSW graph (hnsw mode); called from the consumer thread, the only writer ----

    def rebuild_ann(self, background: bool = True) -> None:
        """Build a graph over a copy of the current items aside; items changed meanwhile are journaled and become
        pending when it is installed. A newer rebuild supersedes one in progress."""
        block = self.Y.blocks[0]
        ids, matrix = block.ids[: block.n].copy(), block.matrix[: block.n].copy()
        with self.lock.write():
            self._ann_generation += 1
            generation = self._ann_generation
            self._ann_journal = []

        def build() -> None:
            index = HNSWIndex.build(ids, matrix, self.hnsw_m, self.hnsw_ef_search)
            with self.lock.write():
                if generation != self._ann_generation:
                    return
                for item in dict.fromkeys(self._ann_journal or ()):
                    index.changed(item) if item in self.Y else index.removed(item)
                self.ann, self._ann_journal = index, None
                self.version += 1
            self.ann_ready.set()

        if background:
            threading.Thread(target=build, name="hnsw-build", daemon=True).start()
        else:
            build()

    def install_ann(self, index: HNSWIndex) -> None:
        """Serve from a graph built elsewhere over exactly the current items (a saved one); cancels a build."""
        with self.lock.write():
            self._ann_generation += 1
            self.ann, self._ann_journal = index, None
            self.version += 1
        self.ann_ready.set()

    def _maintain_ann(self) -> None:
        ann = self.ann
        if ann is None:
            if self._ann_journal is None and len(self.Y) >= 1:
                self.rebuild_ann()  # the first items arrived by UP messages
            return
        if ann.needs_rebuild() and self._ann_journal is None:
            self.rebuild_ann()
        elif ann.needs_flush():
            left = 1
            while left:
                with self.lock.write():
                    left = ann.flush(self.Y)

    def _forget_removed_items(self) -> None:
        """Under the write lock, after items were dropped: they leave the graph (a graph being built is restarted)."""
        if not self.use_hnsw:
            return
        gone: list[str] = []
        if self.ann is not None and (self.ann.size + len(self.ann.pending)) != len(self.Y):
            gone = [i for i in itertools.chain(self.ann.labels, self.ann.pending) if i not in self.Y]
            for item in gone:
                self.ann.removed(item)

    def bulk_load_users(self, ids: list[str], matrix: np.ndarray, known: Sequence[Sequence[str]] | None,
                        canonical: bool = False) -> None:
        """Load many user vectors and their known items at once (MODEL-REF). ``canonical``: each row of ``known``
        is already a tuple without repeats of the item ID objects Y holds (``serving.als.loading``)."""
        store = self.X.merged_with(ids, matrix)
        new_known = dict(self.known)
        if known and canonical:
            for user, row in zip(ids, known, strict=False):
                if row:
                    old = new_known.get(user)
                    new_known[user] = tuple(row) if old is None else _union(tuple(row), old)
        elif known:
            canon = {i: i for i in self.Y.where}  # item IDs as the objects Y holds, so each ID is stored once
            given = list(itertools.chain.from_iterable(known))
            flat = list(map(canon.get, given, given))  # one C-level pass instead of one generator per user
            del given, canon
            pos = 0
            for user, items in zip(ids, known, strict=False):
                if items:
                    row = flat[pos : pos + len(items)]
                    pos += len(items)
                    old = new_known.get(user)
                    new_known[user] = tuple(dict.fromkeys(row)) if old is None else _union(tuple(dict.fromkeys(row)), old)
        with self.lock.write():
            self.X = store
            self.known = new_known
            self.expected_users = _minus(self.expected_users, ids)
            self.version += 1

    # ---- reads ----

    def candidate_buckets(self, target: np.ndarray) -> Iterable[int]:
        """Item blocks a top-N query for ``target`` scans (under the read lock): all, the LSH candidates or IVF lists."""
        if self.Y.buckets == 1:
            return [0]
        if self.use_ivf and self.ivf is not None:
            return self.ivf.probe(target)  # type: ignore[no-any-return]
        return self.lsh.candidate_indices(target)  # type: ignore[no-any-return]

    def fraction_loaded(self) -> float:
        """(|X| + |Y|) / (|X| + |Y| + expected users + expected items), or 1.0 if nothing is expected."""
        with self.lock.read():
            loaded = len(self.X) + len(self.Y)
            expected = len(self.expected_users) + len(self.expected_items)
        return 1.0 if loaded + expected == 0 else loaded / (loaded + expected)

    def user_vector(self, user: str) -> np.ndarray | None:
        with self.lock.read():
            return self.X.get(user)

    def item_vector(self, item: str) -> np.ndarray | None:
        with self.lock.read():
            return self.Y.get(item)

    def item_vectors(self, items: Iterable[str]) -> list[np.ndarray | None]:
        with self.lock.read():
            return [self.Y.get(i) for i in items]

    def known_items(self, user: str) -> tuple[str, ...]:
        with self.lock.read():
            return self.known.get(user, ())

    def known_item_vectors(self, user: str) -> list[tuple[str, np.ndarray]]:
        """(item, vector) for the user's known items that have vectors."""
        with self.lock.read():
            pairs = [(i, self.Y.get(i)) for i in self.known.get(user, ())]
        return [(i, v) for i, v in pairs if v is not None]

    def user_ids(self) -> list[str]:
        with self.lock.read():
            return self.X.ids()

    def item_ids(self) -> list[str]:
        with self.lock.read():
            return self.Y.ids()

    def user_counts(self) -> Counter[str]:
        """User -> number of known items."""
        return self._counts("users", lambda: Counter({u: len(k) for u, k in self.known.items()}))

    def item_counts(self) -> Counter[str]:
        """Item -> number of users that know it."""
        return self._counts("items", lambda: Counter(itertools.chain.from_iterable(self.known.values())))

    def _counts(self, name: str, compute: Callable[[], Counter[str]]) -> Counter[str]:
        with self.lock.read():
            cached = self._counts_cache.get(name)
            if cached is not None and cached[0] == self.version:
                return cached[1]
            version, counts = self.version, compute()
        self._counts_cache[name] = (version, counts)
        return counts

    def yty_solver(self, blocking: bool = True) -> Solver | None:
        """The latest Y'Y solver (blocking waits for the first); None when Y is empty or singular."""
        return self.yty.get(blocking)

    def _yty_factor(self) -> np.ndarray | None:
        with self.lock.read():
            return _gram_factor(self.Y)

    def item_id_objects(self) -> np.ndarray:
        """Every item ID (the objects Y holds), in block order; for the consumer thread, the only writer."""
        live = [block.ids[: block.n] for _, block in self.Y.live_blocks()]
        return np.concatenate(live) if live else np.empty(0, dtype=object)

    def nbytes(self) -> int:
        """Bytes of the vector arrays (X and Y blocks, norms and ID pointers)."""
        return self.X.nbytes() + self.Y.nbytes()

    def __repr__(self) -> str:
        return (f"ALSServingModel[features:{self.features}, implicit:{self.implicit}, X:{len(self.X)} users, "
                f"Y:{len(self.Y)} items, fraction loaded:{self.fraction_loaded():.3f}]")


def _same(store: VectorStore, id_: str, vector: np.ndarray) -> bool:
    """Whether ``store`` holds exactly this vector for ``id_`` (unlocked: for the only writer)."""
    loc = store.locate(id_)
    if loc is None:
        return False
    stored = store.blocks[loc[0]].matrix[loc[1]]
    return bool(np.array_equal(stored, np.asarray(vector, dtype=np.float32)))


def _minus(expected: set[str], loaded: list[str]) -> set[str]:
    """``expected`` without ``loaded``, as a new set (a set never shrinks its table as items are removed)."""
    if not expected:
        return set()
    loaded_set = set(loaded)
    return {i for i in expected if i not in loaded_set}


def _union(old: tuple[str, ...], new: Iterable[str]) -> tuple[str, ...]:
    """``old`` followed by the items of ``new`` it lacks."""
    present = old if len(old) < 16 else set(old)
    added = tuple(i for i in dict.fromkeys(new) if i not in present)
    return old + added if added else old
