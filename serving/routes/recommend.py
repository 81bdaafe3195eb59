"""Recommendation endpoints: /recommend, /recommendToMany, /recommendToAnonymous, /recommendWithContext.

A vector model (ALS, two-tower, hybrid) scores items by dot product with the user's vector; a model that ranks items
the same way for everyone (serving.models.RankedItemsModel, e.g. the most-popular model) answers with its ranking
without the user's known items. Both answer 404 for an unknown user; a vector model answers 503 for a user it
names whose vector has not arrived yet.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request, Response

from oryxpy.errors import InvalidInput, NotFound
from serving import formats
from serving.models import Capability, KnownItemsModel, RankedItemsModel
from serving.openapi import ID_VALUES, QUERY_ERRORS
from serving.params import (
    ConsiderKnown,
    HowMany,
    Offset,
    RescorerParams,
    State,
    exact_ids,
    flag,
    paging,
    path_id_values,
    path_ids,
    ready_model,
    rescorer_for,
)
from serving.selection import EVERYTHING, Select, Selection
from serving.state import ServingState
from serving.vector_model import VectorServingModel, fold_in, unknown_user

router = APIRouter(tags=["recommend"], responses={**ID_VALUES, **QUERY_ERRORS})

Recommender = VectorServingModel | RankedItemsModel
RECOMMENDER: Capability[Recommender] = Capability((VectorServingModel, RankedItemsModel), "vector model or a model that "
                                                  "ranks items")


def _recommender(state: ServingState, endpoint: str) -> Recommender:
    return ready_model(state, RECOMMENDER, endpoint)


def _user_vectors(model: VectorServingModel, users: list[str]) -> list[np.ndarray]:
    vectors = []
    for user in users:
        vector = model.user_vector(user)
        if vector is None:
            raise unknown_user(model, user)
        vectors.append(vector)
    return vectors


def _check_users(model: RankedItemsModel, users: list[str]) -> None:
    for user in users:
        if not model.known_items(user):
            raise NotFound(f"unknown user '{user}'")


def _recommend(request: Request, state: ServingState, model: VectorServingModel, target: np.ndarray, users: list[str],
               exclude: set[str], how_many: str, offset: str, args: list[str] | None,
               selection: Selection = EVERYTHING) -> Response:
    n, skip = paging(how_many, offset)  # validated again: cheap, and keeps this helper safe alone
    rescorer = rescorer_for(state, lambda p: p.get_recommend_rescorer(users, args or []))
    return formats.id_values(request, selection.top_n(model, target, n + skip, exclude, rescorer)[skip:])


def _ranked(request: Request, state: ServingState, model: RankedItemsModel, anonymous: bool, ids: list[str],
            exclude: set[str], how_many: str, offset: str, args: list[str] | None, selection: Selection) -> Response:
    n, skip = paging(how_many, offset)
    if anonymous:
        rescorer = rescorer_for(state, lambda p: p.get_recommend_to_anonymous_rescorer(ids, args or []))
    else:
        rescorer = rescorer_for(state, lambda p: p.get_recommend_rescorer(ids, args or []))
    rescorer = selection.rescorer(rescorer)
    return formats.id_values(request, model.top_items(n + skip, exclude, rescorer)[skip:])


def _known_of(model: KnownItemsModel, users: list[str], consider_known: str) -> set[str]:
    if flag(consider_known):
        return set()
    return {item for user in users for item in model.known_items(user)}


@router.get("/recommend/{userID:path}")
def recommend(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0", considerKnownItems: ConsiderKnown = "false",
              rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Top items for a user by dot product with the user's vector (or the model's ranking), excluding the user's
    known items."""
    paging(howMany, offset)
    model = _recommender(state, "/recommend")
    users = exact_ids(request, 1)
    exclude = _known_of(model, users, considerKnownItems)
    if not isinstance(model, VectorServingModel):
        _check_users(model, users)
        return _ranked(request, state, model, False, users, exclude, howMany, offset, rescorerParams, selection)
    (xu,) = _user_vectors(model, users)
    return _recommend(request, state, model, xu, users, exclude, howMany, offset, rescorerParams, selection)


@router.get("/recommendToMany/{userIDs:path}")
def recommend_to_many(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0", considerKnownItems: ConsiderKnown = "false",
                      rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Top items for several users by dot product with the mean of their vectors (or the model's ranking), excluding
    their known items."""
    paging(howMany, offset)
    model = _recommender(state, "/recommendToMany")
    users = path_ids(request)
    if not users:
        raise NotFound("no user ID given")
    if not isinstance(model, VectorServingModel):
        _check_users(model, users)
        exclude = _known_of(model, users, considerKnownItems)
        return _ranked(request, state, model, False, users, exclude, howMany, offset, rescorerParams, selection)
    target = np.mean(np.asarray(_user_vectors(model, users), dtype=np.float64), axis=0)
    exclude = _known_of(model, users, considerKnownItems)
    return _recommend(request, state, model, target, users, exclude, howMany, offset, rescorerParams, selection)


@router.get("/recommendToAnonymous/{items:path}")
def recommend_to_anonymous(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                           rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Top items for an anonymous user described by items (item or item=strength segments), folded in as the speed
    layer does (or the model's ranking without those items); 400 when none of the items is known."""
    n, skip = paging(howMany, offset)
    model = _recommender(state, "/recommendToAnonymous")
    pairs = path_id_values(request)
    if not pairs:
        raise NotFound("no item ID given")  # as Oryx, where no route matches
    items = [i for i, _ in pairs]
    if not isinstance(model, VectorServingModel):
        if not any(model.has_item(i) for i in items):
            raise InvalidInput(f"none of the items is known: {', '.join(items)}")
        return _ranked(request, state, model, True, items, set(items), howMany, offset,
                       rescorerParams, selection)
    xu = fold_in(model, pairs, None)
    if xu is None:
        raise InvalidInput(f"none of the items is known: {', '.join(items)}")
    rescorer = rescorer_for(state, lambda p: p.get_recommend_to_anonymous_rescorer(items, rescorerParams or []))
    return formats.id_values(request, selection.top_n(model, xu, n + skip, set(items), rescorer)[skip:])


@router.get("/recommendWithContext/{userAndItems:path}")
def recommend_with_context(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                           considerKnownItems: ConsiderKnown = "false", rescorerParams: RescorerParams = None,
                           selection: Select = EVERYTHING) -> Response:
    """Top items for a user whose vector is first updated with context items (item or item=strength segments), or the
    model's ranking without the user's known items and the context items."""
    paging(howMany, offset)
    model = _recommender(state, "/recommendWithContext")
    users = path_ids(request)[:1]
    if not users:
        raise NotFound("no user ID given")
    user = users[0]
    context = path_id_values(request, start=1)
    exclude = _known_of(model, [user], considerKnownItems) | {i for i, _ in context}
    if not isinstance(model, VectorServingModel):
        _check_users(model, users)
        return _ranked(request, state, model, False, users, exclude, howMany, offset, rescorerParams, selection)
    (xu,) = _user_vectors(model, [user])
    folded = fold_in(model, context, xu) if context else None
    xu = xu if folded is None else folded
    return _recommend(request, state, model, xu, [user], exclude, howMany, offset, rescorerParams, selection)
