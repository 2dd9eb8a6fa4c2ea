"""fsspec on a data object another client is still writing: it exists, but it has no size to report or bytes
to read until that write closes (every replica intermediate or write-locked: the server's stat answers
SYS_NO_GOOD_REPLICA and its read HTTP 500, irods 4.3.4 filesystem.cpp:735-763), so info and reads raise
IrodsLockedError rather than a bare server error; once the writer closes, everything reads the full object."""

from __future__ import annotations

import os
import threading

import pytest

from irods_provider._error_codes import error_code
from irods_provider.exceptions import IrodsLockedError, IrodsResponseError

HOME = "/tempZone/home/rods"
DATA = b"0123456789" * 100
WAIT = 10.0


def open_partial(session, path: str) -> str:
    """A parallel-write handle on ``path`` with the first half of DATA written (another client's write)."""
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, DATA[:500], parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


def close(session, handle: str) -> None:
    session.data_objects.write(None, DATA[500:], parallel_write_handle=handle, stream_index=0, offset=500)
    session.data_objects.parallel_write_shutdown(handle)


@pytest.mark.parametrize("name", ["busy.bin", "busy+plus.bin"], ids=["plain", "plus"])
def test_an_object_being_written_exists_but_is_unreadable(irods_fs, fs_factory, irods_emulator, name) -> None:
    path = f"{HOME}/{name}"
    other = fs_factory(irods_emulator).session
    handle = open_partial(other, path)
    assert irods_fs.exists(path) is True
    assert irods_fs.isfile(path) is True
    with pytest.raises(IrodsLockedError) as caught:
        irods_fs.info(path)
    assert caught.value.path == path
    with pytest.raises(IrodsLockedError):
        irods_fs.cat_file(path)
    with pytest.raises(FileExistsError):
        irods_fs.pipe_file(path, b"mine", mode="create")
    close(other, handle)
    assert irods_fs.info(path)["size"] == len(DATA)
    assert irods_fs.cat_file(path) == DATA


def test_a_write_replaces_an_object_left_stale_but_never_one_being_written(
    irods_fs, fs_factory, irods_emulator
) -> None:
    """The atomic writer's overwrite (a rename publish carrying grants and AVUs) onto an object whose last
    write failed (its replica stale: iput -f works there) and onto one another client is writing (no)."""
    from irods_provider.client import AVU

    session = irods_fs.session
    path = f"{HOME}/stale.bin"
    irods_fs.pipe_file(path, b"first")
    session.metadata.add(path, AVU("project", "p1"))
    large = os.urandom(irods_fs.small_write_bytes + 1)  # through the atomic writer, not one write
    for value in (large, b"small"):
        open_partial(session, path)
        assert irods_emulator.drop_parallel_writes(path) == 1  # the writer died: its replica is stale
        irods_fs.pipe_file(path, value)
        assert irods_fs.cat_file(path) == value
        assert [(a.attribute, a.value) for a in session.metadata.list(path)] == [("project", "p1")]

    busy = f"{HOME}/busy.bin"
    other = fs_factory(irods_emulator).session
    handle = open_partial(other, busy)
    with pytest.raises(IrodsLockedError) as caught:
        irods_fs.pipe_file(busy, large)
    assert caught.value.path == busy
    close(other, handle)
    assert irods_fs.cat_file(busy) == DATA


@pytest.mark.parametrize("name", ["stale.bin", "stale+plus.bin"], ids=["plain", "plus"])
def test_a_server_side_copy_never_makes_a_good_object_of_one_left_stale(
    irods_fs, fs_factory, irods_emulator, name
) -> None:
    """The server copies a stale replica's bytes (it votes low for the copy's read, not zero: irods 4.3.4
    voting.cpp:42-93), and the copy closes good: ``cp`` published a failed write's half as complete."""
    path, target = f"{HOME}/{name}", f"{HOME}/copy-of-{name}"
    other = fs_factory(irods_emulator).session
    other.data_objects.write(path, DATA)
    open_partial(other, path)
    assert irods_emulator.drop_parallel_writes(path) == 1  # its writer died: the only replica is stale
    with pytest.raises(IrodsResponseError) as caught:
        irods_fs.cp_file(path, target)
    assert caught.value.irods_code == error_code("SYS_NO_GOOD_REPLICA")
    assert caught.value.path == path
    assert not irods_fs.exists(target)


