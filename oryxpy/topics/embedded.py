"""Embedded topics: a durable, multi-process log per topic in one SQLite file (WAL mode) under the state directory.

The log stays bounded: the update topic is cut back to its latest full model (MODEL or MODEL-REF) whenever one is
published, and :func:`apply_retention` deletes old input that the batch layer has stored. Offsets keep growing
(the newest record of a partition is never deleted), so committed positions stay valid.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from oryxpy.errors import ServiceUnavailable
from oryxpy.messages import MODEL, MODEL_REF
from oryxpy.topics.base import KeyValue, Record, TopicConsumer, TopicProducer, check_sizes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records(
    partition INTEGER NOT NULL, offset INTEGER NOT NULL, key TEXT, value TEXT NOT NULL, ts INTEGER NOT NULL,
    PRIMARY KEY(partition, offset)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets(
    group_id TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    PRIMARY KEY(group_id, partition)) WITHOUT ROWID;
"""


def topic_path(topics_dir: Path, topic: str) -> Path:
    return topics_dir / f"{topic}.sqlite"


def _connect(path: Path, partitions: int) -> tuple[sqlite3.Connection, int]:
    """Open (creating if needed) a topic file; returns the connection and the topic's partition count."""
    deadline = time.monotonic() + 60.0
    while True:
        try:
            return _open(path, partitions)
        except sqlite3.OperationalError as exc:  # two processes creating the same file at once
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise ServiceUnavailable(f"cannot open embedded topic file {path}: {exc}") from exc
            time.sleep(0.05)
        except (OSError, sqlite3.Error) as exc:
            raise ServiceUnavailable(f"cannot open embedded topic file {path}: {exc}") from exc


