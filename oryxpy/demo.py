"""Sample interactions for a first run: users in taste groups, items in genres, a popularity skew and timestamps."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np


def demo_interactions(users: int = 500, items: int = 300, groups: int = 5, per_user: int = 30,
                      seed: int = 42, now_ms: int | None = None) -> list[str]:
    """Lines ``user,item,strength,timestamp_ms``.

    Each user belongs to one of ``groups`` taste groups and mostly (85 %) picks items of the genre that group
    likes; within a genre, item popularity follows a Zipf-like law. Strengths are 1-5 (a play count or rating),
    timestamps spread over the last 30 days. Item IDs name their genre (``g2-item17``) so results are easy to read.
    """
    rng = np.random.default_rng(seed)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    genre_of_item = np.arange(items) % groups
    item_ids = [f"g{genre_of_item[i]}-item{i}" for i in range(items)]
    popularity = 1.0 / np.arange(1, items + 1) ** 0.8
    rng.shuffle(popularity)
    lines = []
    for u in range(users):
        group = u % groups
        in_genre = genre_of_item == group
        weights = np.where(in_genre, popularity * 0.85 / popularity[in_genre].sum(),
                           popularity * 0.15 / popularity[~in_genre].sum())
        count = min(items, max(3, int(rng.poisson(per_user))))
        chosen = rng.choice(items, size=count, replace=False, p=weights / weights.sum())
        for i in chosen:
            strength = int(rng.integers(1, 6))
            ts = now_ms - int(rng.integers(0, 30 * 86400 * 1000))
            lines.append(f"user{u},{item_ids[i]},{strength},{ts}")
    order = np.argsort([int(line.rsplit(",", 1)[1]) for line in lines], kind="stable")
    return [lines[i] for i in order]


def write_demo(out: TextIO = sys.stdout, **kwargs: int) -> int:
    """Write demo interactions to ``out``; returns the line count."""
    lines = demo_interactions(**kwargs)
    out.write("\n".join(lines) + "\n")
    return len(lines)
