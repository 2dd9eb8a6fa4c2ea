"""Downloads of data objects whose path holds ``+`` (e.g. ISO timestamps with an offset).

No GET can address such a path: the HTTP API percent-decodes the query string and then turns every ``+``
into a space (core/src/common.cpp ``to_argument_list``), so ``read`` and ``stat`` cannot reach it. The
engine reads a server-side copy (a POST) in the user's home collection, checks the bytes against the
ORIGINAL object's checksum, and removes the copy whatever happens.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import (
    TransferConfig,
    TransferSubscriber,
    download_object,
    open_reader,
)
from irods_provider.client.transfer._alias import ALIAS_MAX_AGE, ALIAS_PREFIX, read_object
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsInvalidPathError,
    IrodsPermissionError,
    IrodsTransferCancelledError,
)
from irods_provider.testing._config import RESOURCE_PRESET
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

HOME = "/tempZone/home/rods"
MIB = 1 << 20
CFG = TransferConfig(chunk_size=MIB, small_file_threshold=MIB)
PATHS = [f"{HOME}/a+b.bin", f"{HOME}/runs+x/run-2026-12-06T10:00:00+01:00.h5"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def aliases(session, home: str = HOME) -> list[str]:
    """Every alias in the home collection (hidden names included)."""
    return [
        e.name
        for e in session.collections.iterate(home, include_temporaries=True)
        if e.name.startswith(ALIAS_PREFIX)
    ]


def leave_stale_alias(session, home: str, letter: str, *, resource: str | None = None) -> str:
    """An alias a killed read left in ``home`` more than ALIAS_MAX_AGE ago (each of its replicas)."""
    stale = f"{home}/{ALIAS_PREFIX}{letter * 32}"
    session.data_objects.write(stale, b"left by a killed worker", resource=resource)
    old = session.collections.lookup(stale).modified_at - ALIAS_MAX_AGE - 3600
    for replica in session.data_objects.replicas(stale):  # a replica made a second later: other mtimes
        number = replica.number
        session.data_objects.touch(stale, seconds_since_epoch=old + number, replica_number=number)
    return stale


def login(server, user: str, password: str) -> IrodsSession:
    return IrodsSession(
        server.base_url,
        auth=BasicAuth(user, password),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    )


def put(session, path: str, size: int) -> bytes:
    data = os.urandom(size)
    decoy = path.replace("+", " ")  # what a GET would address
    for collection in {os.path.dirname(path), os.path.dirname(decoy)}:
        session.collections.create(collection, exist_ok=True)
    session.data_objects.write(path, data)
    session.data_objects.write(decoy, b"not this one")
    return data


@pytest.mark.parametrize("path", PATHS, ids=["home", "plus-collection"])
@pytest.mark.parametrize("size", [1000, 3 * MIB + 5], ids=["small", "parallel"])
def test_download_object_reads_a_plus_path(session, tmp_path, path, size) -> None:
    data = put(session, path, size)
    result = download_object(session, path, tmp_path / "out.h5", config=CFG)
    assert sha((tmp_path / "out.h5").read_bytes()) == sha(data)
    assert result.checksum == session.data_objects.calculate_checksum(path)
    assert aliases(session) == []


@pytest.mark.parametrize("path", PATHS, ids=["home", "plus-collection"])
def test_open_reader_reads_a_plus_path_and_removes_its_alias_at_close(session, path) -> None:
    data = put(session, path, 2 * MIB + 3)
    with open_reader(session, path, config=CFG) as reader:
        assert len(aliases(session)) == 1  # made when the reader opened
        assert sha(reader.read()) == sha(data)
    assert aliases(session) == []


class _CancelOnFirstBytes(TransferSubscriber):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
        self.event.set()


def test_a_failed_download_removes_its_alias_and_publishes_nothing(session, tmp_path) -> None:
    path = PATHS[1]
    put(session, path, 4 * MIB)
    cancel = threading.Event()
    with pytest.raises(IrodsTransferCancelledError):
        download_object(
            session,
            path,
            tmp_path / "out.h5",
            config=CFG,
            subscribers=(_CancelOnFirstBytes(cancel),),
            cancel_event=cancel,
        )
    assert aliases(session) == []
    assert os.listdir(tmp_path) == []


def corrupt_copies(monkeypatch, session) -> None:
    """Every server-side copy gets other bytes of the same size right after it is made (a bad copy)."""
    api_type = type(session.data_objects)
    original = api_type.copy

    def copy(self, src: str, dst: str, **kwargs: Any) -> None:
        original(self, src, dst, **kwargs)
        size = session.collections.lookup(dst).size
        self.write(dst, b"\0" * size)

    monkeypatch.setattr(api_type, "copy", copy)


@pytest.mark.parametrize("size", [1000, 3 * MIB + 5], ids=["small", "parallel"])
def test_a_corrupted_alias_is_a_checksum_mismatch_and_nothing_is_published(
    session, tmp_path, monkeypatch, size
) -> None:
    path = PATHS[0]
    put(session, path, size)
    corrupt_copies(monkeypatch, session)
    with pytest.raises(IrodsChecksumMismatchError) as error:
        download_object(session, path, tmp_path / "out.bin", config=CFG)
    assert error.value.path == path  # the original's checksum was the reference
    assert os.listdir(tmp_path) == []
    assert aliases(session) == []


def test_aliases_left_by_killed_reads_are_swept_when_a_new_one_is_made(session, tmp_path) -> None:
    path = PATHS[0]
    data = put(session, path, 1000)
    stale, fresh = f"{HOME}/{ALIAS_PREFIX}{'a' * 32}", f"{HOME}/{ALIAS_PREFIX}{'b' * 32}"
    session.data_objects.write(stale, b"left by a killed worker")
    session.data_objects.write(fresh, b"another read still using it")
    old = session.collections.lookup(fresh).modified_at - ALIAS_MAX_AGE - 3600
    session.data_objects.touch(stale, seconds_since_epoch=old)
    download_object(session, path, tmp_path / "out.bin", config=CFG)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert aliases(session) == [fresh.rsplit("/", 1)[1]]
    assert [e.name for e in session.collections.iterate(HOME)] == ["a b.bin", "a+b.bin"]  # aliases hidden
    cleanup = session.collections.remove_temporaries(HOME, min_age=0)  # an engine temporary like the others
    assert [t.path for t in cleanup.removed] == [fresh]
    assert aliases(session) == []


def test_low_level_read_still_refuses_plus_and_names_what_works(session) -> None:
    put(session, PATHS[0], 10)
    with pytest.raises(IrodsInvalidPathError, match="download_object, open_reader") as error:
        session.data_objects.read(PATHS[0])
    assert error.value.path == PATHS[0]


def test_a_federated_zones_stale_aliases_are_swept_there(irods_emulator_variants, tmp_path) -> None:  # noqa: F811
    """GenQuery asks the local catalog unless its ``zone`` names another (endpoints/query/src/main.cpp:237
    at 0.7.0): the sweep of a remote home must name the remote zone, or killed reads' aliases stay there."""
    server = irods_emulator_variants(federated_zones=["otherZone"])
    server.add_user("alice", "alice")
    home = "/otherZone/home/alice#tempZone"
    with login(server, "alice", "alice") as s:
        path = f"{home}/a+b.bin"
        s.data_objects.write(path, b"remote bytes")
        leave_stale_alias(s, home, "a")
        assert read_object(s, path) == b"remote bytes"
        assert aliases(s, home) == []


