"""The old home of the vector serving model, kept so that imports naming ``serving.als.model`` still work."""

from serving.vectors.model import VectorServingModel

ALSServingModel = VectorServingModel

__all__ = ["ALSServingModel", "VectorServingModel"]
