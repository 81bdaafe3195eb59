"""Request bodies for the write endpoints: bounded reading, gzip/deflate/zip decoding and multipart parts.

One :class:`Budget` per request bounds everything that decompression produces, over all stages together
(Content-Encoding, then gzip or zip parts inside multipart): a bomb nested in several layers gets no more room than a
flat one. The raw body is bounded by the same limit separately, as it is read.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from oryxpy.errors import InvalidInput, RequestTooLarge

CHUNK = 1 << 16
MAX_PARTS = 1000  # multipart parts per request
MAX_ZIP_ENTRIES = 10000  # entries per zip archive (each costs memory before any is read)
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip"})
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class BodyTooLarge(RequestTooLarge):
    """The request body, or what it decompresses to, exceeds oryx.serving.api.max-body-bytes (HTTP 413)."""


@dataclass
class Budget:
    """How many bytes all decompression stages of one request together may still produce."""

    limit: int
    used: int = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise BodyTooLarge(f"request body decompresses to more than {self.limit} bytes in all "
                               "(oryx.serving.api.max-body-bytes); send larger inputs with oryxpy kafka-input")


@dataclass
class Text:
    """One decoded piece of input: where it came from (for error messages) and its text."""

    source: str
    text: str


async def read_raw(request: Request, limit: int) -> bytes:
    """The raw body, refused (BodyTooLarge) as soon as it is known to be larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes is larger than {limit} bytes (oryx.serving.api.max-body-bytes); "
                           "send larger inputs with oryxpy kafka-input")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise BodyTooLarge(f"request body is larger than {limit} bytes (oryx.serving.api.max-body-bytes); "
                               "send larger inputs with oryxpy kafka-input")
    return bytes(raw)


def inflate(data: bytes, wbits: int, budget: Budget, what: str) -> bytes:
    """Decompress gzip (``wbits`` 31, members may be concatenated) or zlib/raw deflate, within the budget."""
    out = bytearray()
    pending = data
    while pending:
        inflater = zlib.decompressobj(wbits)
        try:
            while not inflater.eof:
                piece = inflater.decompress(pending, CHUNK)
                budget.take(len(piece))
                out += piece
                pending = inflater.unconsumed_tail
                if not piece and not pending:  # input used up and nothing more comes out
                    break
        except zlib.error as exc:
            raise InvalidInput(f"{what} is not valid {_format_name(wbits)} data ({exc})") from None
        if not inflater.eof:
            raise InvalidInput(f"{what} is truncated {_format_name(wbits)} data")
        pending = inflater.unused_data if wbits == 31 else b""
    return bytes(out)


def _format_name(wbits: int) -> str:
    return "gzip" if wbits == 31 else "deflate"


def decode_content_encoding(data: bytes, encoding: str, budget: Budget) -> bytes:
    """Undo the request's Content-Encoding (identity, gzip, x-gzip or deflate); others are refused."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):  # the raw body was bounded as it was read
        return data
    if encoding in ("gzip", "x-gzip"):
        return inflate(data, 31, budget, "request body")
    if encoding == "deflate":
        # HTTP deflate is zlib-wrapped, but some clients send raw deflate: accept both
        wbits = 15 if len(data) >= 2 and (data[0] << 8 | data[1]) % 31 == 0 and data[0] & 0x0F == 8 else -15
        return inflate(data, wbits, budget, "request body")
    raise InvalidInput(f"unsupported Content-Encoding {encoding!r} (use gzip or deflate)")


def unzip(data: bytes, budget: Budget, what: str) -> list[tuple[str, bytes]]:
    """Every file entry of a zip archive, decompressed within the budget."""
    entries = []
    if data.count(b"PK\x01\x02") > MAX_ZIP_ENTRIES:  # central directory headers, counted before zipfile reads them
        raise RequestTooLarge(f"{what} has more than {MAX_ZIP_ENTRIES} entries")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                content = bytearray()
                with archive.open(info) as fh:
                    while piece := fh.read(CHUNK):
                        budget.take(len(piece))
                        content += piece
                entries.append((info.filename, bytes(content)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{what} is not a readable zip archive ({exc})") from None
    return entries


def charset_of(content_type: str) -> str:
    """The charset parameter of a content type, UTF-8 when absent."""
    _, params = parse_options_header(content_type)
    return params.get(b"charset", b"utf-8").decode("latin-1")


def decode_text(data: bytes, charset: str, what: str) -> str:
    """Bytes to text in the given charset (a UTF-8 byte order mark is dropped)."""
    if charset.lower().replace("_", "-") in ("utf-8", "utf8"):
        charset = "utf-8-sig"
    try:
        return data.decode(charset)
    except LookupError:
        raise InvalidInput(f"{what}: unknown charset {charset!r}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} is not valid {charset} text (byte {exc.start})") from None


def iter_lines(text: str) -> Iterator[str]:
    """Lines as Java's readLine gives them: split on CR, LF or CRLF, no empty line after a final break."""
    start = 0
    for match in _LINE_BREAK.finditer(text):
        yield text[start:match.start()]
        start = match.end()
    if start < len(text):
        yield text[start:]


@dataclass
class Part:
    """One multipart part: its headers (lower-cased names) and content."""

    headers: dict[str, str] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "text/plain")

    @property
    def label(self) -> str:
        _, params = parse_options_header(self.headers.get("content-disposition", ""))
        name = params.get(b"filename") or params.get(b"name") or b"?"
        return name.decode("utf-8", "replace")


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """Split a multipart/form-data body into its parts."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("multipart/form-data without a boundary")
    parts: list[Part] = []
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise RequestTooLarge(f"multipart/form-data body has more than {MAX_PARTS} parts")
        parts.append(Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1].headers[header_name.decode("latin-1").strip().lower()] = header_value.decode("latin-1").strip()
        header_name.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data.extend(data[start:end])

    callbacks = {"on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
                 "on_header_end": on_header_end, "on_part_data": on_part_data}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except RequestTooLarge:
        raise
    except Exception as exc:  # python-multipart raises several error types for malformed bodies
        raise InvalidInput(f"malformed multipart/form-data body ({exc})") from None
    return parts


def part_texts(part: Part, number: int, budget: Budget) -> list[Text]:
    """The text pieces of one part: itself, its gunzipped content, or every entry of its zip archive."""
    what = f"part {number} ({part.label})"
    ctype = parse_options_header(part.content_type)[0].decode("latin-1").lower()
    data = bytes(part.data)
    if ctype in ("", "application/octet-stream"):  # browsers send unknown file types like this: sniff
        ctype = "application/gzip" if data[:2] == b"\x1f\x8b" else "application/zip" if data[:4] == b"PK\x03\x04" else ""
    if ctype in GZIP_TYPES:
        return [Text(what, decode_text(inflate(data, 31, budget, what), "utf-8", what))]
    if ctype in ZIP_TYPES:
        return [Text(f"{what} entry {name}", decode_text(content, "utf-8", f"{what} entry {name}"))
                for name, content in unzip(data, budget, what)]
    return [Text(what, decode_text(data, charset_of(part.content_type), what))]  # no decompression: within the body
