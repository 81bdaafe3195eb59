"""How a configuration key is declared: its type, default, range and one-line documentation."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from typing import Any

from oryxpy.errors import ConfigError

KINDS = ("str", "int", "float", "bool", "hyperparam", "choice")


@dataclass(frozen=True)
class Key:
    """One configuration key.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``) or
    ``hyperparam`` (a number, or a list of numbers / values to search over).  ``optional`` keys
    may be unset (``None``); in TOML they are left out, on the command line ``--set key=`` unsets them.
    """

    name: str
    default: Any
    doc: str
    kind: str = "str"
    optional: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] = field(default_factory=tuple)

    def accepted(self) -> str:
        """Describe the values this key accepts, for error messages."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "hyperparam":
            text = "a number, or a list like [min, max] or [v1, v2, ...], of numbers" + _range_text(self)
        else:
            text = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}[self.kind]
            text += _range_text(self)
        return text + (" (or unset)" if self.optional else "")

    def validate(self, value: Any, source: str) -> Any:
        """Return ``value`` converted to this key's type, or raise ConfigError naming the key."""
        if value is None or (self.optional and value == ""):
            if self.optional:
                return None
            raise self._error(value, source)
        converted = _CONVERTERS[self.kind](self, value)
        if converted is _BAD:
            raise self._error(value, source)
        return converted

    def parse_text(self, text: str, source: str) -> Any:
        """Convert a value given as text (``--set`` or the environment) and validate it."""
        if self.optional and text.strip() == "":
            return None
        if self.kind == "str":
            return self.validate(text, source)
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        return self.validate(value, source)

    def _error(self, value: Any, source: str) -> ConfigError:
        return ConfigError(f"config key {self.name} = {value!r} (from {source}) is not valid: expected {self.accepted()}")


_BAD = object()


def _range_text(key: Key) -> str:
    parts = []
    if key.minimum is not None:
        parts.append(f"{'>' if key.min_exclusive else '>='} {_num(key.minimum)}")
    if key.maximum is not None:
        parts.append(f"<= {_num(key.maximum)}")
    return (" " + " and ".join(parts)) if parts else ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _in_range(key: Key, x: float) -> bool:
    if key.minimum is not None and (x <= key.minimum if key.min_exclusive else x < key.minimum):
        return False
    return key.maximum is None or x <= key.maximum


def _to_str(key: Key, v: Any) -> Any:
    return v if isinstance(v, str) else _BAD


def _to_int(key: Key, v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int):
        return _BAD
    return v if _in_range(key, v) else _BAD


def _to_float(key: Key, v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return _BAD
    return float(v) if _in_range(key, float(v)) else _BAD


def _to_bool(key: Key, v: Any) -> Any:
    return v if isinstance(v, bool) else _BAD


def _to_choice(key: Key, v: Any) -> Any:
    return v if isinstance(v, str) and v in key.choices else _BAD


def _to_hyperparam(key: Key, v: Any) -> Any:
    def ok(x: Any) -> bool:
        return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x) and _in_range(key, x)

    if isinstance(v, list):
        if not v or not all(ok(x) for x in v):
            return _BAD
        return list(v)
    return v if ok(v) else _BAD


_CONVERTERS = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "choice": _to_choice,
    "hyperparam": _to_hyperparam,
}
