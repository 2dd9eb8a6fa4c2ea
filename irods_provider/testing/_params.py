"""Request parameter parsing with the real server's quirks (urlencoded) and streaming multipart."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, parse_options_header

SPOOL_IN_MEMORY = 1024 * 1024


class BodyTooLarge(Exception):
    """A (chunked) body grew past the configured limit while being read."""


def parse_urlencoded(raw: bytes) -> dict[str, bytes]:
    """Parse like the server: split on ``&`` then ``=``; pairs with more than one ``=`` are dropped.

    Keys are taken verbatim (not percent-decoded); values are percent-decoded and THEN every ``+``
    becomes a space; a bare key gets ``b""``; the last duplicate wins.
    """
    out: dict[str, bytes] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        parts = pair.split(b"=")
        if len(parts) > 2:
            continue
        key = parts[0].decode("latin-1")
        value = unquote_to_bytes(parts[1]) if len(parts) == 2 else b""
        out[key] = value.replace(b"+", b" ")
    return out


class MultipartCollector:
    """Feeds a multipart body to python-multipart; the ``bytes`` part is spooled (disk when large)."""

    def __init__(self, boundary: bytes) -> None:
        self.fields: dict[str, bytes] = {}
        self.file: IO[bytes] | None = None
        self._name = ""
        self._buf = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._sink: IO[bytes] | None = None
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }
        self._parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self._headers = {}
        self._buf = bytearray()
        self._sink = None

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field = bytearray()
        self._header_value = bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "bytes":
            self._sink = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._sink is not None:
            self._sink.write(data[start:end])
        else:
            self._buf.extend(data[start:end])

    def _part_end(self) -> None:
        if self._sink is not None:
            if self.file is not None:
                self.file.close()
            self._sink.seek(0)
            self.file = self._sink
            self._sink = None
        else:
            self.fields[self._name] = bytes(self._buf)

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        self._parser.write(chunk)

    def finish(self) -> None:
        """Signal the end of the body."""
        self._parser.finalize()

    def close(self) -> None:
        """Drop the spooled ``bytes`` part, whole or still being received (a body that never ended)."""
        for spooled in (self._sink, self.file):
            if spooled is not None:
                spooled.close()
        self._sink = self.file = None


async def read_limited(stream: AsyncIterator[bytes], limit: int) -> bytes:
    """Read a whole body, raising BodyTooLarge past ``limit`` bytes."""
    buf = io.BytesIO()
    async for chunk in stream:
        buf.write(chunk)
        if buf.tell() > limit:
            raise BodyTooLarge()
    return buf.getvalue()


def multipart_boundary(content_type: str) -> bytes | None:
    """The ``boundary`` parameter of a multipart Content-Type (None when absent)."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    return boundary or None


_STOI_PREFIX = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def to_int(value: str | None, *, bits: int = 64) -> int | None:
    """Parse an integer parameter as ``std::stoll`` (``bits=64``) or ``std::stoi`` (``bits=32``) does.

    Leading C whitespace and a sign are accepted and anything after the digits is ignored (``"12abc"``
    is 12); no digits, or a value outside the type's range (``std::out_of_range``), gives None.
    """
    if value is None:
        return None
    match = _STOI_PREFIX.match(value.encode("utf-8", "surrogateescape"))
    if match is None:
        return None
    number = int(match.group(1))
    limit = 1 << (bits - 1)
    return number if -limit <= number < limit else None
