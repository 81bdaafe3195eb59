"""What the endpoints ask of a serving model, as protocols: a route names the one it needs and any model that has
those methods answers it, whatever its package; any other model gets a clear 501 (UnsupportedQuery).

- :class:`KnownItemsModel`: users' known items, the ID lists and the counts (/knownItems, /user/allIDs,
  /item/allIDs, /mostPopularItems, /mostActiveUsers). ALS and the most-popular model both are.
- :class:`RankedItemsModel`: one ranking of the items for everyone (the most-popular model): the recommend
  endpoints answer with it, leaving out what the user already knows.
- Vector models (serving.vector_model.VectorServingModel, which ALS, the two-tower and the hybrid models load):
  the recommend, similarity, estimate and explanation endpoints by dot products.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

from oryxpy.errors import UnsupportedQuery
from oryxpy.interfaces import Rescorer

ModelT = TypeVar("ModelT")


@runtime_checkable
class KnownItemsModel(Protocol):
    """A model that knows which items each user interacted with."""

    def fraction_loaded(self) -> float: ...

    def known_items(self, user: str) -> tuple[str, ...]: ...

    def user_ids(self) -> list[str]: ...

    def item_ids(self) -> list[str]: ...

    def user_counts(self) -> Counter[str]: ...

    def item_counts(self) -> Counter[str]: ...


@runtime_checkable
class RankedItemsModel(KnownItemsModel, Protocol):
    """A model that ranks items the same way for everyone."""

    def has_item(self, item: str) -> bool:
        """Whether the model ranks this item."""
        ...

    def top_items(self, how_many: int, exclude: Collection[str], rescorer: Rescorer | None) -> list[tuple[str, float]]:
        """The ``how_many`` best items and their scores, best first, without ``exclude`` and what ``rescorer``
        filters (its ``rescore`` applied)."""
        ...


@dataclass(frozen=True)
class Capability(Generic[ModelT]):
    """What an endpoint needs of the model: ``kind`` is a class or runtime-checkable protocol (or a tuple of them)
    whose instances are ``ModelT``. The answer is remembered per model class (a protocol check costs microseconds)."""

    kind: type[Any] | tuple[type[Any], ...]
    name: str
    _answers: dict[type[Any], bool] = field(default_factory=dict, compare=False, repr=False)

    def of(self, model: object, endpoint: str) -> ModelT:
        """``model`` as ``ModelT``, or UnsupportedQuery (501) naming the endpoint and the model."""
        accepted = self._answers.get(type(model))
        if accepted is None:
            accepted = self._answers[type(model)] = isinstance(model, self.kind)
        if not accepted:
            raise UnsupportedQuery(f"{endpoint} is not answered by this model ({type(model).__name__}): it needs "
                                   f"a {self.name}")
        return cast(ModelT, model)


KNOWN_ITEMS: Capability[KnownItemsModel] = Capability(KnownItemsModel, "model of users' known items")
