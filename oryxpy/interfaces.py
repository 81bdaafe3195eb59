"""The contract of each layer's application logic, after Oryx's BatchLayerUpdate / SpeedModelManager / ServingModelManager.

The runners (batch, speed and serving layers) drive these; which class is used comes from config
(``oryx.batch.update-class``, ``oryx.speed.model-manager-class``, ``oryx.serving.model-manager-class``), so
another model that produces user and item vectors can replace ALS without touching the runners.
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.messages import UpdateMessage
from oryxpy.topics import KeyValue, TopicProducer

#: Schema of stored input (a generation's data and the batch layer's new/past data): the topic message key and value.
INPUT_SCHEMA = pa.schema([("key", pa.string()), ("value", pa.string())])


class BatchLayerUpdate(ABC):
    """Builds a model from all input and publishes it."""

    @abstractmethod
    def run_update(
        self,
        timestamp_ms: int,
        new_data: pa.Table,
        past_data: pa.Table | None,
        model_dir: str,
        update_producer: TopicProducer | None,
    ) -> None:
        """Build, evaluate and write a model under ``model_dir`` from ``new_data`` (this generation) and
        ``past_data`` (all earlier generations, or None), both with :data:`INPUT_SCHEMA`; then publish it
        on the update topic when ``update_producer`` is given."""


class SpeedModelManager(ABC):
    """Keeps a model from the update topic and turns new input into model updates."""

    @abstractmethod
    def consume(self, message: UpdateMessage) -> None:
        """Apply one update-topic message (MODEL, MODEL-REF or UP) to the in-memory model."""

    @abstractmethod
    def build_updates(self, new_data: Sequence[str]) -> list[KeyValue]:
        """Turn input-topic values into update-topic (key, value) messages; [] when there is no model yet."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


class ServingModelManager(ABC):
    """Keeps the serving model up to date from the update topic."""

    @abstractmethod
    def consume(self, message: UpdateMessage) -> None:
        """Apply one update-topic message to the in-memory model."""

    @abstractmethod
    def get_model(self) -> Any:
        """The current model, or None before the first MODEL."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def load_class(dotted: str, key: str) -> type:
    """Import ``module.ClassName``; errors name the config key that asked for it."""
    module_name, _, class_name = dotted.rpartition(".")
    if not module_name:
        raise ConfigError(f"{key} = {dotted!r} is not a dotted path module.ClassName")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{key} = {dotted!r}: cannot import module {module_name} ({exc})") from exc
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls):
        raise ConfigError(f"{key} = {dotted!r}: module {module_name} has no class {class_name}")
    return cls


def instantiate(dotted: str, key: str, config: Config, expected: type | None = None) -> Any:
    """Create the class named by a config key, passing ``config`` when its constructor takes an argument."""
    cls = load_class(dotted, key)
    if expected is not None and not issubclass(cls, expected):
        raise ConfigError(f"{key} = {dotted!r} is not a {expected.__name__}")
    params = [p for p in inspect.signature(cls).parameters.values() if p.default is inspect.Parameter.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return cls(config) if params else cls()
