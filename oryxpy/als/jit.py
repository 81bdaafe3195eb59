"""numba's on-disk cache of compiled kernels, used only where it can be written.

``njit(cache=True)`` stores compiled code next to the module (``__pycache__``), else in the user's cache directory;
when neither is writable (code installed read-only and run as a user without a home) numba raises at import and the
layer could never start. :func:`njit_cached` then compiles without the cache (a few seconds more at each start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def njit_cached(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)``, or without the cache when numba finds nowhere to write it."""
    import numba

    def decorate(function: Callable[..., Any]) -> Any:
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available for file ..."
            log.warning("numba cannot cache %s (%s): compiling it at every start instead", function.__qualname__, exc)
            return numba.njit(cache=False, **options)(function)

    return decorate
