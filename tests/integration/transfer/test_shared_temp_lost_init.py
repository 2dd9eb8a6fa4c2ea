"""Two atomic writers of one path that both chose the shared temporary before either created it.

The first to open it holds it; the server refuses the other's ``parallel_write_init`` (INVALID_HANDLE on
default builds, HIERARCHY_ERROR with the library's codes: upstream 0.7.0 test_irods_http_api.py:3261-3296)
and the catalog shows the temporary's replica being written (intermediate: irods 4.3.4
rsDataObjOpen.cpp:249). That writer has sent no byte yet, so it goes on, once, through a fresh name: both
publish whole objects. A refusal the replicas do not explain (no write holds the name) is raised as the
server gave it, without a second name.
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, open_writer
from irods_provider.exceptions import IrodsBadRequestError, IrodsResponseError, IrodsTemporaryTakenOverError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
SIZE = 3 * CHUNK + 17  # several chunks over two streams: a parallel-write handle

pytestmark = pytest.mark.timeout(60)


def _sources() -> tuple[bytes, bytes]:
    rng = random.Random(19)
    return rng.randbytes(SIZE), rng.randbytes(SIZE + 1)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _config() -> TransferConfig:
    return TransferConfig(streams=2, chunk_size=CHUNK)


def _others(session: Any, collection: str, final: str) -> list[str]:
    return [p for p in session.collections.list(collection) if p != final]


def test_the_writer_whose_init_is_refused_goes_on_through_a_fresh_name(irods_emulator, session) -> None:
    coll = f"{HOME}/lost_init"
    path = f"{coll}/x.bin"
    session.collections.create(coll, intermediates=True)
    a_bytes, b_bytes = _sources()
    a = open_writer(session, path, config=_config(), size=len(a_bytes))
    b = open_writer(session, path, config=_config(), size=len(b_bytes))
    shared = a.path
    assert b.path == shared, "both should have chosen the shared temporary (neither had created it)"
    a.write(a_bytes[: 2 * CHUNK])  # A's init: its handle holds the shared temporary
    assert [r.status for r in session.data_objects.replicas(shared)] == ["2"]  # intermediate
    b.write(b_bytes)  # B's init of the same name is refused; the old code raised INVALID_HANDLE here
    assert b.path != shared
    assert a.path == shared
    b.close()
    assert _sha(session.data_objects.read(path)) == _sha(b_bytes)
    a.write(a_bytes[2 * CHUNK :])
    a.close()
    assert _sha(session.data_objects.read(path)) == _sha(a_bytes)  # the later rename stays
    assert _others(session, coll, path) == []
    assert irods_emulator.open_parallel_write_handles() == 0


def test_a_refusal_no_write_explains_is_raised_without_a_fresh_name(irods_emulator, session) -> None:
    """The shared name is a collection: the init is refused, no replica is being written, so nothing is
    tried under another name and the server's answer is raised."""
    coll = f"{HOME}/lost_init_other"
    path = f"{coll}/y.bin"
    session.collections.create(coll, intermediates=True)
    data, _ = _sources()
    writer = open_writer(session, path, config=_config(), size=len(data))
    session.collections.create(writer.path)
    with pytest.raises(IrodsResponseError) as refused:
        writer.write(data)
    writer.abort()
    assert refused.value.irods_name == "INVALID_HANDLE"  # what the server answered, not a lock
    assert refused.value.path == writer.path
    assert session.collections.list(coll) == [writer.path]  # no data object under a fresh name
    assert irods_emulator.open_parallel_write_handles() == 0


