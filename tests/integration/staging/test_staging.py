"""Both staging directions against the emulator and real SSH servers (embedded asyncssh and Debian's sshd)."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time

import pytest

from irods_provider.client.transfer import IrodsTransferCancelledError
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError, IrodsNotADirectoryError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"

KIB = 1024
SMALL_CHUNK = 64 * KIB


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def up(**kwargs):
    kwargs.setdefault("chunk_size", SMALL_CHUNK)
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


def down(**kwargs):
    kwargs.setdefault("chunk_size", SMALL_CHUNK)
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


SIZES = {"empty": 0, "one": 1, "odd": SMALL_CHUNK * 3 + 17, "big": 3 * 1024 * KIB + 123}


@pytest.mark.parametrize("range_readers", [1, 3])
def test_round_trip_byte_identical(remote, session, range_readers) -> None:
    data = {name: os.urandom(size) for name, size in SIZES.items()}
    for name, blob in data.items():
        remote.put(f"src/{name}.bin", blob)
    report = up(
        source_path=remote.path("src"), destination_path=f"{HOME}/in", sftp_range_readers=range_readers
    )
    assert report["transferred"] == 4
    assert report["bytes"] == sum(SIZES.values())
    assert report["failed"] == 0
    for name, blob in data.items():
        path = f"{HOME}/in/{name}.bin"
        assert session.data_objects.stat(path).size == len(blob)
        assert session.data_objects.calculate_checksum(path) == sha2(blob) == report["checksums"][path]
    report = down(source_path=f"{HOME}/in", destination_path=remote.path("back"))
    assert report["transferred"] == 4
    assert report["remote_sha256_verified"] == 4
    back = remote.files("back")
    assert {k: hashlib.sha256(v).hexdigest() for k, v in back.items()} == {
        f"{k}.bin": hashlib.sha256(v).hexdigest() for k, v in data.items()
    }
    assert not any(name.startswith(".") for name in back), "a temporary file was left behind"


def test_globs_and_single_files(remote, session) -> None:
    for rel in ("a/x.csv", "a/b/y.csv", "a/b/c/z.csv", "a/z.txt", "top.csv"):
        remote.put(f"src/{rel}", rel.encode())
    report = up(source_path=remote.path("src/a/**/*.csv"), glob=True, destination_path=f"{HOME}/g")
    assert sorted(f["destination"] for f in report["files"]) == [
        f"{HOME}/g/b/c/z.csv",
        f"{HOME}/g/b/y.csv",
        f"{HOME}/g/x.csv",
    ]
    report = up(source_path=remote.path("src/*/*.txt"), glob=True, destination_path=f"{HOME}/g/")
    assert [f["destination"] for f in report["files"]] == [f"{HOME}/g/a/z.txt"]
    report = up(source_path=remote.path("src/top.csv"), destination_path=f"{HOME}/renamed.csv")
    assert session.data_objects.read(f"{HOME}/renamed.csv") == b"top.csv"

    report = down(
        source_path=[f"{HOME}/g/**/y.csv", f"{HOME}/g/*.csv"], glob=True, destination_path=remote.path("gb")
    )
    assert remote.files("gb") == {"b/y.csv": b"a/b/y.csv", "x.csv": b"a/x.csv"}
    down(source_path=f"{HOME}/renamed.csv", destination_path=remote.path("one/file.csv"))
    assert remote.files("one") == {"file.csv": b"top.csv"}


def test_skip_and_overwrite_policies(remote, session) -> None:
    remote.put("src/f.bin", b"first-version!")
    up(source_path=remote.path("src"), destination_path=f"{HOME}/p")
    with pytest.raises(IrodsAlreadyExistsError, match="already exists"):
        up(source_path=remote.path("src"), destination_path=f"{HOME}/p")
    for skip in ("exists", "size", "checksum"):
        report = up(source_path=remote.path("src"), destination_path=f"{HOME}/p", skip=skip)
        assert (report["skipped"], report["transferred"]) == (1, 0), skip
    remote.put("src/f.bin", b"second version")  # same size, other bytes
    assert up(source_path=remote.path("src"), destination_path=f"{HOME}/p", skip="size")["skipped"] == 1
    with pytest.raises(IrodsAlreadyExistsError):
        up(source_path=remote.path("src"), destination_path=f"{HOME}/p", skip="checksum")
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/p", skip="checksum", overwrite=True)
    assert report["transferred"] == 1
    assert session.data_objects.read(f"{HOME}/p/f.bin") == b"second version"

    down(source_path=f"{HOME}/p", destination_path=remote.path("d"))
    with pytest.raises(IrodsAlreadyExistsError):
        down(source_path=f"{HOME}/p", destination_path=remote.path("d"))
    assert down(source_path=f"{HOME}/p", destination_path=remote.path("d"), skip="checksum")["skipped"] == 1
    session.data_objects.write(f"{HOME}/p/f.bin", b"third  version")
    assert down(source_path=f"{HOME}/p", destination_path=remote.path("d"), skip="size")["skipped"] == 1
    report = down(source_path=f"{HOME}/p", destination_path=remote.path("d"), skip="checksum", overwrite=True)
    assert report["transferred"] == 1
    assert remote.files("d") == {"f.bin": b"third  version"}


def test_move_deletes_sources_after_verified_copy(remote, session) -> None:
    remote.put("src/m1", b"one")
    remote.put("src/sub/m2", b"two")
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/mv", move=True)
    assert report["transferred"] == 2
    assert remote.files("src") == {}
    report = down(source_path=f"{HOME}/mv", destination_path=remote.path("out"), move=True)
    assert remote.files("out") == {"m1": b"one", "sub/m2": b"two"}
    assert not session.data_objects.exists(f"{HOME}/mv/m1")
    assert not session.data_objects.exists(f"{HOME}/mv/sub/m2")


def test_downloads_never_escape_the_target_directory(remote, session) -> None:
    session.collections.create(f"{HOME}/esc/link", intermediates=True)
    session.data_objects.write(f"{HOME}/esc/link/evil.txt", b"should not land outside")
    remote.put("outside/keep", b"")
    target = remote.dir / "target"
    target.mkdir()
    os.chown(target, remote.server.root.stat().st_uid, remote.server.root.stat().st_gid)
    (target / "link").symlink_to("../outside")
    with pytest.raises(IrodsInvalidPathError, match="outside the target directory"):
        down(source_path=f"{HOME}/esc", destination_path=remote.path("target"))
    assert remote.files("outside") == {"keep": b""}


@pytest.mark.parametrize("target", ["blocked", "blocked/sub"])
def test_a_file_in_the_way_of_the_target_directory_fails_typed(remote, session, target) -> None:
    """A multi-file download into a directory that is (or lies below) a file: a typed error naming the file
    in the way, the file untouched, nothing else written (it was a raw FileNotFoundError from paramiko)."""
    session.collections.create(f"{HOME}/many")
    for name in ("a.bin", "b.bin"):
        session.data_objects.write(f"{HOME}/many/{name}", name.encode())
    remote.put("blocked", b"a file, not a directory")
    with pytest.raises(IrodsNotADirectoryError, match="not a directory") as caught:
        down(source_path=f"{HOME}/many", destination_path=remote.path(target))
    assert isinstance(caught.value, NotADirectoryError)
    assert caught.value.path == remote.path("blocked")
    assert remote.files() == {"blocked": b"a file, not a directory"}


def _cancel_when_streaming(op, irods) -> BaseException:
    """Run ``op`` in a thread, call on_kill once a parallel write is open, return what execute raised."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            op.execute({})
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while irods.open_parallel_write_streams() == 0 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)  # polling, bounded by the deadline
    op.on_kill()
    thread.join(60)
    assert not thread.is_alive()
    assert outcome, "the transfer finished before it could be cancelled"
    return outcome[0]


