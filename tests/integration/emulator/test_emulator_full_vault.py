"""A storage resource whose vault fills up mid-write, as the HTTP API 0.7.0 shows it: the unixfilesystem
plugin's write fails with ``UNIX_FILE_WRITE_ERR - errno`` (irods 4.3.4
plugins/resources/unixfilesystem/src/unixfilesystem.cpp:768-777), the library's output stream goes bad, and
the write loop (irods_client_http_api 0.7.0 endpoints/data_objects/src/main.cpp:447-493) checks the stream
only before each of a request's writes: a request whose last write failed is answered with success, one
with bytes left with a bare 500; a later write on that stream is refused before anything is written
(main.cpp:1196-1211) with INVALID_HANDLE, or the library's code on a server built to expose it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/rods"
ENOSPC = 28
UNIX_FILE_WRITE_ERR = -513000  # rodsErrorTable.h:338 at irods 4.3.4
INVALID_HANDLE = -175000
BAD_STATE = "Output stream to data object is in a bad state."


@pytest.fixture
def vault(irods_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    yield irods_emulator
    irods_emulator.set_vault_free("demoResc", None)


def _pwrite(api: Api, handle: str, data: bytes, *, index: int, offset: int) -> httpx2.Response:
    return api.post_multipart(
        "data-objects",
        op="write",
        bytes=data,
        offset=offset,
        **{"parallel-write-handle": handle, "stream-index": index},
    )


def _init(api: Api, path: str, streams: int) -> str:
    reply = api.post("data-objects", op="parallel_write_init", lpath=path, **{"stream-count": streams})
    assert code(reply) == 0, reply.text
    handle: str = reply.json()["parallel_write_handle"]
    return handle


@pytest.mark.parametrize(
    ("exposed", "refusal"), [(False, INVALID_HANDLE), (True, UNIX_FILE_WRITE_ERR - ENOSPC)]
)
def test_a_failed_last_write_is_acknowledged_and_its_stream_stays_bad(
    api: Api, vault: EmulatorServer, exposed: bool, refusal: int
) -> None:
    vault.set_limits(dstream_exposes_irods_error_codes=exposed)
    path = f"{HOME}/full-{int(exposed)}"
    handle = _init(api, path, 2)
    vault.set_vault_free("demoResc", 100)
    first = _pwrite(api, handle, b"a" * 300, index=0, offset=0)
    assert (first.status_code, code(first)) == (200, 0)  # the failure is not told (main.cpp:476-485)
    again = _pwrite(api, handle, b"b" * 10, index=0, offset=300)
    assert (again.status_code, code(again)) == (200, refusal)
    assert (
        again.json()["irods_response"]["status_message"] == "Output stream to data object is in a bad state."
    )
    vault.set_vault_free("demoResc", None)
    other = _pwrite(api, handle, b"c" * 10, index=1, offset=400)  # another stream is not bad
    assert (other.status_code, code(other)) == (200, 0)
    shutdown = api.post("data-objects", op="parallel_write_shutdown", **{"parallel-write-handle": handle})
    assert code(shutdown) == 0
    assert api.read(path).content == b"a" * 100 + b"\0" * 300 + b"c" * 10  # what the vault took


def test_a_write_with_bytes_left_after_the_failure_is_a_bare_500(api: Api, vault: EmulatorServer) -> None:
    handle = _init(api, f"{HOME}/full-500", 1)
    vault.set_vault_free("demoResc", 10)
    big = b"x" * (vault.config.write_buffer_bytes + 10)  # two of the server's writes
    reply = _pwrite(api, handle, big, index=0, offset=0)
    assert (reply.status_code, reply.content) == (500, b"")
    assert code(_pwrite(api, handle, b"y", index=0, offset=0)) == INVALID_HANDLE
    api.post("data-objects", op="parallel_write_shutdown", **{"parallel-write-handle": handle})


def test_a_plain_write_into_a_full_vault_keeps_what_fit_and_answers_success(
    api: Api, vault: EmulatorServer
) -> None:
    """The single-request write closes its stream all the same: the replica holds the vault's bytes."""
    path = f"{HOME}/full-plain"
    vault.set_vault_free("demoResc", 4)
    assert code(api.write(path, b"0123456789")) == 0
    assert api.read(path).content == b"0123"
