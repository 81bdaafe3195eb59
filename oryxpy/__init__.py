"""oryxpy: a Lambda-architecture recommender (batch, speed and serving layers) after Oryx 2."""

__version__ = "0.1.0"
