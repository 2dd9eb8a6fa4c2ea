"""The SFTP staging sink registers its temporary's cleanup with the transfer's coordinator where it creates
it, and the engine runs it once on failure: a resumable failure (cancel mid-file) keeps exactly the recorded
temporary and the next attempt resumes it; without resume, a failed ``sha256sum`` check on the server, or a
destination that appears during the copy under REFUSE, it is removed with its record; a raw connection
error while creating it queues its removal for the reconnect."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client.transfer import (
    OverwritePolicy,
    TransferConfig,
    download_object,
)
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsChecksumMismatchError,
    IrodsPermissionError,
    IrodsTransferCancelledError,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from first_progress import AfterFirstChunk

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, retries=0, backoff_base_seconds=0.0)
DATA = os.urandom(24 * CHUNK + 7)
SMALL = os.urandom(5 * CHUNK + 3)  # within READ_BACK_BYTES: checked by reading it back, not sha256sum


@pytest.fixture
def source(session) -> str:
    path = f"{HOME}/f.bin"
    session.data_objects.write(path, DATA)
    return path


@pytest.fixture(params=[1, 2], ids=["1-connection", "2-connections"])
def endpoint(remote, request: pytest.FixtureRequest) -> Iterator[Any]:
    """One SSH connection (writes in order), or two (a parallel writer: each chunk written at its offset
    as its ranged read completes, so the temporary may have holes beyond its acknowledged prefix)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from irods_provider.sftp import SftpEndpoint

    with SftpEndpoint(SFTPHook(ssh_conn_id="cluster"), connections=request.param) as sftp:
        yield sftp


@pytest.fixture
def store(tmp_path: Path) -> Any:
    from irods_provider.sftp._resume_store import ResumeStore

    return ResumeStore(tmp_path / "records")


def _sink(endpoint, client, remote, store, **kwargs: Any) -> Any:
    from irods_provider.sftp._sink import SftpStagingSink, target_root

    root = target_root(endpoint, remote.path("out"))
    kwargs.setdefault("remote_checksum", False)
    return SftpStagingSink(
        endpoint, client, f"{root}/f.bin", root=root, store=store, identity=("t",), chunk_size=CHUNK, **kwargs
    )


def _temporaries(remote) -> dict[str, bytes]:
    return {name: data for name, data in remote.files("out").items() if ".irods-part-" in name}


def _records(store) -> list[Path]:
    return sorted(store.directory.iterdir()) if store.directory.exists() else []


def test_a_cancelled_resumable_download_keeps_exactly_its_recorded_temporary(
    session, source, remote, endpoint, store
) -> None:
    cancel = threading.Event()
    with endpoint.channel() as client, pytest.raises(IrodsTransferCancelledError):
        download_object(
            session,
            source,
            _sink(endpoint, client, remote, store),
            config=CFG,
            cancel_event=cancel,
            subscribers=[AfterFirstChunk(cancel.set)],
        )
    (kept,) = _temporaries(remote).values()  # exactly one, and nothing at the final path
    assert DATA.startswith(kept)
    assert "f.bin" not in remote.files("out")
    assert len(_records(store)) == 1
    with endpoint.channel() as client:
        result = download_object(session, source, _sink(endpoint, client, remote, store), config=CFG)
    assert result.resumed_from == len(kept)  # the kept temporary (its record too) was resumed
    assert remote.files("out") == {"f.bin": DATA}
    assert _records(store) == []


def test_without_resume_a_cancelled_download_leaves_nothing(session, source, remote, endpoint, store) -> None:
    cancel = threading.Event()
    with endpoint.channel() as client, pytest.raises(IrodsTransferCancelledError):
        download_object(
            session,
            source,
            _sink(endpoint, client, remote, store),
            config=CFG,
            resume=False,
            cancel_event=cancel,
            subscribers=[AfterFirstChunk(cancel.set)],
        )
    assert remote.files("out") == {}
    assert _records(store) == []


def test_a_failed_sha256sum_on_the_server_discards_even_with_resume(
    session, source, remote, endpoint, store, monkeypatch
) -> None:
    monkeypatch.setattr(endpoint, "sha256sum", lambda path: "0" * 64)
    with endpoint.channel() as client:
        sink = _sink(endpoint, client, remote, store, remote_checksum=True)
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            download_object(session, source, sink, config=CFG)
    assert caught.value.expected == hashlib.sha256(DATA).hexdigest()
    assert remote.files("out") == {}
    assert _records(store) == []