def _open(path: Path, partitions: int) -> tuple[sqlite3.Connection, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect for a new file: freed pages can be given back
        conn.execute("PRAGMA journal_size_limit=67108864")  # the WAL file shrinks back to 64 MB after checkpoints
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives the death of any process
        conn.executescript(_SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('partitions', ?)", (str(partitions),))
        stored = int(conn.execute("SELECT value FROM meta WHERE name='partitions'").fetchone()[0])
    except BaseException:
        conn.close()
        raise
    return conn, stored


def partition_for(key: str | None, partitions: int, counter: int) -> int:
    """Same key, same partition; keyless messages rotate."""
    if partitions == 1:
        return 0
    if key is None:
        return counter % partitions
    return zlib.crc32(key.encode("utf-8")) % partitions


@contextmanager
def _write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (the write lock across processes) ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _give_back_space(conn: sqlite3.Connection) -> None:
    """After a large delete: return free pages to the file system and checkpoint the WAL (best effort)."""
    try:
        conn.execute("PRAGMA incremental_vacuum")
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:  # another process is busy with the file: the pages are reused meanwhile
        pass


class EmbeddedProducer(TopicProducer):
    """Appends to the topic file; a send returns after the SQLite commit.

    With ``cut_at_model`` (the update topic), a MODEL or MODEL-REF message deletes, in the same transaction, every
    earlier message of its partition: a consumer that reads the topic from its start begins at the latest model.
    """

    def __init__(self, path: Path, topic: str, partitions: int, max_message_bytes: int, cut_at_model: bool = False):
        self.topic = topic
        self._cut_at_model = cut_at_model
        self._path = path
        self._wanted_partitions = partitions
        self._max = max_message_bytes
        self._conn: sqlite3.Connection | None = None
        self._partitions = partitions
        self._lock = threading.Lock()
        self._counter = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn, self._partitions = _connect(self._path, self._wanted_partitions)
        return self._conn

    def send_all(self, messages: Sequence[KeyValue]) -> None:
        check_sizes(messages, self._max)
        if not messages:
            return
        try:
            self._append(messages)
        except sqlite3.Error as exc:  # e.g. a full disk: nothing was written, and the caller hears why (503)
            raise ServiceUnavailable(f"cannot write to the embedded topic {self.topic} ({self._path}): {exc}") from exc

    def _append(self, messages: Sequence[KeyValue]) -> None:
        with self._lock:
            conn = self._connection()
            now = int(time.time() * 1000)
            with _write_transaction(conn):
                next_offset: dict[int, int] = {}
                rows = []
                for key, value in messages:
                    p = partition_for(key, self._partitions, self._counter)
                    self._counter += 1
                    if p not in next_offset:
                        row = conn.execute("SELECT MAX(offset) FROM records WHERE partition=?", (p,)).fetchone()
                        next_offset[p] = 0 if row[0] is None else row[0] + 1
                    rows.append((p, next_offset[p], key, value, now))
                    next_offset[p] += 1
                conn.executemany("INSERT INTO records VALUES (?,?,?,?,?)", rows)
                cuts = {p: o for p, o, key, _, _ in rows if key in (MODEL, MODEL_REF)} if self._cut_at_model else {}
                deleted = 0
                for p, offset in cuts.items():
                    deleted += conn.execute("DELETE FROM records WHERE partition=? AND offset<?", (p, offset)).rowcount
            if deleted:
                _give_back_space(conn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class EmbeddedConsumer(TopicConsumer):
    """Reads the topic file; a group's committed offsets live in the same file."""

    def __init__(self, path: Path, topic: str, partitions: int, group_id: str | None, start: str):
        self.topic = topic
        self._path = path
        self._wanted_partitions = partitions
        self._group = group_id
        self._start = start
        self._conn: sqlite3.Connection | None = None
        self._positions: dict[int, int] = {}
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn, partitions = _connect(self._path, self._wanted_partitions)
            committed: dict[int, int] = {}
            if self._group is not None:
                rows = conn.execute("SELECT partition, offset FROM group_offsets WHERE group_id=?", (self._group,))
                committed = dict(rows.fetchall())
            for p in range(partitions):
                if p in committed:
                    self._positions[p] = committed[p]
                elif self._start == "earliest":  # the oldest record kept (earlier ones were cut or expired)
                    row = conn.execute("SELECT MIN(offset) FROM records WHERE partition=?", (p,)).fetchone()
                    self._positions[p] = 0 if row[0] is None else row[0]
                else:
                    row = conn.execute("SELECT MAX(offset) FROM records WHERE partition=?", (p,)).fetchone()
                    self._positions[p] = 0 if row[0] is None else row[0] + 1
            self._conn = conn
        return self._conn

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            self._connection()

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        pause = 0.001
        while True:
            with self._lock:
                records = self._fetch(max_records)
            if records or time.monotonic() >= deadline:
                return records
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.05)

    def _fetch(self, max_records: int) -> list[Record]:
        conn = self._connection()
        out: list[Record] = []
        per_partition = max(1, max_records // max(1, len(self._positions)))
        for p, position in self._positions.items():
            rows = conn.execute(
                "SELECT offset, key, value FROM records WHERE partition=? AND offset>=? ORDER BY offset LIMIT ?",
                (p, position, per_partition),
            ).fetchall()
            for offset, key, value in rows:
                out.append(Record(self.topic, p, offset, key, value))
            if rows:
                self._positions[p] = rows[-1][0] + 1
        return out

    def commit(self) -> None:
        if self._group is None:
            return
        with self._lock:
            conn = self._connection()
            with _write_transaction(conn):
                conn.executemany("INSERT OR REPLACE INTO group_offsets VALUES (?,?,?)",
                                 [(self._group, p, offset) for p, offset in self._positions.items()])

    def lag(self) -> int:
        ends = self.end_offsets()
        with self._lock:
            return sum(max(0, ends.get(p, 0) - pos) for p, pos in self._positions.items())

    def end_offsets(self) -> dict[int, int]:
        with self._lock:
            conn = self._connection()
            # one indexed MAX per partition: a GROUP BY over the table scans every record (seconds on a big log)
            query = "SELECT MAX(offset) + 1 FROM records WHERE partition=?"
            return {p: int(conn.execute(query, (p,)).fetchone()[0] or 0) for p in self._positions}

    def positions(self) -> dict[int, int]:
        with self._lock:
            self._connection()
            return dict(self._positions)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def apply_retention(path: Path, max_age_ms: int, stored_by_group: str, now_ms: int | None = None) -> int:
    """Delete input older than ``max_age_ms`` that the group ``stored_by_group`` has committed past; returns the count.

    Nothing is deleted from a partition the group has no position in, and the newest record of each partition stays.
    """
    if not path.exists():
        return 0
    conn, _ = _connect(path, 1)
    try:
        cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - max_age_ms
        with _write_transaction(conn):
            deleted = conn.execute(
                "DELETE FROM records WHERE ts < ? AND offset < "
                "(SELECT g.offset FROM group_offsets g WHERE g.group_id = ? AND g.partition = records.partition) "
                "AND offset < (SELECT MAX(r.offset) FROM records r WHERE r.partition = records.partition)",
                (cutoff, stored_by_group)).rowcount
        if deleted:
            _give_back_space(conn)
        return deleted
    finally:
        conn.close()
