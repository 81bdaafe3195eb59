"""What the REST hostile tests share: a client on the real app (a small model loaded) and input-topic read-back."""

from __future__ import annotations

import gzip
import io
import zipfile

from oryxpy.config import Config
from tests.serving.io_support import read_input, values


def sent(config: Config, expect: int = 0, timeout_s: float = 3.0) -> list[str]:
    """Every record value on the input topic (waiting for ``expect``, then briefly for more)."""
    return values(read_input(config, expect, timeout_s=timeout_s, settle_s=0.2))


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def multipart(parts: list[tuple[str, str, bytes]], boundary: str = "b0undary") -> tuple[bytes, str]:
    """A multipart/form-data body of (name, content type, data) parts, and its Content-Type."""
    body = b""
    for name, ctype, data in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n"
                 f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