def test_a_destination_that_appears_under_refuse_is_kept_and_the_temporary_removed(
    session, source, remote, endpoint, store
) -> None:
    with endpoint.channel() as client, pytest.raises(IrodsAlreadyExistsError):
        download_object(
            session,
            source,
            _sink(endpoint, client, remote, store),
            config=CFG,
            overwrite=OverwritePolicy.REFUSE,
            subscribers=[AfterFirstChunk(lambda: remote.put("out/f.bin", b"someone else's"))],
        )
    assert remote.files("out") == {"f.bin": b"someone else's"}
    assert _records(store) == []


def test_a_raw_connection_error_while_creating_queues_its_removal(
    session, source, remote, endpoint, store, monkeypatch
) -> None:
    from irods_provider.sftp import _sink as sink_module

    real = sink_module.create_exclusive
    created: list[str] = []

    def create_then_drop(client: Any, path: str, **options: Any) -> Any:
        handle = real(client, path, **options)
        handle.close()
        created.append(path)
        raise EOFError  # what paramiko raises when the connection went away mid-request

    monkeypatch.setattr(sink_module, "create_exclusive", create_then_drop)
    with endpoint.channel() as client, pytest.raises(EOFError):
        download_object(session, source, _sink(endpoint, client, remote, store), config=CFG)
    assert len(created) == 1
    assert endpoint._remove_later == created  # removed once a new connection is up


@pytest.mark.parametrize("endpoint", [2], indirect=True, ids=["2-connections"])
def test_a_killed_parallel_download_resumes_from_its_recorded_prefix_not_past_a_hole(
    session, source, remote, endpoint, store, monkeypatch
) -> None:
    # Chunks land out of order over two connections. A task killed with kill -9 runs no cleanup: nothing
    # truncates its temporary to the acknowledged prefix, so the file has a hole (chunk 12, whose read
    # failed) with later chunks written past it. The sink recorded the acknowledged prefix every 8 chunks;
    # the next attempt resumes from that, not from the file's size (which would hash the hole and start over).
    from irods_provider.client._sync._fs import DataObjects
    from irods_provider.sftp._io import release_handle
    from irods_provider.sftp._parallel import ParallelSftpWriter
    from irods_provider.sftp._sink import CHECKPOINT_CHUNKS, SftpStagingSink

    hole, beyond = 12 * CHUNK, threading.Event()
    read_into, write_at = DataObjects.read_into, ParallelSftpWriter.write_at

    def failing_at_the_hole(self, path, buffer, *, offset=0, **kwargs):  # type: ignore[no-untyped-def]
        if offset == hole:
            assert beyond.wait(10), "no chunk past the hole was written"
            raise IrodsPermissionError("access denied", http_status=403, irods_code=-818000, path=path)
        return read_into(self, path, buffer, offset=offset, **kwargs)

    def recording(self, offset, data, **kwargs):  # type: ignore[no-untyped-def]
        written = write_at(self, offset, data, **kwargs)
        if offset > hole + CHUNK:
            beyond.set()
        return written

    def killed(self: ParallelSftpWriter) -> None:  # no cleanup truncates after kill -9
        for session in self._sessions:
            release_handle(session.handle)

    with monkeypatch.context() as patch:
        patch.setattr(DataObjects, "read_into", failing_at_the_hole)
        patch.setattr(ParallelSftpWriter, "write_at", recording)
        patch.setattr(ParallelSftpWriter, "_keep_committed", killed)
        patch.setattr(SftpStagingSink, "abort", lambda sink: sink._writer and sink._writer.abort())
        with endpoint.channel() as client, pytest.raises(IrodsPermissionError):
            download_object(session, source, _sink(endpoint, client, remote, store), config=CFG)
    (left,) = _temporaries(remote).values()
    assert len(left) > hole + CHUNK  # chunks past the hole were written...
    assert left[hole : hole + CHUNK] != DATA[hole : hole + CHUNK]  # ...and the hole is still one
    (record,) = (json.loads(path.read_text()) for path in _records(store))
    assert CHECKPOINT_CHUNKS * CHUNK <= record["committed"] <= hole
    assert left[: record["committed"]] == DATA[: record["committed"]]
    with endpoint.channel() as client:
        result = download_object(session, source, _sink(endpoint, client, remote, store), config=CFG)
    assert result.resumed_from == record["committed"]  # not 0: the recorded prefix was trusted
    assert remote.files("out") == {"f.bin": DATA}
    assert _records(store) == []