def test_a_server_side_copy_of_an_object_being_written_is_refused(
    irods_fs, fs_factory, irods_emulator
) -> None:
    path, target = f"{HOME}/busy.bin", f"{HOME}/copy-of-busy.bin"
    other = fs_factory(irods_emulator).session
    handle = open_partial(other, path)
    with pytest.raises(IrodsLockedError) as caught:
        irods_fs.cp_file(path, target)
    assert caught.value.path == path
    assert not irods_fs.exists(target)
    close(other, handle)


def _open_wb(fs, path: str) -> None:
    with fs.open(path, "wb") as f:
        f.write(b"mine")


WRITES = {
    "pipe_file": lambda fs, path: fs.pipe_file(path, b"mine"),
    "open_wb": _open_wb,
    "touch": lambda fs, path: fs.touch(path),
}


@pytest.mark.parametrize("how", sorted(WRITES))
def test_a_small_write_onto_an_object_being_written_is_refused_as_locked(
    irods_fs, fs_factory, irods_emulator, how
) -> None:
    """A touch opens the object itself, and the HTTP API reports any failed open as INVALID_HANDLE (the iRODS
    library's own error is dropped: data_objects main.cpp:1197-1212 at 0.7.0, the status from
    ``last_error()`` only under IRODS_LIBRARY_FEATURE_DSTREAM, which no iRODS release defines); a write that
    fits one request goes through the engine's upload (a temporary renamed onto the path), which finds the
    object without a good replica first. The replicas tell a lock from other refusals: IrodsLockedError
    naming the path and replica statuses."""
    path = f"{HOME}/held.bin"
    irods_fs.pipe_file(path, b"old")
    hold = irods_emulator.hold_writes(path)
    other = fs_factory(irods_emulator).session
    thread = threading.Thread(target=other.data_objects.write, args=(path, DATA))
    thread.start()
    try:
        assert hold.wait_reached(WAIT)
        with pytest.raises(IrodsLockedError) as caught:
            WRITES[how](irods_fs, path)
        assert caught.value.path == path
        # What the server answered: touch opens the object itself, the HTTP API reporting the failed open
        # as INVALID_HANDLE; a write goes through the engine's upload, whose stat of the target finds no
        # good replica (SYS_NO_GOOD_REPLICA) before a byte is written.
        answered = "INVALID_HANDLE" if how == "touch" else "SYS_NO_GOOD_REPLICA"
        assert caught.value.irods_code == error_code(answered)
        assert "replicas: 0 intermediate" in str(caught.value)
    finally:
        hold.release()
        thread.join(WAIT)
    assert irods_fs.cat_file(path) == DATA  # the other client's write, untouched by ours


def test_a_small_write_refused_for_another_reason_is_not_called_a_lock(irods_fs, irods_emulator) -> None:
    """INVALID_HANDLE onto an object with a good replica (the writer may only read it) stays the refusal."""
    from irods_provider.exceptions import IrodsResponseError
    from irods_provider.fs import IrodsFileSystem

    path = f"{HOME}/readonly.bin"
    irods_fs.pipe_file(path, b"old")
    irods_emulator.add_user("bob", "bob")
    irods_fs.session.data_objects.set_permission(path, "bob", "read")
    bob = IrodsFileSystem(
        base_url=irods_emulator.base_url, username="bob", password="bob", skip_instance_cache=True
    )
    try:
        with pytest.raises(IrodsResponseError) as caught:
            bob.pipe_file(path, b"mine")
    finally:
        bob.close_session()
    assert not isinstance(caught.value, IrodsLockedError)
    assert irods_fs.cat_file(path) == b"old"
