"""The contract of each layer's application logic, after Oryx's BatchLayerUpdate / SpeedModelManager / ServingModelManager.

The runners (batch, speed and serving layers) drive these; which class is used comes from config
(``oryx.batch.update-class``, ``oryx.speed.model-manager-class``, ``oryx.serving.model-manager-class``), so
another model can replace ALS without touching the runners. Everything a runner calls is declared here, typed; the
optional parts have defaults, so a minimal model implements only the abstract methods.
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal, Protocol

import pyarrow as pa

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from oryxpy.messages import UpdateMessage
from oryxpy.topics import KeyValue, TopicProducer

#: Schema of stored input (a generation's data and the batch layer's new/past data): the topic message key and value.
INPUT_SCHEMA = pa.schema([("key", pa.string()), ("value", pa.string())])

#: What a speed manager's model allows: "none" (no model: input is dropped and counted), "loading" (below the load
#: fraction: input waits in the topic) or "ready".
ModelStatus = Literal["none", "loading", "ready"]


class LoadingModel(Protocol):
    """A model that may be partly loaded (a MODEL-REF or a MODEL whose UP messages are still arriving)."""

    def fraction_loaded(self) -> float: ...


def load_status(model: LoadingModel | None, min_fraction: float) -> ModelStatus:
    """'none' before any model, 'loading' while less than ``min_fraction`` of it is loaded, else 'ready'."""
    if model is None:
        return "none"
    return "loading" if model.fraction_loaded() < min_fraction else "ready"


class BatchLayerUpdate(ABC):
    """Builds a model from all input and publishes it."""

    #: True when :meth:`run_update` takes Spark DataFrames (key, value, gen) instead of Arrow tables (Spark engine).
    takes_dataframes: ClassVar[bool] = False
    #: Dotted path of the class the Spark engine runs instead of this one, or None to run this one there too.
    spark_counterpart: ClassVar[str | None] = None

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

    def model_status(self) -> ModelStatus:
        """Whether input can be turned into updates now (see :data:`ModelStatus`); the default is always "ready"."""
        return "ready"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


class Rescorer(Protocol):
    """Changes or filters the candidates of one query (Oryx's Rescorer); NaN from ``rescore`` excludes the ID."""

    def rescore(self, id: str, score: float) -> float: ...  # noqa: A002

    def is_filtered(self, id: str) -> bool: ...  # noqa: A002


class RescorerProvider(Protocol):
    """Gives the rescorer of each kind of query, or None (Oryx's RescorerProvider; serving.rescorer loads them)."""

    def get_recommend_rescorer(self, user_ids: list[str], args: list[str]) -> Rescorer | None: ...

    def get_recommend_to_anonymous_rescorer(self, item_ids: list[str], args: list[str]) -> Rescorer | None: ...

    def get_most_popular_items_rescorer(self, args: list[str]) -> Rescorer | None: ...

    def get_most_active_users_rescorer(self, args: list[str]) -> Rescorer | None: ...

    def get_most_similar_items_rescorer(self, args: list[str]) -> Rescorer | None: ...


class ServingModel(Protocol):
    """What the serving core asks of any model; which queries it answers is declared by the protocols of
    ``serving.models`` it satisfies (a query it cannot answer is a clear 501)."""

    def fraction_loaded(self) -> float:
        """How much of the announced model is loaded, 0 to 1 (queries wait for min-model-load-fraction)."""
        ...


class ServingModelManager(ABC):
    """Keeps the serving model up to date from the update topic."""

    #: The rescorer provider the queries use (oryx.als.rescorer-provider-class), or None.
    rescorer_provider: RescorerProvider | None = None

    @abstractmethod
    def consume(self, message: UpdateMessage) -> None:
        """Apply one update-topic message to the in-memory model."""

    @abstractmethod
    def get_model(self) -> ServingModel | None:
        """The current model, or None before the first MODEL."""

    def consume_many(self, messages: Sequence[UpdateMessage]) -> list[Exception | None]:
        """Apply the messages of one poll in order; per message, the error that made it be skipped, or None. A manager
        may apply a run of UPs together (one write-lock hold instead of one per message); the default applies each."""
        errors: list[Exception | None] = [None] * len(messages)
        for pos, message in enumerate(messages):
            try:
                self.consume(message)
            except Exception as exc:  # reported by the caller, with the message's place on the topic
                errors[pos] = exc
        return errors

    def is_ready(self) -> bool:
        """Whether queries may be answered (the default: as soon as there is a model)."""
        return self.get_model() is not None

    def repeated_updates(self, messages: Sequence[KeyValue]) -> Iterable[bool]:
        """Per message of one poll of the update topic, whether it is an UP that the model already holds exactly, so
        that the consumer may skip it (a MODEL-REF's replay); the default proves none, and each is consumed."""
        return [False] * len(messages)

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
