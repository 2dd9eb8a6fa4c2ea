"""0.4.0/0.5.0 answer a read they cannot serve with an empty HTTP 500, for a replica that cannot be opened
(data_objects/src/main.cpp:669-672, 713-717 at 0.4.0/0.5.0; 0.6.0 answers 400) and for passing failures
alike: an iRODS connection that cannot be had or breaks (the handler's ``catch (const std::exception&)``,
:740-752), which 0.7.0 answers with the same empty 500. The client tells the first as 0.6.0's 400; the
passing ones must still be retried as the 500 they are, as on 0.7.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from irods_provider.client import AsyncIrodsSession, BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsBadRequestError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from read_counter import ReadCounter, no_wait_retry

HOME = "/tempZone/home/rods"


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0", "0.7.0"])
def test_reads_retry_through_empty_500s_on_every_release(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    transport = ReadCounter()
    with IrodsSession(
        server.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=no_wait_retry(max_attempts=10),
        transport=transport,
    ) as session:
        session.data_objects.write(f"{HOME}/r", b"payload")
        server.set_faults(error_500=0.4, seed=7)
        for _ in range(10):
            assert session.data_objects.read(f"{HOME}/r") == b"payload"
            assert b"".join(session.data_objects.iter_read(f"{HOME}/r")) == b"payload"
        assert server.injected_faults().get("error_500", 0) >= 2
        server.set_faults(error_500=0.0)
    assert transport.reads > 21  # the injected 500s were retried


async def test_async_reads_retry_through_empty_500s_on_0_4_0(irods_emulator_at) -> None:
    server = irods_emulator_at("0.4.0")

    async def no_sleep(seconds: float) -> None:
        return None

    retry = RetryPolicy(asleep=no_sleep, initial_backoff=0.0, max_attempts=8)
    async with AsyncIrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry) as s:
        await s.data_objects.write(f"{HOME}/a", b"async payload")
        server.set_faults(error_500=0.4, seed=11)
        for _ in range(10):
            assert await s.data_objects.read(f"{HOME}/a") == b"async payload"
        assert server.injected_faults().get("error_500", 0) >= 2
        server.set_faults(error_500=0.0)


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0"])
def test_a_read_that_keeps_failing_is_still_told_as_0_6_0s_400(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    server.add_user("alice", "alice")
    server.add_user("bob", "bob")
    server.set_limits(read_buffer_bytes=4096)  # a ticket read over it cannot be opened: 500 every time
    path = "/tempZone/home/alice/s.bin"
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice")) as alice:
        alice.data_objects.write(path, b"x" * 10_000)
        ticket = alice.tickets.create(path)
    transport = ReadCounter()
    with (
        IrodsSession(
            server.base_url, auth=BasicAuth("bob", "bob"), retry=no_wait_retry(), transport=transport
        ) as bob,
        pytest.raises(IrodsBadRequestError) as refused,
    ):
        bob.data_objects.read(path, ticket=ticket, count=9000)
    assert (refused.value.http_status, refused.value.sent_status) == (400, 500)
    # Retried as a 500 (four attempts), then each 8 KiB piece retried the same way: 4 + 4 reads.
    assert transport.reads == 8
