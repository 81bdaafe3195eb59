"""Live input statistics for the dashboard: input rate per minute, distinct users and items per hour and per day
(datasketch HyperLogLog: mergeable across partitions and processes), and the top items of the last hour.

Buckets are by the time a record is seen (processing time), kept in memory: minutes for 2 hours, hours for 2 days,
days for 14 days.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from typing import Any

from datasketch import HyperLogLog

from oryxpy.analytics.polling import PollingThread
from oryxpy.config import Config
from oryxpy.records import parse_interaction
from oryxpy.topics import TopicConsumer, open_consumer

HLL_P = 12  # 4096 registers: about 1.6 % standard error, 4 KiB per sketch
MINUTE, HOUR, DAY = 60, 3600, 86400
KEEP = {MINUTE: 120, HOUR: 48, DAY: 14}


def new_sketch() -> HyperLogLog:
    return HyperLogLog(p=HLL_P)


class TrafficStats:
    """Thread-safe counters fed by :meth:`observe`; :meth:`merge` adds another instance's (another partition's or
    process's) counts and sketches; :meth:`snapshot` is what the dashboard draws."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.per_minute: OrderedDict[int, int] = OrderedDict()
        self.top_minute: OrderedDict[int, Counter[str]] = OrderedDict()
        self.users: dict[int, OrderedDict[int, HyperLogLog]] = {HOUR: OrderedDict(), DAY: OrderedDict()}
        self.items: dict[int, OrderedDict[int, HyperLogLog]] = {HOUR: OrderedDict(), DAY: OrderedDict()}
        self.total = 0

    def observe(self, user: str, item: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        minute = int(now // MINUTE) * MINUTE
        with self._lock:
            self.total += 1
            self.per_minute[minute] = self.per_minute.get(minute, 0) + 1
            self.top_minute.setdefault(minute, Counter())[item] += 1
            for span in (HOUR, DAY):
                start = int(now // span) * span
                self.users[span].setdefault(start, new_sketch()).update(user.encode("utf-8"))
                self.items[span].setdefault(start, new_sketch()).update(item.encode("utf-8"))
            self._trim(minute)

    def _trim(self, minute: int) -> None:
        for buckets in (self.per_minute, self.top_minute):
            while buckets and next(iter(buckets)) < minute - KEEP[MINUTE] * MINUTE:
                buckets.popitem(last=False)
        for span in (HOUR, DAY):
            for sketches in (self.users[span], self.items[span]):
                while sketches and next(iter(sketches)) < minute - KEEP[span] * span:
                    sketches.popitem(last=False)

    def merge(self, other: TrafficStats) -> None:
        """Add ``other``'s counts; distinct counts merge sketch by sketch (a union, not a sum)."""
        with other._lock:
            minutes = dict(other.per_minute)
            tops = {m: Counter(c) for m, c in other.top_minute.items()}
            sketches = {(side, span): {s: HyperLogLog(reg=h.reg.copy(), p=HLL_P) for s, h in getattr(other, side)[span].items()}
                        for side in ("users", "items") for span in (HOUR, DAY)}
            total = other.total
        with self._lock:
            self.total += total
            for minute, n in minutes.items():
                self.per_minute[minute] = self.per_minute.get(minute, 0) + n
                self.top_minute.setdefault(minute, Counter()).update(tops.get(minute, {}))
            self.per_minute = OrderedDict(sorted(self.per_minute.items()))
            self.top_minute = OrderedDict(sorted(self.top_minute.items()))
            for (side, span), by_start in sketches.items():
                mine = getattr(self, side)[span]
                for start, sketch in by_start.items():
                    if start in mine:
                        mine[start].merge(sketch)
                    else:
                        mine[start] = sketch
                getattr(self, side)[span] = OrderedDict(sorted(mine.items()))

    def snapshot(self, now: float | None = None, top: int = 10) -> dict[str, Any]:
        now = time.time() if now is None else now
        minute = int(now // MINUTE) * MINUTE
        with self._lock:
            rate = [[m, self.per_minute.get(m, 0)] for m in range(minute - 59 * MINUTE, minute + 1, MINUTE)]
            recent: Counter[str] = Counter()
            for m, counter in self.top_minute.items():
                if m > minute - HOUR:
                    recent.update(counter)
            distinct = {f"{side}_per_{name}": [[start, round(sketch.count())] for start, sketch in getattr(self, side)[span].items()]
                        for side in ("users", "items") for span, name in ((HOUR, "hour"), (DAY, "day"))}
            return {"total": self.total, "input_per_minute": rate,
                    "top_items_last_hour": [[item, n] for item, n in recent.most_common(top)], **distinct}


class TrafficConsumer(PollingThread):
    """A daemon thread reading the input topic (from its end when started; no consumer group) into TrafficStats."""

    idle_s = 0.2

    def __init__(self, config: Config, stats: TrafficStats):
        super().__init__("OryxTrafficConsumer")
        self.config, self.stats = config, stats

    def _open(self) -> list[TopicConsumer]:
        consumer = open_consumer(self.config, "input", None, "latest")
        consumer.wait_ready()
        return [consumer]

    def _step(self, consumers: list[TopicConsumer]) -> int:
        records = consumers[0].poll(timeout_s=0.2, max_records=2000)
        for record in records:
            try:
                event = parse_interaction(record.value)
            except Exception:  # a bad record is the layers' business: counted here, never fatal
                self.errors += 1
                continue
            self.stats.observe(event.user, event.item)
        return len(records)
