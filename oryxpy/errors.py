"""The one error hierarchy of oryxpy; every error a user can see is an OryxError."""

from __future__ import annotations


class OryxError(Exception):
    """Root of every error raised on purpose by oryxpy."""

    http_status = 500


class ConfigError(OryxError):
    """A configuration key is unknown, has the wrong type or is out of range."""


class InvalidInput(OryxError, ValueError):
    """A record, message, request or file could not be understood."""

    http_status = 400


class NotFound(OryxError, KeyError):
    """A user, item or file that was asked for does not exist."""

    http_status = 404

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message
        return str(self.args[0]) if self.args else ""


class ModelNotReady(OryxError):
    """No model is loaded yet, or not enough of it to answer."""

    http_status = 503


class ReadOnly(OryxError):
    """A write was attempted on a read-only serving layer."""

    http_status = 403


class ServiceUnavailable(OryxError):
    """An external service (Kafka broker, HDFS) could not be reached."""

    http_status = 503


class StorageError(OryxError):
    """A storage operation on data-dir or model-dir failed."""


class ModelFitError(OryxError):
    """A model could not be built from the data given."""


class SingularMatrix(OryxError, ArithmeticError):
    """A k x k matrix is too close to singular to solve with."""
