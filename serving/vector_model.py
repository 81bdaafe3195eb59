"""The model the dot-product endpoints need: ALSServingModel, which ALS, the two-tower and the hybrid models all load.

Its own module, so that the generic request code (serving.params, serving.models) imports no model.
"""

from oryxpy.errors import ModelNotReady, NotFound, OryxError
from serving.als.model import ALSServingModel
from serving.models import Capability

VECTORS: Capability[ALSServingModel] = Capability(ALSServingModel, "vector model (ALS, two-tower or hybrid)")


def unknown_user(model: ALSServingModel, user: str) -> OryxError:
    """The error for a user without a vector: 503 while the model names the user but its vector is still on its way
    (a model is ready at oryx.serving.min-model-load-fraction, before every UP arrived), else 404."""
    return _missing(model, "user", user, user in model.expected_users)


def unknown_item(model: ALSServingModel, item: str) -> OryxError:
    """The error for an item without a vector: 503 while its vector is still on its way, else 404."""
    return _missing(model, "item", item, item in model.expected_items)


def _missing(model: ALSServingModel, kind: str, id_: str, expected: bool) -> OryxError:
    if expected:
        return ModelNotReady(f"{kind} '{id_}' is in the model but its vector has not arrived yet "
                             f"({model.fraction_loaded():.0%} of the model loaded); retry shortly")
    return NotFound(f"unknown {kind} '{id_}'")
