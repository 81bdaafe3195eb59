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


class BadRecord(InvalidInput):
    """An input record breaks one of the rules of oryxpy.validation; ``kind`` names which (for counting)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RequestTooLarge(InvalidInput):
    """A request body, what it decompresses to, or its number of records exceeds a configured limit (HTTP 413)."""

    http_status = 413


class PartiallySent(OryxError):
    """Sending a request's records failed after some of them were acknowledged; the message says how many."""

    http_status = 503


class NotFound(OryxError, KeyError):
    """A user, item or file that was asked for does not exist."""

    http_status = 404

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message
        return str(self.args[0]) if self.args else ""


class ModelNotReady(OryxError):
    """No model is loaded yet, or not enough of it to answer."""

    http_status = 503


class UnsupportedQuery(OryxError):
    """The configured model cannot answer this kind of query (for example /similarity of a model without vectors)."""

    http_status = 501


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
