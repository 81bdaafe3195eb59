"""Allocators of a process holding one large model (the serving layer), set before numpy or Arrow start a thread.

- glibc's malloc serves every thread from one arena. Otherwise a Parquet read on Arrow's threads leaves freed chunks
  between live ones in per-thread arenas, memory the process keeps. Threads started before keep their own arenas.
- Arrow allocates from that malloc too (``ARROW_DEFAULT_MEMORY_POOL=system``, read when Arrow loads): its own mimalloc
  pool kept 8 MB of pages through a load in which it held under 1 MB.

1M items x 50, 500k users, ``scripts/bench/bench_model_load.py``: RSS growth 388-426 MB in three runs with neither,
365 with one arena, 357 with both (the model's own count: 347 MB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter


def prepare_allocators() -> None:
    """Both settings, for this process and those it starts; call it before importing numpy or pyarrow."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    single_malloc_arena()


def single_malloc_arena() -> bool:
    """Ask glibc's malloc to serve every thread started from now on from its one arena; False where the C library is
    not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False