def test_a_writer_whose_handle_was_taken_over_fails_typed_and_leaves_the_new_holder_alone(
    irods_emulator, session
) -> None:
    """A stopped renewing (a host cut off for its lease) while its handle was open: B took the temporary
    over, shutting A's recorded handle down. A's next write through that handle is answered HTTP 400 (the
    handle is unknown: data_objects main.cpp:1081-1085 at 0.7.0); its bytes sent so far are gone, so A
    fails with IrodsTemporaryTakenOverError and its failure cleanup leaves B's temporary alone (the old
    code raised the bare 400 and removed B's temporary under it)."""
    coll = f"{HOME}/taken_handle"
    path = f"{coll}/z.bin"
    session.collections.create(coll, intermediates=True)
    a_bytes, b_bytes = _sources()
    a = open_writer(session, path, config=_config(), size=len(a_bytes))
    a.write(a_bytes[: 2 * CHUNK])
    a._stop_lease()  # cut off: it renews no more ...
    lapse(session, a.path)  # ... for a lease
    b = open_writer(session, path, config=_config(), size=len(b_bytes))
    assert b.path == a.path  # taken over: A's handle shut down
    b.write(b_bytes[: 2 * CHUNK])  # B's handle holds the temporary now
    a.write(a_bytes[2 * CHUNK :])  # queued: its answer comes to the close
    with pytest.raises(IrodsTemporaryTakenOverError) as taken:
        a.close()
    a.abort()
    assert taken.value.path == path
    assert isinstance(taken.value.__cause__, IrodsBadRequestError)  # what the server answered
    b.write(b_bytes[2 * CHUNK :])
    b.close()
    assert _sha(session.data_objects.read(path)) == _sha(b_bytes)
    assert _others(session, coll, path) == []
    assert irods_emulator.open_parallel_write_handles() == 0


def test_a_small_writer_refused_the_shared_temporary_goes_on_through_a_fresh_name(
    irods_emulator, session
) -> None:
    """B's object fits one request (no handle): its write of the shared temporary A's handle holds is
    refused (the client names it IrodsLockedError from the replicas); it goes to a fresh name too."""
    coll = f"{HOME}/lost_small"
    path = f"{coll}/s.bin"
    session.collections.create(coll, intermediates=True)
    a_bytes, _ = _sources()
    small = b"small object " * 50
    a = open_writer(session, path, config=_config(), size=len(a_bytes))
    b = open_writer(session, path, config=_config(), size=len(small))
    assert b.path == a.path
    a.write(a_bytes[: 2 * CHUNK])
    b.write(small)
    b.close()  # the old code raised IrodsLockedError here
    assert session.data_objects.read(path) == small
    a.write(a_bytes[2 * CHUNK :])
    a.close()
    assert _sha(session.data_objects.read(path)) == _sha(a_bytes)
    assert _others(session, coll, path) == []
    assert irods_emulator.open_parallel_write_handles() == 0


@pytest.mark.parametrize(
    ("version", "real_codes"),
    [("0.5.0", False), ("0.6.0", False), ("0.7.0", True)],
    ids=["0.5.0-http500", "0.6.0", "0.7.0-real-codes"],
)
def test_the_refused_init_goes_on_through_a_fresh_name_on_every_release(
    irods_emulator_at, version, real_codes
) -> None:
    """0.5.0 answers a refused open HTTP 500 with an empty body (data_objects:1091-1100 at 0.5.0), 0.6.0
    200 + INVALID_HANDLE, a 0.7.0 built with the library's codes HIERARCHY_ERROR: the same fresh name."""
    server = irods_emulator_at(version)
    server.set_limits(dstream_exposes_irods_error_codes=real_codes)
    with IrodsSession(
        server.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    ) as session:
        coll = f"{HOME}/lost_init_{version.replace('.', '_')}"
        path = f"{coll}/v.bin"
        session.collections.create(coll, intermediates=True)
        a_bytes, b_bytes = _sources()
        a = open_writer(session, path, config=_config(), size=len(a_bytes))
        b = open_writer(session, path, config=_config(), size=len(b_bytes))
        assert b.path == a.path
        a.write(a_bytes[: 2 * CHUNK])
        b.write(b_bytes)
        b.close()
        a.write(a_bytes[2 * CHUNK :])
        a.close()
        assert b.path != a.path
        assert _sha(session.data_objects.read(path)) == _sha(a_bytes)
        assert _others(session, coll, path) == []
    assert server.open_parallel_write_handles() == 0
