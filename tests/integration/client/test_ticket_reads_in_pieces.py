"""Reads through a ticket bigger than the server's read buffer: the client reads them in pieces.

Every release opens a read of more than ``max_number_of_bytes_per_read_operation`` bytes on a dedicated
connection without the request's ticket (data_objects/src/main.cpp:605-670 at 0.4.0/0.5.0, :804-909 at
0.7.0), and the shipped configuration sets that buffer to 8 KiB up to 0.6.0 (core/src/main.cpp:582 at
0.4.0). A caller who may read only through the ticket was refused with a bare HTTP 400 (500 before 0.6.0).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession
from irods_provider.exceptions import IrodsBadRequestError, IrodsNotFoundError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from read_counter import ReadCounter, no_wait_retry

PATH = "/tempZone/home/alice/shared [1] é.bin"
DATA = os.urandom(100_003)


def _shared(server, buffer: int) -> str:
    """alice's object, a read ticket on it, and the server's read buffer set to ``buffer``; the ticket."""
    server.add_user("alice", "alice")
    server.add_user("bob", "bob")
    server.set_limits(read_buffer_bytes=buffer)
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice")) as alice:
        alice.data_objects.write(PATH, DATA)
        return alice.tickets.create(PATH)


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0", "0.6.0", "0.7.0"])
def test_sync_reads_through_a_ticket_over_the_read_buffer(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    ticket = _shared(server, 8192)
    transport = ReadCounter()
    with IrodsSession(
        server.base_url, auth=BasicAuth("bob", "bob"), retry=no_wait_retry(), transport=transport
    ) as bob:
        assert bob.data_objects.read(PATH, ticket=ticket) == DATA
        # Whole: refused; 8 KiB served; 16 KiB refused; then twelve 8 KiB pieces. Before 0.6.0 each refusal
        # is an empty 500, which may also be a passing failure: it is retried first (four attempts).
        refusal = 4 if version in ("0.4.0", "0.5.0") else 1
        assert transport.reads == refusal + 1 + refusal + 12
        assert bob.data_objects.read(PATH, ticket=ticket, offset=10, count=50_000) == DATA[10:50_010]
        buffer = bytearray(60_000)
        assert bob.data_objects.read_into(PATH, buffer, offset=40_003, ticket=ticket) == 60_000
        assert bytes(buffer) == DATA[40_003:]
        chunks = list(bob.data_objects.iter_read(PATH, ticket=ticket, chunk_size=5000))
        assert max(map(len, chunks)) == 5000
        assert b"".join(chunks) == DATA


def test_pieces_grow_to_the_servers_read_buffer(irods_emulator_at) -> None:
    server = irods_emulator_at("0.7.0")
    ticket = _shared(server, 32768)
    transport = ReadCounter()
    with IrodsSession(
        server.base_url, auth=BasicAuth("bob", "bob"), retry=no_wait_retry(), transport=transport
    ) as bob:
        assert bob.data_objects.read(PATH, ticket=ticket) == DATA
    # Refused whole; 8, 16 and 32 KiB served (57344 bytes); 64 KiB refused; 32 KiB, then the last 9891.
    assert transport.reads == 1 + 3 + 1 + 2


async def test_async_reads_through_a_ticket_over_the_read_buffer(irods_emulator_at) -> None:
    server = irods_emulator_at("0.4.0")
    ticket = _shared(server, 8192)
    async with AsyncIrodsSession(server.base_url, auth=BasicAuth("bob", "bob")) as bob:
        assert await bob.data_objects.read(PATH, ticket=ticket) == DATA
        pieces = [chunk async for chunk in bob.data_objects.iter_read(PATH, ticket=ticket, count=20_000)]
        assert b"".join(pieces) == DATA[:20_000]


@pytest.mark.parametrize("version", ["0.4.0", "0.7.0"])
def test_a_read_the_server_refuses_even_in_small_pieces_still_fails(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    ticket = _shared(server, 4096)  # below the smallest shipped buffer: even 8 KiB pieces lose the ticket
    with IrodsSession(server.base_url, auth=BasicAuth("bob", "bob"), retry=no_wait_retry()) as bob:
        with pytest.raises(IrodsBadRequestError) as refused:
            bob.data_objects.read(PATH, ticket=ticket)
        assert refused.value.http_status == 400
        assert bob.data_objects.read(PATH, ticket=ticket, count=4096) == DATA[:4096]
        with pytest.raises(IrodsNotFoundError):  # without the ticket bob may not read it at all
            bob.data_objects.read(PATH)