def test_stale_aliases_with_several_replicas_are_all_swept(irods_emulator_variants, tmp_path) -> None:  # noqa: F811
    """GenQuery gives a row per replica when their mtimes differ: every stale alias goes, once each."""
    server = irods_emulator_variants(resources=RESOURCE_PRESET)
    with login(server, "rods", "rods-emulator") as s:
        data = put(s, PATHS[0], 1000)
        for letter in "ab":
            leave_stale_alias(s, HOME, letter, resource="replResc")
        download_object(s, PATHS[0], tmp_path / "out.bin", config=CFG)
        assert (tmp_path / "out.bin").read_bytes() == data
        assert aliases(s) == []


def test_a_refused_copy_says_the_home_needs_write_access(irods_emulator_variants, tmp_path) -> None:  # noqa: F811
    """The server's CAT_NO_ACCESS_PERMISSION on the copy does not say that the user may read the object but
    not write in its own home: the error does, and still names the object and the iRODS code."""
    server = irods_emulator_variants()
    server.add_user("alice", "alice")
    path = "/tempZone/home/public/x+y.bin"
    with login(server, "rods", "rods-emulator") as rods:
        rods.data_objects.write(path, b"public bytes")
        rods.data_objects.set_permission(path, "alice", "read")
        rods.collections.set_permission("/tempZone/home/alice", "alice", "read", admin=True)
    with login(server, "alice", "alice") as alice:
        for read in (lambda: read_object(alice, path), lambda: download_object(alice, path, tmp_path / "o")):
            with pytest.raises(IrodsPermissionError, match="write access in /tempZone/home/alice") as error:
                read()
            assert (error.value.path, error.value.irods_name) == (path, "CAT_NO_ACCESS_PERMISSION")
        assert os.listdir(tmp_path) == []
