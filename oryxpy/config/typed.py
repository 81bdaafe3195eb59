"""Typed configuration sections: frozen dataclasses whose fields are bound to dotted config keys.

A section class declares each field with :func:`setting` (bound to one key) or :func:`subsection` (a nested
section).  :func:`build_section` fills it from a loaded :class:`~oryxpy.config.loader.Config`, checking every
value against its key's declaration, so a wrong value is a ``ConfigError`` naming the key.  The core sections
(``oryxpy.config.settings``) are generated from the key registry by ``python -m oryxpy.config.generate``; a
plug-in package can generate its own section the same way (``--keys-module``) and read it with
``config.section(ItsSection)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from oryxpy.config.spec import Key
from oryxpy.errors import ConfigError

KEY_FIELD = "oryx.key"
SECTION_FIELD = "oryx.section"

#: A hyper-parameter: one number, or a list of numbers to search over ([min, max] is a range).
Hyperparam = float | list[float]

SectionT = TypeVar("SectionT")


def setting(key: str) -> Any:
    """A dataclass field holding the value of config key ``key``."""
    return dataclasses.field(metadata={KEY_FIELD: key})


def subsection(section_class: type[Any]) -> Any:
    """A dataclass field holding a nested section, built from the same configuration."""
    return dataclasses.field(metadata={SECTION_FIELD: section_class})


def section_keys(section_class: type[Any]) -> list[str]:
    """Every config key a section (and its subsections) reads, in field order."""
    names: list[str] = []
    for field in dataclasses.fields(section_class):
        if KEY_FIELD in field.metadata:
            names.append(field.metadata[KEY_FIELD])
        else:
            names.extend(section_keys(field.metadata[SECTION_FIELD]))
    return names


def build_section(section_class: type[SectionT], values: Mapping[str, Any], keys: Mapping[str, Key]) -> SectionT:
    """Build ``section_class`` from config ``values``, checking each against its declared key in ``keys``."""
    if not dataclasses.is_dataclass(section_class):
        raise ConfigError(f"{section_class.__name__} is not a config section (a dataclass of settings)")
    arguments: dict[str, Any] = {}
    for field in dataclasses.fields(section_class):
        if SECTION_FIELD in field.metadata:
            arguments[field.name] = build_section(field.metadata[SECTION_FIELD], values, keys)
            continue
        name = field.metadata.get(KEY_FIELD)
        if name is None:
            raise ConfigError(f"field {section_class.__name__}.{field.name} is bound to no config key")
        key = keys.get(name)
        if key is None or name not in values:
            raise ConfigError(
                f"config section {section_class.__name__} reads config key {name}, which is not registered "
                "(regenerate the section, or import the package that registers the key)"
            )
        arguments[field.name] = key.validate(values[name], f"section {section_class.__name__}")
    return section_class(**arguments)
