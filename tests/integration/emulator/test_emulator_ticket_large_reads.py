"""A read bigger than the server's read buffer loses the caller's ticket, in every release.

``op_read`` enables the ticket on the pooled connection only (data_objects/src/main.cpp:512-523 at
0.4.0/0.5.0, :711-722 at 0.7.0); a read of more than ``max_number_of_bytes_per_read_operation`` bytes opens
the object on a dedicated connection without it (:605-670 at 0.4.0/0.5.0, :804-909 at 0.7.0), so a caller who
may read the object only through the ticket gets the open failure: 500 empty before 0.6.0, 400 empty after.
The shipped configuration template sets that buffer to 8192 bytes up to 0.6.0 (core/src/main.cpp:582 at
0.4.0, :564 at 0.5.0, :559 at 0.6.0) and 1 MiB in 0.7.0 (:573).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

BUFFER = 8192
OPEN_FAILURE = {"0.4.0": 500, "0.5.0": 500, "0.6.0": 400, "0.7.0": 400}


@pytest.fixture
def api_at(irods_emulator_at: Callable[[str], EmulatorServer]) -> Iterator[Callable[[str], Api]]:
    with httpx2.Client(timeout=10) as http:

        def make(version: str) -> Api:
            server = irods_emulator_at(version)
            server.add_user("alice", "alice")
            server.add_user("bob", "bob")
            server.set_limits(read_buffer_bytes=BUFFER)
            return Api(server, http)

        yield make


@pytest.mark.parametrize("version", sorted(OPEN_FAILURE))
def test_a_ticket_read_over_the_read_buffer_fails_to_open(api_at: Callable[[str], Api], version: str) -> None:
    api = api_at(version)
    path = f"/{ZONE}/home/alice/shared.bin"
    data = bytes(range(256)) * 64  # 16 KiB: two read buffers
    assert code(api.post_multipart("data-objects", "alice", op="write", lpath=path, bytes=data)) == 0
    created = api.post("tickets", "alice", op="create", lpath=path, type="read")
    ticket = created.json()["ticket"]

    small = api.read(path, "bob", ticket=ticket, count=BUFFER)
    assert (small.status_code, small.content) == (200, data[:BUFFER])
    tail = api.read(path, "bob", ticket=ticket, offset=BUFFER)  # the rest, exactly one buffer
    assert (tail.status_code, tail.content) == (200, data[BUFFER:])

    whole = api.read(path, "bob", ticket=ticket)
    assert (whole.status_code, whole.content) == (OPEN_FAILURE[version], b"")
    bigger = api.read(path, "bob", ticket=ticket, count=BUFFER + 1)
    assert (bigger.status_code, bigger.content) == (OPEN_FAILURE[version], b"")

    # The owner needs no ticket, so the dedicated connection opens the object for her.
    assert api.read(path, "alice", ticket=ticket).content == data
