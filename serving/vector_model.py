"""The model the dot-product endpoints need: ALSServingModel, which ALS, the two-tower and the hybrid models all load.

Its own module, so that the generic request code (serving.params, serving.models) imports no model.
"""

from serving.als.model import ALSServingModel
from serving.models import Capability

VECTORS: Capability[ALSServingModel] = Capability(ALSServingModel, "vector model (ALS, two-tower or hybrid)")
