"""Fast text of many UP messages at once, byte for byte what ``oryxpy.messages.up_value`` writes, vectorized."""

# Each float32 is written as Java's Float.toString does (shortest round-trip digits; positional for magnitudes in
# [1e-3, 1e7), else d.dddE-n), as oryxpy.javafmt.float32_list_text does one number at a time.

from __future__ import annotations

from collections.abc import Sequence
from json.encoder import encode_basestring

import numpy as np

from oryxpy.javafmt import float32_list_text

_MAX_SIGNIFICANT = 9  # every float32 round-trips with 9 significant digits
_FRAC_DIGITS = 11  # positional (1e-3 <= |x| < 1e7): at most 11 digits after the point, 7 before it
_SCIENTIFIC_WIDTH = 16  # sign, d, '.', 8 digits, 'E', '-', 2 exponent digits, separator
_POW10 = 10.0 ** np.arange(0, 80)  # exact up to 10^22
_IPOW10 = 10 ** np.arange(0, 19, dtype=np.int64)


def _scale(values: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """values x 10^shift in one rounding (a division for negative shifts, so exact powers of ten are used)."""
    power = _POW10[np.abs(shift)]
    scaled: np.ndarray = np.where(shift >= 0, values * power, values / power)
    return scaled


def shortest_digits(magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For finite positive float32s: (mantissa, exponent, digits) of the shortest decimal that rounds back to each,
    value = mantissa x 10^(exponent - digits + 1) with 10^(digits-1) <= mantissa < 10^digits."""
    x64 = magnitude.astype(np.float64)
    exponent = np.floor(np.log10(x64)).astype(np.int64)  # of the leading digit; log10 may be off by one near 10^e
    exponent += _scale(x64, -(exponent + 1)) >= 1.0
    exponent -= _scale(x64, -exponent) < 1.0
    mantissa = np.zeros(len(x64), dtype=np.int64)
    digits = np.full(len(x64), _MAX_SIGNIFICANT, dtype=np.int64)

    def attempt(index: np.ndarray, count: int, final: bool = False) -> np.ndarray:
        """Round ``index`` to ``count`` digits; record those that round-trip; return the others."""
        rounded = np.rint(_scale(x64[index], count - 1 - exponent[index]))
        done = final | (_scale(rounded, exponent[index] - count + 1).astype(np.float32) == magnitude[index])
        mantissa[index[done]] = rounded[done].astype(np.int64)
        digits[index[done]] = count
        failed: np.ndarray = index[~done]
        return failed

    # Most float32 values need 7-9 digits: try 6, then more digits for those that fail, fewer for those that pass.
    everything = np.arange(len(x64))
    rest = attempt(everything, 6)
    shorter = np.setdiff1d(everything, rest, assume_unique=True)
    for count in range(1, 6):
        shorter = attempt(shorter, count) if len(shorter) else shorter
    if len(shorter):
        attempt(shorter, 6, final=True)
    for count in range(7, _MAX_SIGNIFICANT + 1):
        rest = attempt(rest, count, final=count == _MAX_SIGNIFICANT) if len(rest) else rest
    carry = mantissa >= _IPOW10[digits]  # rounding up to 10^digits: one digit fewer, next exponent
    mantissa[carry] //= 10
    exponent[carry] += 1
    return mantissa, exponent, digits


def _ascii_digits(numbers: np.ndarray, count: int) -> np.ndarray:
    """The last ``count`` (<= 9) decimal digits of non-negative ints as ASCII columns (most significant first)."""
    out = np.empty((len(numbers), count), dtype=np.uint8)
    rest = (numbers % 10**count).astype(np.uint32)  # uint32 division is much faster than int64
    for column in range(count - 1, -1, -1):
        out[:, column] = rest % 10
        rest //= 10
    return out + np.uint8(ord("0"))


def _digit_columns(numbers: np.ndarray, count: int) -> np.ndarray:
    """The last ``count`` (<= 18) decimal digits of non-negative int64s as ASCII columns."""
    if count <= 9:
        return _ascii_digits(numbers, count)
    return np.concatenate([_ascii_digits(numbers // 10**9, count - 9), _ascii_digits(numbers % 10**9, 9)], axis=1)


def _positional(chars: np.ndarray, keep: np.ndarray, fixed: np.ndarray, int_digits: int) -> None:
    """Fill ``[int digits].[fraction digits]`` from round(|x| x 1e11), leading and trailing zeros dropped (one kept)."""
    digits = _digit_columns(fixed, int_digits + _FRAC_DIGITS)
    significant = digits != ord("0")
    point = 1 + int_digits
    chars[:, 1:point] = digits[:, :int_digits]
    keep[:, 1:point] = np.logical_or.accumulate(significant[:, :int_digits], axis=1)
    keep[:, point - 1] = True
    chars[:, point] = ord(".")
    keep[:, point] = True
    fraction = slice(point + 1, point + 1 + _FRAC_DIGITS)
    chars[:, fraction] = digits[:, int_digits:]
    keep[:, fraction] = np.logical_or.accumulate(significant[:, : int_digits - 1 : -1], axis=1)[:, ::-1]
    keep[:, point + 1] = True


def _scientific(chars: np.ndarray, keep: np.ndarray, mantissa: np.ndarray, exponent: np.ndarray, digits: np.ndarray) -> None:
    """Fill ``d.ddddE-n`` (at most 9 digits, exponent of at most 2 digits) in columns 1 to 14."""
    normalized = _ascii_digits(mantissa * _IPOW10[_MAX_SIGNIFICANT - digits], _MAX_SIGNIFICANT)
    keep[:, 1:-1] = False
    chars[:, 1] = normalized[:, 0]
    chars[:, 2] = ord(".")
    chars[:, 3:11] = normalized[:, 1:]
    keep[:, 1:4] = True
    keep[:, 4:11] = np.arange(2, _MAX_SIGNIFICANT)[None, :] < digits[:, None]
    chars[:, 11] = ord("E")
    chars[:, 12] = ord("-")
    chars[:, 13:15] = _ascii_digits(np.abs(exponent), 2)
    keep[:, 11] = True
    keep[:, 12] = exponent < 0
    keep[:, 13] = np.abs(exponent) >= 10
    keep[:, 14] = True


def _element_chars(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ASCII (n, width) and keep-mask of each finite value's Java text followed by a ',' slot.

    The width fits the largest integer part among the values (and the scientific form).
    """
    n = len(values)
    magnitude = np.abs(values)
    nonzero = np.nonzero(magnitude)[0]
    mantissa, exponent, digits = shortest_digits(magnitude[nonzero])
    positional = (magnitude[nonzero] >= 1e-3) & (magnitude[nonzero] < 1e7)
    fixed = np.zeros(n, dtype=np.int64)
    shift = digits[positional] - 1 - exponent[positional]
    fixed[nonzero[positional]] = mantissa[positional] * _IPOW10[_FRAC_DIGITS - shift]
    int_digits = len(str(int(fixed.max(initial=0)) // 10**_FRAC_DIGITS))
    width = max(_SCIENTIFIC_WIDTH, 1 + int_digits + 1 + _FRAC_DIGITS + 1)
    chars = np.zeros((n, width), dtype=np.uint8)
    keep = np.zeros((n, width), dtype=bool)
    chars[:, 0] = ord("-")
    keep[:, 0] = np.signbit(values)
    _positional(chars, keep, fixed, int_digits)  # for every value; the few in scientific form are redone below
    chars[:, -1] = ord(",")
    keep[:, -1] = True
    if not positional.all():
        rows = nonzero[~positional]
        sub_chars, sub_keep = chars[rows], keep[rows]
        _scientific(sub_chars, sub_keep, mantissa[~positional], exponent[~positional], digits[~positional])
        chars[rows], keep[rows] = sub_chars, sub_keep
    return chars, keep


def vector_texts(matrix: np.ndarray) -> list[str]:
    """The JSON array text of each row, each number as Java's Float.toString writes it."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    rows, k = matrix.shape
    if rows == 0 or k == 0:
        return ["[]"] * rows
    finite_rows = np.isfinite(matrix).all(axis=1)
    texts: list[str] = [""] * rows
    finite = np.nonzero(finite_rows)[0]
    if len(finite):
        chars, keep = _element_chars(matrix[finite].ravel())
        chars = chars.reshape(len(finite), -1)
        keep = keep.reshape(len(finite), -1)
        chars[:, -1] = ord("]")
        chars = np.concatenate([np.full((len(finite), 1), ord("["), dtype=np.uint8), chars], axis=1)
        keep = np.concatenate([np.ones((len(finite), 1), dtype=bool), keep], axis=1)
        text = chars[keep].tobytes().decode("ascii")
        ends = np.cumsum(keep.sum(axis=1)).tolist()
        start = 0
        for row, end in zip(finite.tolist(), ends, strict=True):
            texts[row] = text[start:end]
            start = end
    for row in np.nonzero(~finite_rows)[0].tolist():  # NaN or infinity: rare, one number at a time
        texts[row] = float32_list_text(matrix[row])
    return texts


def id_text(id_: str) -> str:
    """An ID as a JSON string (as ``json.dumps(id_, ensure_ascii=False)``)."""
    return encode_basestring(id_)


def up_texts(matrix_name: str, ids: Sequence[str], vectors: np.ndarray, known: Sequence[str] | None) -> list[str]:
    """UP values ``[matrix, id, vector]``, plus ``[known]`` (one ID each) when ``known`` is given."""
    head = f'["{matrix_name}",'
    texts = vector_texts(vectors)
    if known is None:
        return [f"{head}{id_text(i)},{v}]" for i, v in zip(ids, texts, strict=True)]
    return [f"{head}{id_text(i)},{v},[{id_text(k)}]]" for i, v, k in zip(ids, texts, known, strict=True)]