def test_a_check_failing_right_after_the_create_removes_the_temporary_and_its_record(
    session, source, remote, endpoint, store, monkeypatch
) -> None:
    # The temporary is recorded before it is created (a kill -9 right after the create must leave a record).
    # A refusal after the create (here its fstat) is not a kill: what was created goes, with its name.
    import paramiko

    def refused(self: paramiko.SFTPFile) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(paramiko.SFTPFile, "stat", refused)
    with endpoint.channel() as client, pytest.raises(PermissionError):
        download_object(session, source, _sink(endpoint, client, remote, store), config=CFG)
    assert remote.files("out") == {}  # no temporary left, nothing at the final path
    assert _records(store) == []


@pytest.fixture
def small_source(session) -> str:
    path = f"{HOME}/small.bin"
    session.data_objects.write(path, SMALL)
    return path


def test_a_small_temporary_is_checked_by_reading_it_back_not_by_a_command(
    session, small_source, remote, endpoint, store, monkeypatch
) -> None:
    monkeypatch.setattr(endpoint, "sha256sum", lambda path: pytest.fail(f"sha256sum ran for {path}"))
    with endpoint.channel() as client:
        sink = _sink(endpoint, client, remote, store, remote_checksum=True)
        download_object(session, small_source, sink, config=CFG)
    assert sink.remote_verified
    assert remote.files("out") == {"f.bin": SMALL}
    assert _records(store) == []


def test_a_small_temporary_that_reads_back_different_is_refused_and_removed(
    session, small_source, remote, endpoint, store, monkeypatch
) -> None:
    """The server stored other bytes than were sent (flipped here on its disk right before the check)."""
    from irods_provider.sftp._sink import SftpStagingSink

    check = SftpStagingSink.verify
    stored: list[bytes] = []

    def flip_then_check(self: Any, sha256_hex: str) -> bool:
        ((name, data),) = _temporaries(remote).items()
        flipped = bytes([data[0] ^ 0xFF]) + data[1:]
        (remote.dir / "out" / name).write_bytes(flipped)
        stored.append(flipped)
        return check(self, sha256_hex)

    monkeypatch.setattr(SftpStagingSink, "verify", flip_then_check)
    with endpoint.channel() as client, pytest.raises(IrodsChecksumMismatchError) as caught:
        download_object(
            session, small_source, _sink(endpoint, client, remote, store, remote_checksum=None), config=CFG
        )
    assert caught.value.expected == hashlib.sha256(SMALL).hexdigest()
    assert caught.value.actual == hashlib.sha256(stored[0]).hexdigest()
    assert remote.files("out") == {}
    assert _records(store) == []


def test_a_file_of_one_write_keeps_no_resume_bookkeeping_and_asks_no_fstat(
    session, remote, endpoint, store, monkeypatch
) -> None:
    """Resuming a file of at most one chunk would save nothing: its temporary is named in the record before it
    is created (a kill -9 leaves something to remove) but its owner is not asked (one round trip per file)."""
    import paramiko

    one_write = os.urandom(CHUNK - 5)
    session.data_objects.write(f"{HOME}/one.bin", one_write)
    fstats: list[str] = []
    fstat = paramiko.SFTPFile.stat
    monkeypatch.setattr(paramiko.SFTPFile, "stat", lambda handle: fstats.append("fstat") or fstat(handle))
    saved: list[dict[str, Any]] = []
    save = type(store).save
    monkeypatch.setattr(
        type(store), "save", lambda self, key, body: saved.append(dict(body)) or save(self, key, body)
    )
    with endpoint.channel() as client:
        result = download_object(
            session, f"{HOME}/one.bin", _sink(endpoint, client, remote, store), config=CFG
        )
    assert (result.size, result.resumed_from) == (len(one_write), 0)
    assert remote.files("out") == {"f.bin": one_write}
    assert fstats == []
    # The name (and the source version it is for) only, before the create.
    assert [sorted(body) for body in saved] == [["temp", "version"]]
    assert _records(store) == []


def test_reading_back_costs_its_open_and_its_reads(remote, endpoint, monkeypatch) -> None:
    """Two round trips (the open; every read at once), the close not waited for. A file shorter than the
    bytes sent (the live server answers end-of-file) gives the digest of what is there: a mismatch, never
    a lost channel retried."""
    from irods_provider.sftp._checksum import read_back_sha256

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
    from sftp_wire import SftpWire

    remote.put("rb/f.bin", SMALL)
    with endpoint.channel() as client:
        path = endpoint.resolve(remote.path("rb/f.bin"))
        wire = SftpWire().install(monkeypatch)
        assert read_back_sha256(client, path, len(SMALL)) == hashlib.sha256(SMALL).hexdigest()
        waves = wire.waves(id(client), until="close")
        assert read_back_sha256(client, path, len(SMALL) + 5) == hashlib.sha256(SMALL).hexdigest()
    assert [sorted({request.split(" ", 1)[0] for request in wave}) for wave in waves] == [["open"], ["read"]]


