"""Recommendation endpoints: /recommend, /recommendToMany, /recommendToAnonymous, /recommendWithContext."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request, Response

from oryxpy.errors import InvalidInput, NotFound
from serving import formats
from serving.als.model import ALSServingModel
from serving.als.queries import fold_in
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

router = APIRouter(tags=["recommend"])


def _user_vectors(model: ALSServingModel, users: list[str]) -> list[np.ndarray]:
    vectors = []
    for user in users:
        vector = model.user_vector(user)
        if vector is None:
            raise NotFound(f"unknown user '{user}'")
        vectors.append(vector)
    return vectors


def _recommend(request: Request, state: ServingState, model: ALSServingModel, target: np.ndarray, users: list[str],
               exclude: set[str], how_many: str, offset: str, args: list[str], selection: Selection = EVERYTHING) -> Response:
    n, skip = paging(how_many, offset)  # validated again: cheap, and keeps this helper safe alone
    rescorer = rescorer_for(state, "recommend", users, args or [])
    return formats.id_values(request, selection.top_n(model, target, n + skip, exclude, rescorer)[skip:])


def _known_of(model: ALSServingModel, users: list[str], consider_known: str) -> set[str]:
    if flag(consider_known):
        return set()
    return {item for user in users for item in model.known_items(user)}


@router.get("/recommend/{userID:path}")
def recommend(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0", considerKnownItems: ConsiderKnown = "false",
              rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Top items for a user by dot product with the user's vector, excluding the user's known items."""
    paging(howMany, offset)
    model = ready_model(state)
    users = exact_ids(request, 1)
    (xu,) = _user_vectors(model, users)
    exclude = _known_of(model, users, considerKnownItems)
    return _recommend(request, state, model, xu, users, exclude, howMany, offset, rescorerParams, selection)


@router.get("/recommendToMany/{userIDs:path}")
def recommend_to_many(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0", considerKnownItems: ConsiderKnown = "false",
                      rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Top items for several users by dot product with the mean of their vectors, excluding their known items."""
    paging(howMany, offset)
    model = ready_model(state)
    users = path_ids(request)
    if not users:
        raise NotFound("no user ID given")
    target = np.mean(np.asarray(_user_vectors(model, users), dtype=np.float64), axis=0)
    exclude = _known_of(model, users, considerKnownItems)
    return _recommend(request, state, model, target, users, exclude, howMany, offset, rescorerParams, selection)


@router.get("/recommendToAnonymous/{items:path}")
def recommend_to_anonymous(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                           rescorerParams: RescorerParams = None, selection: Select = EVERYTHING) -> Response:
    """Top items for an anonymous user described by items (item or item=strength segments), folded in as the speed layer does."""
    n, skip = paging(howMany, offset)
    model = ready_model(state)
    pairs = path_id_values(request)
    if not pairs:
        raise NotFound("no item ID given")  # as Oryx, where no route matches
    xu = fold_in(model, pairs, None)
    if xu is None:
        raise InvalidInput(f"none of the items is known: {', '.join(i for i, _ in pairs)}")
    items = [i for i, _ in pairs]
    rescorer = rescorer_for(state, "recommend_to_anonymous", items, rescorerParams or [])
    return formats.id_values(request, selection.top_n(model, xu, n + skip, set(items), rescorer)[skip:])


@router.get("/recommendWithContext/{userAndItems:path}")
def recommend_with_context(request: Request, state: State, howMany: HowMany = "10", offset: Offset = "0",
                           considerKnownItems: ConsiderKnown = "false", rescorerParams: RescorerParams = None,
                           selection: Select = EVERYTHING) -> Response:
    """Top items for a user whose vector is first updated with context items (item or item=strength segments)."""
    paging(howMany, offset)
    model = ready_model(state)
    users = path_ids(request)[:1]
    if not users:
        raise NotFound("no user ID given")
    user = users[0]
    (xu,) = _user_vectors(model, [user])
    context = path_id_values(request, start=1)
    xu = fold_in(model, context, xu) if context else xu
    exclude = _known_of(model, [user], considerKnownItems) | {i for i, _ in context}
    return _recommend(request, state, model, xu, [user], exclude, howMany, offset, rescorerParams, selection)
