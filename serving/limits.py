"""Connection limits of the REST API: request head size, header and body timeouts, keep-alive and concurrency.

uvicorn already bounds keep-alive idle time (``timeout_keep_alive``) and concurrency (``limit_concurrency``: beyond
it a request is answered 503), but its fast parser (httptools) accepts a request line and headers of any size and
waits forever for a slow head or body. :class:`GuardedHttpToolsProtocol` adds those limits to uvicorn's own protocol class.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from oryxpy.config import Config


def server_limits(config: Config) -> dict[str, Any]:
    """uvicorn.Config keyword arguments for every connection limit of oryx.serving.api.* (one place, see module doc).

    The head and body limits are set on :class:`GuardedHttpToolsProtocol` for this process (a class uvicorn can
    import by name, so a config holding it can be pickled for worker processes, which call this function too).
    """
    GuardedHttpToolsProtocol.max_head_bytes = int(config.settings.serving.api.max_header_bytes)
    GuardedHttpToolsProtocol.header_timeout_s = int(config.settings.serving.api.header_timeout_ms) / 1000.0
    GuardedHttpToolsProtocol.body_timeout_s = int(config.settings.serving.api.body_timeout_ms) / 1000.0
    return {
        "http": GuardedHttpToolsProtocol,
        "timeout_keep_alive": max(1, round(int(config.settings.serving.api.keep_alive_timeout_ms) / 1000.0)),
        "limit_concurrency": int(config.settings.serving.api.max_connections),
    }


def _reply_and_close(transport: asyncio.BaseTransport, status: bytes, message: str) -> None:
    body = message.encode("ascii")
    head = (b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n\r\n")
    if not transport.is_closing():
        transport.write(head + body)  # type: ignore[attr-defined]
        transport.close()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head over ``max_head_bytes`` (431), closing a connection
    whose request head is not complete ``header_timeout_s`` after it began (408), and one whose body is not
    complete ``body_timeout_s`` after its head (408)."""

    max_head_bytes = 65536
    header_timeout_s = 10.0
    body_timeout_s = 60.0
    _head_bytes = 0
    _refused = False
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, status: bytes, message: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire, status, message)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, status: bytes, message: str) -> None:
        self._deadline = None
        self._refused = True
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            self.transport.close()
        else:
            _reply_and_close(self.transport, status, message)

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self.max_head_bytes and not self._refused:
            self._refused = True
            self._disarm()
            _reply_and_close(self.transport, b"431 Request Header Fields Too Large",
                             f"request line and headers exceed {self.max_head_bytes} bytes (oryx.serving.api.max-header-bytes)")
            raise ConnectionAbortedError("request head too large")  # stops the parser on this connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout_s, b"408 Request Timeout", "request head not received in time "
                  "(oryx.serving.api.header-timeout-ms)")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # the parser error that follows our own refusal needs no second answer
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._arm(self.header_timeout_s, b"408 Request Timeout", "request head not received in time "
                  "(oryx.serving.api.header-timeout-ms)")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout_s, b"408 Request Timeout", "request body not received in time "
                  "(oryx.serving.api.body-timeout-ms)")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

