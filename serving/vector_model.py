"""The model the dot-product endpoints need: VectorServingModel (user and item vectors in memory), which ALS, the
two-tower and the hybrid models all load; the generic serving code imports it from here, by that name.

Its own module, so that the generic request code (serving.params, serving.models) imports no model, and the one
module through which the endpoints reach the vector model and its queries (``queries``: top-N, dot, cosine, fold-in).
The class is defined in serving.vectors.model; ``serving.als.model.ALSServingModel`` remains its old name.
"""

from oryxpy.errors import ModelNotReady, NotFound, OryxError
from serving.models import Capability
from serving.vectors import queries
from serving.vectors.model import VectorServingModel
from serving.vectors.queries import cosine, dot, fold_in, top_n, unit_sum

__all__ = ["VECTORS", "VectorServingModel", "cosine", "dot", "fold_in", "queries", "top_n", "unit_sum", "unknown_item",
           "unknown_user"]

VECTORS: Capability[VectorServingModel] = Capability(VectorServingModel, "vector model (ALS, two-tower or hybrid)")


def unknown_user(model: VectorServingModel, user: str) -> OryxError:
    """The error for a user without a vector: 503 while the model names the user but its vector is still on its way
    (a model is ready at oryx.serving.min-model-load-fraction, before every UP arrived), else 404."""
    return _missing(model, "user", user, user in model.expected_users)


def unknown_item(model: VectorServingModel, item: str) -> OryxError:
    """The error for an item without a vector: 503 while its vector is still on its way, else 404."""
    return _missing(model, "item", item, item in model.expected_items)


def _missing(model: VectorServingModel, kind: str, id_: str, expected: bool) -> OryxError:
    if expected:
        return ModelNotReady(f"{kind} '{id_}' is in the model but its vector has not arrived yet "
                             f"({model.fraction_loaded():.0%} of the model loaded); retry shortly")
    return NotFound(f"unknown {kind} '{id_}'")
