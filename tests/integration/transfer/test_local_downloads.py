"""iRODS -> local edges an adversarial tester found, against the emulator over HTTP.

- A directory symlink planted in the target after the plan (another user of a shared directory) is never
  followed: that file fails with IrodsSymlinkError, nothing lands outside, the other files still arrive.
- A FIFO or socket at the destination is refused under every skip policy, and hashing one never blocks.
- Any legal name downloads: the temporary's name is shortened to fit NAME_MAX.
- Local OS errors are typed, naming the local path and the iRODS source (a file in the way, disk full,
  permission denied), and leave no temporary.
- The published file has the mode ``open(path, "w")`` would leave (umask; an overwritten file keeps its).
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.client.transfer import (
    ChecksumScheme,
    FileStatus,
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    download_files,
    download_object,
)
from irods_provider.client.transfer._localdir import NAME_MAX, temp_prefix
from irods_provider.client.transfer._policy import local_checksum
from irods_provider.exceptions import (
    IrodsInvalidPathError,
    IrodsLocalFileError,
    IrodsNotADirectoryError,
    IrodsPermissionError,
    IrodsSymlinkError,
)

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(max_concurrent_files=1, chunk_size=64 * 1024, retries=0)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if ".irods-part-" in p.name)


# -- a symlink planted on the way after the plan ------------------------------------------------------


@pytest.fixture
def shared(session, tmp_path) -> tuple[Path, Path]:
    """``c/a_first.txt`` and ``c/sub/evil.txt`` in the zone; an empty target and an outside directory."""
    session.collections.create(f"{HOME}/c/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/c/a_first.txt", b"first")
    session.data_objects.write(f"{HOME}/c/sub/evil.txt", b"attacker-chosen bytes")
    (tmp_path / "target").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path / "target", tmp_path / "outside"


def _plant_before_writing(session, monkeypatch, link: Path, to: Path, *, replace_dir: bool = False) -> None:
    """Plant ``link -> to`` once the download of ``.../sub/evil.txt`` starts (planning is over then: the
    plan lists collections and never stats this object)."""
    real = session.data_objects.stat

    def stat_then_plant(path: str, *args, **kwargs):
        if path.endswith("/sub/evil.txt") and not link.is_symlink():
            if replace_dir:
                link.rmdir()
            os.symlink(to, link)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(session.data_objects, "stat", stat_then_plant)


def test_a_directory_symlink_planted_after_the_plan_is_never_followed(session, shared, monkeypatch) -> None:
    target, outside = shared
    _plant_before_writing(session, monkeypatch, target / "sub", outside)
    # Selected by a pattern: a tree copy creates ``sub`` before any file (test_tree_empty_directories.py).
    report = download_files(session, f"{HOME}/c", target, config=CFG, continue_on_error=True, pattern="*.txt")
    status = {Path(f.source).name: f.status for f in report.files}
    assert status == {"a_first.txt": FileStatus.TRANSFERRED, "evil.txt": FileStatus.FAILED}
    failed = next(f for f in report.files if f.status is FileStatus.FAILED)
    assert failed.error is not None
    assert failed.error.startswith("IrodsSymlinkError")
    assert str(target / "sub") in failed.error
    assert os.listdir(outside) == []
    assert (target / "a_first.txt").read_bytes() == b"first"


def test_a_directory_swapped_for_a_symlink_raises_typed_and_writes_nothing_outside(
    session, shared, monkeypatch
) -> None:
    """``target/sub`` existed (and passed the plan's check); it is replaced by a link before the write."""
    target, outside = shared
    (target / "sub").mkdir()
    _plant_before_writing(session, monkeypatch, target / "sub", outside, replace_dir=True)
    with pytest.raises(IrodsSymlinkError) as caught:
        download_files(session, f"{HOME}/c", target, config=CFG)
    assert caught.value.path == str(target / "sub")
    assert os.listdir(outside) == []
    assert _leftovers(target) == []


def test_a_symlink_deeper_down_is_refused_too(session, tmp_path, monkeypatch) -> None:
    session.collections.create(f"{HOME}/d/x/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/d/x/sub/evil.txt", b"bytes")
    target, outside = tmp_path / "target", tmp_path / "outside"
    (target / "x").mkdir(parents=True)
    outside.mkdir()
    _plant_before_writing(session, monkeypatch, target / "x" / "sub", outside)
    with pytest.raises(IrodsSymlinkError):  # a pattern: ``x/sub`` is not created before the files
        download_files(session, f"{HOME}/d", target, config=CFG, pattern="*.txt")
    assert os.listdir(outside) == []


# -- FIFOs and sockets at the destination ----------------------------------------------------------


@pytest.mark.parametrize("skip", [SkipPolicy.EXISTS, SkipPolicy.SIZE, SkipPolicy.CHECKSUM])
@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_a_fifo_or_socket_at_the_destination_is_refused(session, tmp_path, monkeypatch, skip, kind) -> None:
    import socket

    session.data_objects.write(f"{HOME}/empty.dat", b"")
    local = tmp_path / "empty.dat"
    sock = None
    if kind == "fifo":
        os.mkfifo(local)
    else:
        sock = socket.socket(socket.AF_UNIX)
        monkeypatch.chdir(tmp_path)  # bound by a relative name: a socket path is limited to 107 bytes
        try:
            sock.bind(local.name)
        except BaseException:
            sock.close()
            raise
    try:
        with pytest.raises(IrodsInvalidPathError, match="not a regular file") as caught:
            download_object(
                session, f"{HOME}/empty.dat", local, skip=skip, overwrite=OverwritePolicy.OVERWRITE
            )
    finally:
        if sock is not None:
            sock.close()
    assert caught.value.path == str(local)
    assert not stat.S_ISREG(os.lstat(local).st_mode)  # left as it was


def test_hashing_a_fifo_never_blocks(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe")
    done: list[BaseException] = []
    worker = threading.Thread(
        target=lambda: done.append(
            _raised(lambda: local_checksum(str(tmp_path / "pipe"), ChecksumScheme.SHA256))
        )
    )
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock it before failing
        os.close(os.open(tmp_path / "pipe", os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("hashing a FIFO blocked")
    assert isinstance(done[0], IrodsInvalidPathError)


def _raised(call) -> BaseException:
    try:
        call()
    except BaseException as exc:  # handed to the asserting thread
        return exc
    return AssertionError("no error")


# -- long names -------------------------------------------------------------------------------------


LONG = "x" * 240 + ".bin"  # 244 bytes: a legal name; ".<name>.irods-part-<12 hex>" would be 269


def test_a_name_near_name_max_downloads(session, tmp_path) -> None:
    session.data_objects.write(f"{HOME}/{LONG}", b"hello")
    one = download_object(session, f"{HOME}/{LONG}", tmp_path / "d" / LONG)
    many = download_files(session, f"{HOME}/{LONG}", tmp_path / "d2")
    assert one.status is FileStatus.TRANSFERRED
    assert [f.status for f in many.files] == [FileStatus.TRANSFERRED]
    assert (tmp_path / "d" / LONG).read_bytes() == b"hello"
    assert (tmp_path / "d2" / LONG).read_bytes() == b"hello"
    assert _leftovers(tmp_path) == []


def test_a_long_name_finds_its_stale_temporaries_and_spares_its_neighbours(session, tmp_path) -> None:
    """The shortened prefix is deterministic (a killed attempt's temporary is removed by the next
    success) and holds a digest of the whole name (a sibling sharing the first 240 bytes keeps its)."""
    other = "x" * 240 + ".dat"
    stale = f"{temp_prefix(LONG)}0123456789ab"
    neighbour = f"{temp_prefix(other)}0123456789ab"
    assert temp_prefix(LONG) != temp_prefix(other)
    assert max(len(os.fsencode(n)) for n in (stale, neighbour)) <= NAME_MAX
    (tmp_path / stale).write_bytes(b"partial")
    (tmp_path / neighbour).write_bytes(b"someone else's partial")
    session.data_objects.write(f"{HOME}/{LONG}", b"hello")
    download_object(session, f"{HOME}/{LONG}", tmp_path / LONG)
    assert sorted(os.listdir(tmp_path)) == sorted([LONG, neighbour])


def test_temp_prefix_cuts_multibyte_names_on_a_character_boundary() -> None:
    name = "é" * 127  # 254 bytes
    prefix = temp_prefix(name)
    assert len(os.fsencode(prefix)) + 12 <= NAME_MAX
    assert prefix.startswith(".é")
    assert temp_prefix("short.txt") == ".short.txt.irods-part-"


# -- local OS errors, typed ---------------------------------------------------------------------------


def test_a_file_where_a_directory_is_needed_is_a_typed_error(session, tmp_path) -> None:
    session.collections.create(f"{HOME}/c/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/c/sub/b.txt", b"B")
    target = tmp_path / "t"
    target.mkdir()
    (target / "sub").write_bytes(b"a local file named like the collection")
    # Files a pattern selects fail one by one; a tree copy refuses before any file (its directories first).
    report = download_files(session, f"{HOME}/c", target, continue_on_error=True, pattern="*.txt")
    assert [f.status for f in report.files] == [FileStatus.FAILED]
    assert report.files[0].error is not None
    assert report.files[0].error.startswith("IrodsNotADirectoryError")
    with pytest.raises(IrodsNotADirectoryError) as caught:
        download_files(session, f"{HOME}/c", target)
    assert caught.value.path == str(target / "sub")
    with pytest.raises(IrodsNotADirectoryError) as direct:  # no root: the path as the caller named it
        download_object(session, f"{HOME}/c/sub/b.txt", target / "sub" / "deeper" / "b.txt")
    assert f"{HOME}/c/sub/b.txt" in str(direct.value)


@pytest.fixture
def full_disk(monkeypatch, tmp_path) -> Path:
    """``tmp_path/out`` behaves as a full disk: writes to files there fail with ENOSPC (no tmpfs of a
    chosen size can be mounted by an unprivileged test; other files of the process write as usual)."""
    out = tmp_path / "out"
    out.mkdir()
    real = os.pwrite

    def pwrite(fd: int, data, offset: int) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(out)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to tell the files apart")
def test_disk_full_is_typed_names_both_paths_and_leaves_no_temporary(session, full_disk) -> None:
    session.data_objects.write(f"{HOME}/big", os.urandom(256 * 1024))
    with pytest.raises(IrodsLocalFileError) as caught:
        download_object(session, f"{HOME}/big", full_disk / "big", config=CFG)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.errno_name == "ENOSPC"
    assert caught.value.path == str(full_disk / "big")
    assert f"{HOME}/big" in str(caught.value)
    assert os.listdir(full_disk) == []


def test_a_target_directory_without_write_permission_is_typed(session, tmp_path, monkeypatch) -> None:
    """EACCES on creating the temporary (faked when running as root, who may write anywhere)."""
    session.data_objects.write(f"{HOME}/d.txt", b"D")
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    if os.geteuid() == 0:
        real = os.open

        def open_(path, flags, mode=0o777, *, dir_fd=None):
            if dir_fd is not None and str(path).startswith(".d.txt.irods-part-"):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            return real(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(os, "open", open_)
    with pytest.raises(IrodsPermissionError) as caught:
        download_files(session, f"{HOME}/d.txt", target)
    assert caught.value.path == str(target / "d.txt")
    assert f"{HOME}/d.txt" in str(caught.value)


# -- the published file's mode -------------------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_mode_and_an_overwritten_file_keeps_its_own(
    session, tmp_path, umask
) -> None:
    session.data_objects.write(f"{HOME}/a.txt", b"A")
    download_object(session, f"{HOME}/a.txt", tmp_path / "new.txt")
    assert _mode(tmp_path / "new.txt") == 0o644
    for kept in (0o644, 0o640, 0o600):
        old = tmp_path / f"old{kept:o}.txt"
        old.write_bytes(b"old")
        old.chmod(kept)
        download_object(session, f"{HOME}/a.txt", old, overwrite=OverwritePolicy.OVERWRITE)
        assert (old.read_bytes(), _mode(old)) == (b"A", kept)


def test_a_private_umask_gives_a_private_file(session, tmp_path, umask) -> None:
    os.umask(0o077)
    session.data_objects.write(f"{HOME}/a.txt", b"A")
    download_files(session, f"{HOME}/a.txt", tmp_path / "out")
    assert _mode(tmp_path / "out" / "a.txt") == 0o600