def test_a_checked_file_of_one_write_costs_these_requests_and_no_more(
    session, remote, endpoint, store, monkeypatch
) -> None:
    """From the temporary's create to its rename, three round trips: the create (private, 0600); the write,
    the read-back through the same handle, the new file's mode set by that handle, its close and the
    publish's two lstats, all sent together; the rename. No stat of the temporary, no fstat (no owner to
    record), no second open, no exec session."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
    from sftp_wire import SftpWire

    one_write = os.urandom(CHUNK - 5)
    session.data_objects.write(f"{HOME}/one.bin", one_write)
    monkeypatch.setattr(endpoint, "sha256sum", lambda path: pytest.fail(f"sha256sum ran for {path}"))
    with endpoint.channel() as client:
        sink = _sink(endpoint, client, remote, store, remote_checksum=True)
        wire = SftpWire().install(monkeypatch)
        download_object(session, f"{HOME}/one.bin", sink, config=CFG)
        waves = wire.waves(id(client), since="open", until=None)  # from the temporary's create
    assert sink.remote_verified
    assert remote.files("out") == {"f.bin": one_write}
    assert [[what.split(" ", 1)[0] for what in wave] for wave in waves] == [
        ["open"],
        ["write", "read", "fsetstat", "close", "lstat", "lstat"],
        ["rename"],
    ]


def test_answers_that_do_not_pass_at_the_close_are_asked_again_never_trusted_to_refuse(
    session, remote, endpoint, store, monkeypatch
) -> None:
    """A server answering a session's requests out of order would give the close's read-back a wrong digest
    and its lstat pair stale answers: the sink then reads the temporary back on a new handle and asks the
    lstat pair again, and those answers decide (here: the file is fine and is published)."""
    import irods_provider.sftp._sink as sink_module
    from irods_provider.sftp._integrity import ReadBack

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
    from sftp_wire import SftpWire

    real = sink_module.close_reading_back

    def out_of_order(*args: Any, **options: Any) -> ReadBack:
        real(*args, **options)
        gone = FileNotFoundError(2, "No such file")
        return ReadBack(sha256="0" * 64, temp=gone, final=gone)

    monkeypatch.setattr(sink_module, "close_reading_back", out_of_order)
    one_write = os.urandom(CHUNK - 5)
    session.data_objects.write(f"{HOME}/one.bin", one_write)
    with endpoint.channel() as client:
        sink = _sink(endpoint, client, remote, store, remote_checksum=True)
        wire = SftpWire().install(monkeypatch)
        download_object(session, f"{HOME}/one.bin", sink, config=CFG)
        sent = [what.split(" ", 1)[0] for kind, what in wire.events[id(client)] if kind == "send"]
    assert sink.remote_verified
    assert remote.files("out") == {"f.bin": one_write}
    start = sent.index("open")
    assert sent[start:] == [
        *["open", "write", "read", "fsetstat", "close", "lstat", "lstat"],  # the close's round trip
        *["open", "read", "close"],  # read back again, on a new handle
        *["lstat", "lstat", "rename"],  # the publish's checks asked again
    ]


def test_a_temporary_that_differs_from_the_bytes_sent_is_refused_after_reading_it_again(
    session, remote, endpoint, store, monkeypatch
) -> None:
    """The read-back through the write handle is only a shortcut: a temporary whose stored bytes differ
    from the bytes sent fails with IrodsChecksumMismatchError (read again on a new handle, the digest of
    what is stored), and nothing is published nor recorded."""
    import irods_provider.sftp._sink as sink_module

    real = sink_module.close_reading_back
    one_write = os.urandom(CHUNK - 5)
    flipped = bytes([one_write[0] ^ 0xFF]) + one_write[1:]
    session.data_objects.write(f"{HOME}/one.bin", one_write)
    with endpoint.channel() as client:

        def another_writer_first(handle: Any, temp: str, *args: Any, **options: Any) -> Any:
            with client.open(temp, "r+b") as other:  # the stored bytes change before the close
                other.write(flipped[:1])
            return real(handle, temp, *args, **options)

        monkeypatch.setattr(sink_module, "close_reading_back", another_writer_first)
        sink = _sink(endpoint, client, remote, store, remote_checksum=True)
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            download_object(session, f"{HOME}/one.bin", sink, config=CFG)
    assert caught.value.expected == hashlib.sha256(one_write).hexdigest()
    assert caught.value.actual == hashlib.sha256(flipped).hexdigest()
    assert remote.files("out") == {}
    assert _records(store) == []
