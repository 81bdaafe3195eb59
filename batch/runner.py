"""The batch generation loop: store each interval's input, run the update on all data, expire old data and models."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pyarrow as pa

from oryxpy.config import Config
from oryxpy.errors import OryxError, StorageError
from oryxpy.interfaces import INPUT_SCHEMA, BatchLayerUpdate, instantiate
from oryxpy.status import write_batch_status
from oryxpy.storage import Storage, join_uri, name_of, storage_for
from oryxpy.topics import Record, TopicConsumer, apply_input_retention, open_consumer, open_producer

log = logging.getLogger(__name__)

PART_FILE = "part-00000.parquet"
OFFSETS_FILE = "_offsets.json"
POLL_RECORDS = 50_000
HOUR_MS = 3_600_000
_DATA_STAMP = re.compile(r"-(\d+)\.")
_MODEL_STAMP = re.compile(r"(\d+)")


def generation_dir_name(timestamp_ms: int) -> str:
    return f"oryx-{timestamp_ms}.data"


def generation_dirs(storage: Storage, data_dir: str) -> list[str]:
    """The stored generations under data-dir (``oryx-<ts>.data``), in name order."""
    return [u for u in storage.list(data_dir) if _DATA_STAMP.search(name_of(u)) and name_of(u).startswith("oryx-")]


class BatchRunner:
    """Runs generations on a timer (:meth:`run`) or on demand (:meth:`run_generation`)."""

    def __init__(self, config: Config, update: BatchLayerUpdate | None = None):
        self.config = config
        self.interval_s: int = config.settings.batch.streaming.generation_interval_sec
        self.data_dir = config.data_dir
        self.model_dir = config.model_dir
        self.data_storage = storage_for(self.data_dir, config)
        self.model_storage = storage_for(self.model_dir, config)
        self.update = update or instantiate(config.settings.batch.update_class, "oryx.batch.update-class", config, BatchLayerUpdate)
        self.consumer: TopicConsumer = open_consumer(config, "input", config.group_id("BatchLayer"), "latest")
        self.stop_event = threading.Event()
        self.generations = 0
        self._stored_until: dict[int, int] | None = None
        self._unstored: list[Record] = []  # read but not stored by a failed generation: go into the next one

    def start(self) -> None:
        """Fix the consumer's start position (so 'latest' means now) and record it for the group, so that a crash
        before the first generation's commit still resumes from here."""
        if self.consumer.wait_assigned(self.stop_event):
            self.consumer.commit()

    def run(self) -> None:
        """Run a generation every interval until :meth:`stop`."""
        self.start()
        log.info("batch layer: a generation every %ds; data in %s, models in %s", self.interval_s, self.data_dir, self.model_dir)
        next_at = time.monotonic() + self.interval_s
        self._status(next_at, running=False)
        while not self.stop_event.wait(max(0.0, next_at - time.monotonic())):
            next_at = max(next_at + self.interval_s, time.monotonic())
            self._status(next_at, running=True)
            try:
                self.run_generation()
            except OryxError as exc:  # e.g. storage or broker down: input not yet stored is read again next time
                log.error("generation failed: %s", exc)
            self._status(next_at, running=False)

    def _status(self, next_at: float, running: bool) -> None:
        """Say when the next generation runs, for a serving layer on this machine ("next generation in 243 s")."""
        next_ms = int(time.time() * 1000 + (next_at - time.monotonic()) * 1000)
        write_batch_status(self.config.state_dir, next_ms, running)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.consumer.close()

    def run_generation(self, timestamp_ms: int | None = None) -> bool:
        """Take the input that arrived since the last generation, store it, and build a model from all data.

        Returns True when there was new input. Offsets are committed once the input is stored, so a crash before
        that re-reads it on restart; input stored but not committed is recognised by its offsets and not stored twice.
        """
        timestamp_ms = timestamp_ms or int(time.time() * 1000)
        records = self._unstored + self._drain()
        self._unstored = records
        self.generations += 1
        if not records:
            log.info("No data in current generation's input; nothing to do")
            self.consumer.commit()
            self.delete_old()
            return False
        new_data = pa.table({"key": [r.key for r in records], "value": [r.value for r in records]}, schema=INPUT_SCHEMA)
        past_data = self.read_past_data()
        self.store_generation(timestamp_ms, new_data, records)
        self._unstored = []
        self.consumer.commit()
        producer = open_producer(self.config, "update") if self.config.settings.update_topic.broker is not None else None
        try:
            self.update.run_update(timestamp_ms, new_data, past_data, self.model_dir, producer)
        finally:
            if producer is not None:
                producer.close()
        self.delete_old()
        return True

    def _drain(self) -> list[Record]:
        """The records available now, minus those an earlier (uncommitted) generation already stored.

        Under a steady stream the input is never caught up, so reading stops after a bounded time (a tenth of the
        interval, 1 to 30 s); what arrives later belongs to the next generation.
        """
        stored = self._stored_offsets()
        records: list[Record] = []
        deadline = time.monotonic() + max(1.0, min(30.0, self.interval_s / 10))
        while True:
            batch = self.consumer.poll(timeout_s=0.5, max_records=POLL_RECORDS)
            records.extend(r for r in batch if r.offset >= stored.get(r.partition, 0))
            if (not batch and self.consumer.lag() == 0) or time.monotonic() > deadline:
                return records

    def _stored_offsets(self) -> dict[int, int]:
        """Next offset per partition after what the stored generations hold (read from their offset files once)."""
        if self._stored_until is None:
            self._stored_until = {}
            topic = self.consumer.topic
            for gen in self._generation_dirs():
                uri = join_uri(gen, OFFSETS_FILE)
                if not self.data_storage.exists(uri):
                    continue
                saved = json.loads(self.data_storage.read_text(uri))
                if saved.get("topic") == topic:
                    for part, until in saved["until"].items():
                        self._stored_until[int(part)] = max(self._stored_until.get(int(part), 0), int(until))
        return self._stored_until

    def _generation_dirs(self) -> list[str]:
        return generation_dirs(self.data_storage, self.data_dir)

    def store_generation(self, timestamp_ms: int, table: pa.Table, records: list[Record]) -> str:
        """Write ``<data-dir>/oryx-<ts>.data/part-00000.parquet`` (via a temporary name, renamed when complete)."""
        final = join_uri(self.data_dir, generation_dir_name(timestamp_ms))
        temporary = join_uri(self.data_dir, f".tmp-{timestamp_ms}")
        until: dict[int, int] = {}
        for r in records:
            until[r.partition] = max(until.get(r.partition, 0), r.offset + 1)
        self.data_storage.delete(temporary)
        self.data_storage.write_parquet(join_uri(temporary, PART_FILE), table)
        self.data_storage.write_text(join_uri(temporary, OFFSETS_FILE), json.dumps({"topic": self.consumer.topic, "until": until}))
        self.data_storage.delete(final)
        self.data_storage.rename(temporary, final)
        stored = self._stored_offsets()
        for part, offset in until.items():
            stored[part] = max(stored.get(part, 0), offset)
        log.info("stored %d input records in %s", table.num_rows, final)
        return final

    def read_past_data(self) -> pa.Table | None:
        """All stored generations as one table, or None when there are none."""
        tables = []
        for gen in self._generation_dirs():
            for uri in self.data_storage.list(gen):
                if uri.endswith(".parquet"):
                    try:
                        tables.append(self.data_storage.read_parquet(uri).select(["key", "value"]).cast(INPUT_SCHEMA))
                    except (StorageError, KeyError, pa.ArrowInvalid) as exc:
                        log.error("skipping unreadable stored input %s: %s", uri, exc)
        return pa.concat_tables(tables) if tables else None

    def delete_old(self, now_ms: int | None = None) -> None:
        """Apply max-age-data-hours and max-age-model-hours (spec 1.4), and the embedded input log's retention."""
        delete_old(self.config, now_ms)
        try:
            deleted = apply_input_retention(self.config)
        except OryxError as exc:
            log.warning("could not apply the input log's retention: %s", exc)
        else:
            if deleted:
                log.info("deleted %d stored input records older than oryx.embedded.input-retention-ms from the input log", deleted)


def delete_old(config: Config, now_ms: int | None = None) -> None:
    """Apply max-age-data-hours and max-age-model-hours (spec 1.4)."""
    now_ms = now_ms or int(time.time() * 1000)
    for key, base, pattern in (
        ("oryx.batch.storage.max-age-data-hours", config.data_dir, _DATA_STAMP),
        ("oryx.batch.storage.max-age-model-hours", config.model_dir, _MODEL_STAMP),
    ):
        hours = config[key]
        if hours == -1:
            continue
        storage = storage_for(base, config)
        oldest = now_ms - hours * HOUR_MS
        for uri in storage.list(base):
            name = name_of(uri)
            found = pattern.search(name)
            if name.startswith(".") or found is None or int(found.group(1)) >= oldest:
                continue
            log.info("deleting %s (older than %s = %d hours)", uri, key, hours)
            storage.delete(uri)
