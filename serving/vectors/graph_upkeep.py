"""The HNSW graph of a VectorServingModel in hnsw mode: built aside, installed, flushed and rebuilt. Called from the
update consumer thread (the model's only writer); the graph's mutators run under the model's write lock."""

from __future__ import annotations

import itertools
import threading

import numpy as np

from serving.vectors.ann import HNSWIndex
from serving.vectors.rwlock import RWLock
from serving.vectors.vectors import VectorStore


class GraphUpkeep:
    """The graph's part of the model (its subclass owns the state)."""

    Y: VectorStore
    lock: RWLock
    version: int
    use_hnsw: bool
    ann: HNSWIndex | None
    ann_ready: threading.Event
    hnsw_m: int
    hnsw_ef_search: int
    hnsw_ef_construction: int
    _ann_journal: list[str] | None
    _ann_generation: int

    def rebuild_ann(self, background: bool = True) -> None:
        """Build a graph over a copy of the current items aside; items changed meanwhile are journaled and become
        pending when it is installed. A newer rebuild supersedes one in progress."""
        block = self.Y.blocks[0]
        ids, matrix = np.array(self.Y.block_ids(block), dtype=object), block.matrix[: block.n].copy()
        with self.lock.write():
            self._ann_generation += 1
            generation = self._ann_generation
            self._ann_journal = []

        def build() -> None:
            index = HNSWIndex.build(ids, matrix, self.hnsw_m, self.hnsw_ef_search,
                                    ef_construction=self.hnsw_ef_construction)
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
