"""Number text as Java prints it (Double.toString / Float.toString), for Oryx-compatible output."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _java_text(sci: str) -> str:
    """Turn numpy's shortest scientific text ('-1.2345e+07') into Java's form ('-1.2345E7' or '0.001')."""
    mantissa, _, exp_text = sci.partition("e")
    negative = mantissa.startswith("-")
    digits = mantissa.lstrip("-").replace(".", "")
    exponent = int(exp_text)
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole, frac = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1 :]
        else:
            whole, frac = "0", "0" * (-exponent - 1) + digits
        text = f"{whole}.{frac.rstrip('0') or '0'}"
    else:
        frac = digits[1:].rstrip("0") or "0"
        text = f"{digits[0]}.{frac}E{exponent}"
    return "-" + text if negative else text


def _special(x: float) -> str | None:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    return None


def java_double(x: float) -> str:
    """Java's Double.toString: shortest round-trip digits; scientific below 1e-3 and from 1e7."""
    x = float(x)
    return _special(x) or _java_text(np.format_float_scientific(x, unique=True, trim="0"))


def java_float(x: float) -> str:
    """Java's Float.toString of ``x`` rounded to float32."""
    if abs(x) > _FLOAT32_MAX:  # beyond float32: Java's cast gives Infinity (numpy would warn)
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    f = np.float32(x)
    return _special(float(f)) or _java_text(np.format_float_scientific(f, unique=True, trim="0"))


def float32_list_text(values: Iterable[float]) -> str:
    """A JSON array of float32 values, each written as Java's Float.toString writes it."""
    array = np.asarray(values, dtype=np.float32)
    magnitude = np.abs(array)
    plain = (magnitude >= 1e-3) & (magnitude < 1e7)  # where numpy's str already matches Java's
    # numpy's str gives the shortest float32 digits, positional in this range, about 4x faster
    texts = [str(v) if ok else "e" for v, ok in zip(array, plain, strict=True)]
    return "[" + ",".join(t if "e" not in t else java_float(v) for t, v in zip(texts, array, strict=True)) + "]"
