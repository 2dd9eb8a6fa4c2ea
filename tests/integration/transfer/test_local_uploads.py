"""Local -> iRODS edges: a source that is no regular file, a destination collection that cannot be made.

Against the emulator over HTTP; each test names the report's statuses and the typed error.
"""

from __future__ import annotations

import errno
import os

import pytest

from irods_provider.client.transfer import FileStatus, upload_files, upload_object
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError, IrodsPermissionError

HOME = "/tempZone/home/rods"


def test_a_fifo_named_as_a_source_is_not_a_regular_file(session, tmp_path) -> None:
    """A FIFO named explicitly is there, just not a file: never "local source does not exist"."""
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(IrodsInvalidPathError, match="not a regular file") as caught:
        upload_files(session, str(tmp_path / "pipe"), f"{HOME}/x")
    assert caught.value.path == str(tmp_path / "pipe")
    assert "does not exist" not in str(caught.value)


def test_a_collection_that_cannot_be_created_fails_only_its_files(session, tmp_path) -> None:
    """``dest/sub`` is a data object: ``sub/b.txt`` fails typed, ``a.txt`` still uploads. Files selected by
    a pattern (a tree's directories are not planned then: a tree copy refuses up front, see
    test_tree_empty_directories.py)."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"A")
    (src / "sub" / "b.txt").write_bytes(b"B")
    session.collections.create(f"{HOME}/dest")
    session.data_objects.write(f"{HOME}/dest/sub", b"an object named like the directory")
    report = upload_files(session, str(src), f"{HOME}/dest", continue_on_error=True, pattern="*.txt")
    status = {os.path.basename(f.source): f.status for f in report.files}
    assert status == {"a.txt": FileStatus.TRANSFERRED, "b.txt": FileStatus.FAILED}
    failed = next(f for f in report.files if f.status is FileStatus.FAILED)
    assert failed.error is not None
    assert failed.error.startswith(IrodsAlreadyExistsError.__name__)
    assert f"{HOME}/dest/sub" in failed.error
    assert session.data_objects.read(f"{HOME}/dest/a.txt") == b"A"
    assert session.data_objects.read(f"{HOME}/dest/sub") == b"an object named like the directory"


def test_an_unreadable_source_fails_typed_and_the_others_upload(session, tmp_path, monkeypatch) -> None:
    """EACCES on opening one source (faked when running as root, who may read anything)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "locked.txt", "z.txt"):
        (src / name).write_bytes(name.encode())
    locked = src / "locked.txt"
    locked.chmod(0)
    if os.geteuid() == 0:
        real = os.open

        def open_(path, flags, mode=0o777, *, dir_fd=None):
            if os.fspath(path) == str(locked):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(os, "open", open_)
    report = upload_files(session, str(src), f"{HOME}/u", continue_on_error=True)
    status = {os.path.basename(f.source): f.status for f in report.files}
    assert status == {
        "a.txt": FileStatus.TRANSFERRED,
        "locked.txt": FileStatus.FAILED,
        "z.txt": FileStatus.TRANSFERRED,
    }
    with pytest.raises(IrodsPermissionError) as caught:
        upload_object(session, str(locked), f"{HOME}/one")
    assert caught.value.path == str(locked)
    assert "EACCES" in str(caught.value)
