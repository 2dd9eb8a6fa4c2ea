"""Local -> iRODS edges: a source that is no regular file, a destination collection that cannot be made.

Against the emulator over HTTP; each test names the report's statuses and the typed error.
"""

from __future__ import annotations

import os

import pytest

from irods_provider.client.transfer import FileStatus, upload_files
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsInvalidPathError

HOME = "/tempZone/home/rods"


def test_a_fifo_named_as_a_source_is_not_a_regular_file(session, tmp_path) -> None:
    """A FIFO named explicitly is there, just not a file: never "local source does not exist"."""
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(IrodsInvalidPathError, match="not a regular file") as caught:
        upload_files(session, str(tmp_path / "pipe"), f"{HOME}/x")
    assert caught.value.path == str(tmp_path / "pipe")
    assert "does not exist" not in str(caught.value)


def test_a_collection_that_cannot_be_created_fails_only_its_files(session, tmp_path) -> None:
    """``dest/sub`` is a data object: ``sub/b.txt`` fails typed, ``a.txt`` still uploads."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"A")
    (src / "sub" / "b.txt").write_bytes(b"B")
    session.collections.create(f"{HOME}/dest")
    session.data_objects.write(f"{HOME}/dest/sub", b"an object named like the directory")
    report = upload_files(session, str(src), f"{HOME}/dest", continue_on_error=True)
    status = {os.path.basename(f.source): f.status for f in report.files}
    assert status == {"a.txt": FileStatus.TRANSFERRED, "b.txt": FileStatus.FAILED}
    failed = next(f for f in report.files if f.status is FileStatus.FAILED)
    assert failed.error is not None
    assert failed.error.startswith(IrodsAlreadyExistsError.__name__)
    assert f"{HOME}/dest/sub" in failed.error
    assert session.data_objects.read(f"{HOME}/dest/a.txt") == b"A"
    assert session.data_objects.read(f"{HOME}/dest/sub") == b"an object named like the directory"
