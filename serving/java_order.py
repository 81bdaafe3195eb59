"""Java's ``java.util.HashMap`` iteration order, which Oryx's count endpoints show for equal counts.

Oryx 2.8.0 builds /mostPopularItems and /mostActiveUsers from a ``new HashMap<>(n)`` of n counts and stable-sorts
its entries by count, so equal counts come in the map's bucket order: the bucket of an ID is its Java
``String.hashCode()``, spread by ``h ^ (h >>> 16)``, masked by the table size. IDs in one bucket keep the order
they were put in, which depends on Oryx's internal sets; we keep ours there (a rare, documented difference).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=1 << 20)
def java_string_hash(text: str) -> int:
    """``String.hashCode()``: 31-polynomial over UTF-16 code units, as a signed 32-bit int."""
    data = text.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def hashmap_capacity(entries: int) -> int:
    """The table size of ``new HashMap<>(entries)`` after ``entries`` puts (load factor 0.75)."""
    capacity = 1
    while capacity < entries:
        capacity <<= 1
    if entries > capacity * 3 // 4:  # one resize happens while filling it
        capacity <<= 1
    return capacity


def bucket_of(key: str, capacity: int) -> int:
    """The HashMap bucket (its iteration position) of ``key`` in a table of ``capacity``."""
    h = java_string_hash(key) & 0xFFFFFFFF
    return (h ^ (h >> 16)) & (capacity - 1)


def bucket_key(entries: int) -> Callable[[str], int]:
    """A sort key giving IDs in the iteration order of a HashMap holding ``entries`` IDs."""
    mask_capacity = hashmap_capacity(entries)
    return lambda key: bucket_of(key, mask_capacity)
