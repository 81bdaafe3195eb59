"""A stable ``oryx.id`` when none is configured, so consumer groups survive restarts and no input is skipped.

Embedded input: the state directory gets an identity at its first start, kept in ``<state-dir>/identity``.
Kafka input: the identity is derived from the brokers and the input topic's name, so every machine that runs a
layer against the same topic finds the same groups without sharing a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path

from oryxpy.config import Config
from oryxpy.errors import ConfigError

log = logging.getLogger(__name__)

IDENTITY_FILE = "identity"


def state_identity(state_dir: Path) -> str:
    """The identity stored in ``state_dir`` (created, atomically, at the first call)."""
    path = state_dir / IDENTITY_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        temporary = state_dir / f".{IDENTITY_FILE}.{os.getpid()}"
        temporary.write_text(f"state-{uuid.uuid4().hex[:16]}\n")
        try:
            os.link(temporary, path)  # fails if another process created it first: then its identity wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
        return _read(path)
    except OSError as exc:
        raise ConfigError(f"cannot keep an identity in the state directory {state_dir} ({exc}); "
                          "make it writable or set oryx.id") from exc


def _read(path: Path) -> str:
    text = path.read_text().strip()
    if not text:
        raise ConfigError(f"the identity file {path} is empty; delete it (a new identity starts at the latest input) "
                          "or write the former oryx.id into it")
    return text


def derived_identity(config: Config) -> str:
    """A stable identity for Kafka input: a hash of the brokers and the input topic's name."""
    input_topic = config.settings.input_topic
    brokers = ",".join(sorted(b.strip() for b in input_topic.broker.split(",")))
    digest = hashlib.sha256(f"{brokers}/{input_topic.message.topic}".encode()).hexdigest()[:16]
    return f"auto-{digest}"


def resolve_identity(config: Config) -> Config:
    """``config`` with ``oryx.id`` set: as configured, else stable (see the module docstring); says which in the log."""
    if config.settings.id:
        return config
    input_topic = config.settings.input_topic
    if input_topic.broker == "embedded":
        identity = state_identity(config.state_dir)
        log.info("oryx.id is unset: using the state directory's identity %s (from %s)", identity,
                 config.state_dir / IDENTITY_FILE)
    else:
        identity = derived_identity(config)
        log.info("oryx.id is unset: using %s, derived from the input topic %s on %s; set oryx.id to choose one",
                 identity, input_topic.message.topic, input_topic.broker)
    return config.with_overrides({"oryx.id": identity}, "identity")
