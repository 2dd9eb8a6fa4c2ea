"""0.4.0/0.5.0 answer writes they cannot do with an empty HTTP 500 (irods_client_http_api
endpoints/data_objects/src/main.cpp at 0.5.0; 0.4.0's endpoints are byte-identical), and a
``parallel_write_init`` that cannot open its object crashes them (#402). Per case:

- a plain write: the open failed (:911-915, nothing written) or a write failed part-way (:405-411, 438-446:
  the bytes before it landed, the stream is closed by its destructor, so no lock stays). The same bytes at the
  same offset give the same object: resent, and the refusal named as on 0.7.0 when it stays.
- a write through a handle: the stream went bad and stays bad (its next write meets ``if (!*out_ptr)``,
  :911-915): resending cannot help, so it is final (the transfer engine then distrusts the last acks).
- parallel_write_init: an open failure crashes the process (the stream constructor frees its transport and
  throws, :117-120; irods 4.3.2 dstream.hpp:71-74, 192-194 use it): the client opens the object the same way
  with an empty write first and sends no init when that fails.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, parallel_upload
from irods_provider.exceptions import IrodsLockedError, IrodsResponseError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from read_counter import no_wait_retry

pytestmark = pytest.mark.timeout(60)
OLD = ["0.4.0", "0.5.0"]
HOME = "/tempZone/home/rods"


@pytest.mark.parametrize("version", OLD)
def test_a_plain_write_that_failed_part_way_is_resent(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    data = os.urandom(server.config.write_buffer_bytes * 3)  # three of the server's writes
    waits: list[float] = []

    def wait(seconds: float) -> None:  # the vault has room again by the next attempt
        waits.append(seconds)
        server.set_vault_free("demoResc", None)

    retry = RetryPolicy(sleep=wait, initial_backoff=0.0, max_attempts=3)
    server.set_vault_free("demoResc", 100)
    try:
        with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry) as session:
            session.data_objects.write(f"{HOME}/cut.bin", data)
            assert session.data_objects.read(f"{HOME}/cut.bin", count=len(data)) == data
    finally:
        server.set_vault_free("demoResc", None)
    assert len(waits) == 1


@pytest.mark.parametrize("version", OLD)
def test_a_write_through_a_bad_stream_is_final(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    waits: list[float] = []
    retry = RetryPolicy(sleep=waits.append, initial_backoff=0.0, max_attempts=4)
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry) as session:
        handle = session.data_objects.parallel_write_init(f"{HOME}/bad.bin", stream_count=1)
        server.set_vault_free("demoResc", 10)
        try:
            session.data_objects.write(None, b"a" * 100, parallel_write_handle=handle, stream_index=0)
            with pytest.raises(IrodsResponseError) as refused:
                session.data_objects.write(
                    None, b"b", offset=100, parallel_write_handle=handle, stream_index=0
                )
        finally:
            server.set_vault_free("demoResc", None)
            session.data_objects.parallel_write_shutdown(handle)
    assert (refused.value.irods_name, refused.value.sent_status) == ("INVALID_HANDLE", None)
    assert waits == []


@pytest.mark.parametrize("version", OLD)
def test_an_init_that_cannot_open_is_refused_without_crashing_the_server(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    server.add_user("alice", "alice")
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice"), retry=no_wait_retry()) as alice:
        with pytest.raises(IrodsResponseError) as denied:
            alice.data_objects.parallel_write_init(f"{HOME}/denied.bin", stream_count=2)
        assert denied.value.irods_name == "INVALID_HANDLE"
        # #402 as reported: a second init of an object a handle holds open.
        own = "/tempZone/home/alice/open.bin"
        handle = alice.data_objects.parallel_write_init(own, stream_count=2)
        with pytest.raises(IrodsLockedError):
            alice.data_objects.parallel_write_init(own, stream_count=2)
        alice.data_objects.parallel_write_shutdown(handle)
    assert server.crashes == 0


@pytest.mark.parametrize("version", OLD)
def test_a_parallel_upload_nobody_may_write_leaves_the_server_up(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    server.add_user("alice", "alice")
    config = TransferConfig(streams=2, chunk_size=64 * 1024, small_file_threshold=64 * 1024)
    with (
        IrodsSession(server.base_url, auth=BasicAuth("alice", "alice"), retry=no_wait_retry()) as alice,
        pytest.raises(IrodsResponseError),
    ):
        parallel_upload(alice, io.BytesIO(os.urandom(300 * 1024)), f"{HOME}/up.bin", config=config)
    assert server.crashes == 0
