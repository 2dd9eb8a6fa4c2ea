"""How request bodies reach the transport: a small form body in one piece (one send), a large one streamed.

A multipart form is a stream of about four pieces per field, each sent on its own (one syscall, one TLS
record, one TCP segment with TCP_NODELAY); the session joins bodies up to ``JOIN_BODY_BYTES`` so a small
file's write, checksum and rename each go out in one write. The transports below record the pieces the
session hands them and forward the request to the emulator over a real socket.
"""

from __future__ import annotations

import base64
import hashlib

import httpx2

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession
from irods_provider.client._async._session import JOIN_BODY_BYTES
from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"


def _pieces(request: httpx2.Request) -> list[bytes]:
    """The body's pieces as the session handed them over; the request then carries the same bytes."""
    pieces = list(request.stream)  # type: ignore[arg-type]
    request.stream = httpx2.ByteStream(b"".join(pieces))
    return pieces


class Pieces(httpx2.HTTPTransport):
    """Records (op field, number of body pieces, body length) of every POST."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[str, int, int]] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and not request.url.path.endswith("/authenticate"):
            pieces = _pieces(request)
            body = b"".join(pieces)
            form = body.split(b'name="op"\r\n\r\n', 1)
            op = (
                form[1].split(b"\r\n", 1)[0].decode()
                if len(form) == 2
                else request.headers["irods-api-request-op"]
            )
            self.posts.append((op, len(pieces), len(body)))
        return super().handle_request(request)


class AsyncPieces(httpx2.AsyncHTTPTransport):
    """The async twin of :class:`Pieces` (counts pieces only)."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and not request.url.path.endswith("/authenticate"):
            pieces = [piece async for piece in request.stream]  # type: ignore[union-attr]
            request.stream = httpx2.ByteStream(b"".join(pieces))
            self.pieces.append(len(pieces))
        return await super().handle_async_request(request)


def test_small_form_bodies_reach_the_transport_in_one_piece(irods_emulator: EmulatorServer) -> None:
    transport = Pieces()
    data = bytes(range(256)) * 16  # 4 KiB, every byte value (multipart must carry them untouched)
    with IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), transport=transport
    ) as s:
        s.data_objects.write(f"{HOME}/joined.bin", data)
        s.data_objects.rename(f"{HOME}/joined.bin", f"{HOME}/joined-1.bin")
        checksum = s.data_objects.calculate_checksum(f"{HOME}/joined-1.bin")
        assert s.data_objects.read(f"{HOME}/joined-1.bin") == data
    # the write goes in the header form (its body is the raw bytes), the others as multipart forms
    assert [(op, n) for op, n, _ in transport.posts] == [
        ("write", 1),
        ("rename", 1),
        ("calculate_checksum", 1),
    ]
    assert checksum == "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_body_over_the_join_limit_streams_its_pieces(irods_emulator: EmulatorServer) -> None:
    transport = Pieces()
    data = b"\x00\xff" * (JOIN_BODY_BYTES // 2 + 1)  # just over the limit: left as the form's pieces
    path = f"{HOME}/str\u00f6m.bin"  # not ASCII: the write goes as a multipart form, not in the header form
    with IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), transport=transport
    ) as s:
        s.data_objects.write(path, data)
        assert s.data_objects.read(path) == data
    (op, pieces, length), *_ = transport.posts
    assert op == "write"
    assert length > JOIN_BODY_BYTES
    assert pieces > 4  # part header, value and CRLF per field: the value went out as its own piece


async def test_async_session_joins_small_bodies_too(irods_emulator: EmulatorServer) -> None:
    transport = AsyncPieces()
    async with AsyncIrodsSession(
        irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), transport=transport
    ) as s:
        await s.data_objects.write(f"{HOME}/async-joined.bin", b"abc+def")
        await s.data_objects.calculate_checksum(f"{HOME}/async-joined.bin")
        assert await s.data_objects.read(f"{HOME}/async-joined.bin") == b"abc+def"
    assert transport.pieces == [1, 1]