def test_on_kill_upload_shuts_every_handle_and_publishes_nothing(remote, session, irods) -> None:
    remote.put("src/big.bin", os.urandom(4 * 1024 * KIB))
    irods.set_faults(latency_seconds=0.02)
    op = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src/big.bin"),
        destination_path=f"{HOME}/killed.bin",
        chunk_size=SMALL_CHUNK,
    )
    error = _cancel_when_streaming(op, irods)
    irods.set_faults(latency_seconds=0.0)
    assert isinstance(error, IrodsTransferCancelledError)
    assert irods.open_parallel_write_streams() == 0
    assert not session.data_objects.exists(f"{HOME}/killed.bin")


def test_on_kill_download_publishes_nothing_and_resume_completes(remote, session, irods) -> None:
    blob = os.urandom(3 * 1024 * KIB)
    session.data_objects.write(f"{HOME}/r.bin", blob[: 2 * 1024 * KIB])
    session.data_objects.write(f"{HOME}/r.bin", blob[2 * 1024 * KIB :], offset=2 * 1024 * KIB, truncate=False)
    irods.set_faults(latency_seconds=0.02)
    op = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/r.bin",
        destination_path=remote.path("dl/"),
        chunk_size=SMALL_CHUNK,
        streams=1,
    )
    partial = remote.dir / "dl"
    assert isinstance(_kill_once_written(op, partial, irods), IrodsTransferCancelledError)
    assert not (partial / "r.bin").exists()
    report = down(source_path=f"{HOME}/r.bin", destination_path=remote.path("dl/"), streams=1)
    assert report["files"][0]["resumed_from"] >= 4 * SMALL_CHUNK
    assert remote.files("dl") == {"r.bin": blob}


