"""One poll's input records, handed to the model manager as their values, able to report a bad record by its offset."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import overload

from oryxpy.topics import Record


def where(record: Record) -> str:
    """``topic[partition]@offset`` of a record, for logs."""
    return f"{record.topic}[{record.partition}]@{record.offset}"


class InputBatch(Sequence[str]):
    """The values of ``records``; ``reject(index, error)`` reports a record the manager could not use."""

    def __init__(self, records: Sequence[Record], on_reject: Callable[[Record, Exception], None]):
        self.records = records
        self._values = [r.value for r in records]
        self._on_reject = on_reject

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def reject(self, index: int, error: Exception) -> None:
        """Report that record ``index`` is bad (it is skipped, logged with its offset and counted)."""
        self._on_reject(self.records[index], error)


def rejecter(new_data: Sequence[str], log: logging.Logger) -> Callable[[int, Exception], None]:
    """How a model manager reports bad record ``index`` of ``new_data``: the batch's own ``reject`` for an
    InputBatch (offset logged, counted), else a warning on ``log`` (values handed over directly, as in tests)."""
    if isinstance(new_data, InputBatch):
        return new_data.reject

    def log_reject(index: int, error: Exception) -> None:
        log.warning("Skipping bad input record #%d of the batch: %s", index, error)

    return log_reject