def test_a_left_temporary_whose_bytes_differ_is_not_resumed(remote, session, irods) -> None:
    """The resumed prefix is hashed on the server and compared with the source's first bytes: a temporary
    holding other bytes (a write applied out of order, a byte flipped) is removed, the copy starts at 0."""
    blob = os.urandom(2 * 1024 * KIB)
    session.data_objects.write(f"{HOME}/f.bin", blob)
    irods.set_faults(latency_seconds=0.02)
    op = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/f.bin",
        destination_path=remote.path("dl/"),
        chunk_size=SMALL_CHUNK,
        streams=1,
    )
    partial = remote.dir / "dl"
    assert isinstance(_kill_once_written(op, partial, irods), IrodsTransferCancelledError)
    (left,) = [p for p in partial.glob(".f.bin.irods-part-*") if p.stat().st_size >= 4 * SMALL_CHUNK]
    with left.open("r+b") as fh:
        first = fh.read(1)
        fh.seek(0)
        fh.write(bytes([first[0] ^ 0xFF]))
    report = down(source_path=f"{HOME}/f.bin", destination_path=remote.path("dl/"), streams=1)
    assert report["files"][0]["resumed_from"] == 0
    assert remote.files("dl") == {"f.bin": blob}
    assert not left.exists()


def _kill_once_written(op, partial, irods) -> BaseException | None:
    """Run ``op`` in a thread and ``on_kill`` it once a temporary in ``partial`` holds four chunks."""
    outcome: list[BaseException | None] = []
    thread = threading.Thread(target=lambda: outcome.append(_swallow(op)))
    thread.start()
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and thread.is_alive()
        and not any(p.stat().st_size >= 4 * SMALL_CHUNK for p in partial.glob(".*") if p.is_file())
    ):
        time.sleep(0.005)  # polling, bounded by the deadline
    op.on_kill()
    thread.join(60)
    irods.set_faults(latency_seconds=0.0)
    return outcome[0]


def _swallow(op) -> BaseException | None:
    try:
        op.execute({})
    except BaseException as exc:
        return exc
    return None
