"""An SFTP tree with a subdirectory the login user may not list, a file named like a staging temporary, and a
tree move that keeps a directory.

Unlistable: OpenSSH's sftp-server answers an ``opendir`` refused by the kernel with
``SSH2_FX_PERMISSION_DENIED`` (sftp-server.c process_opendir -> errno_to_portable(EACCES)). As rsync decides
(exit 23, "some files could not be transferred"): with ``continue_on_error`` every other file is copied, the
directory is one FAILED entry naming it, and the task fails at the end; without it the typed error comes
before any file. As root the kernel refuses nothing: the embedded server refuses that one directory itself
(EACCES on its ``scandir``, answered as FX_PERMISSION_DENIED by asyncssh); OpenSSH as root is skipped.
"""

from __future__ import annotations

import errno
import os

import pytest

from irods_provider.exceptions import IrodsPermissionError
from irods_provider.testing import sftp as testing_sftp
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
TEMPORARY_LIKE = ".c.bin.irods-part-0123456789abcdef"


def up(**kwargs):
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **kwargs).execute({})


@pytest.fixture
def locked(remote, monkeypatch):
    """``tree/{a.bin, locked/x.bin, z/b.bin}`` with ``locked`` not listable by the login user."""
    remote.put("tree/a.bin", b"a" * 1000)
    remote.put("tree/z/b.bin", b"b" * 1000)
    directory = remote.put("tree/locked/x.bin", b"x").parent
    if remote.server.root.stat().st_uid == os.geteuid() == 0:
        if remote.server.kind != "asyncssh":
            pytest.skip("the SFTP login user is root: permissions do not bind it")
        real = testing_sftp._FaultySftpServer.scandir

        async def scandir(self, path: bytes):
            if path.rstrip(b"/").endswith(b"tree/locked"):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path.decode())
            async for entry in real(self, path):
                yield entry

        monkeypatch.setattr(testing_sftp._FaultySftpServer, "scandir", scandir)
    directory.chmod(0)
    yield directory
    directory.chmod(0o755)


def test_the_rest_of_the_tree_is_moved_and_the_directory_fails_at_the_end(remote, session, locked) -> None:
    remote.put("tree/" + TEMPORARY_LIKE, b"looks like ours")
    with pytest.raises(IrodsPermissionError) as caught:
        up(source_path=remote.path("tree"), destination_path=f"{HOME}/t", continue_on_error=True, move=True)
    assert str(caught.value.path).endswith("tree/locked")
    report = caught.value.report  # type: ignore[attr-defined]
    status = {f.source.rsplit("/tree/", 1)[1]: (f.status.value, f.reason, f.error) for f in report.files}
    assert status["a.bin"][0] == status["z/b.bin"][0] == "transferred"
    failed, _, error = status["locked"]
    assert failed == "failed"
    assert error.startswith("IrodsPermissionError")
    assert "tree/locked" in error
    assert "SSH_FX_PERMISSION_DENIED" in error
    assert status[TEMPORARY_LIKE][0] == "skipped"
    assert "staging temporary" in status[TEMPORARY_LIKE][1]
    assert session.data_objects.read(f"{HOME}/t/z/b.bin") == b"b" * 1000
    assert not session.data_objects.exists(f"{HOME}/t/{TEMPORARY_LIKE}")
    # Moved: a.bin and z/ gone; the directory that could not be listed is kept, and reported kept.
    assert sorted(os.listdir(remote.dir / "tree")) == [TEMPORARY_LIKE, "locked"]
    assert [(k.path.rsplit("/tree/", 1)[1], k.reason) for k in report.kept_directories] == [
        ("locked", "could not be listed: nothing in it was moved")
    ]


def test_an_empty_directory_that_cannot_be_listed_is_not_removed_by_a_move(remote, session, locked) -> None:
    locked.chmod(0o755)
    (locked / "x.bin").unlink()
    locked.chmod(0)
    with pytest.raises(IrodsPermissionError):
        up(source_path=remote.path("tree"), destination_path=f"{HOME}/e", continue_on_error=True, move=True)
    assert sorted(os.listdir(remote.dir / "tree")) == ["locked"]


def test_without_continue_on_error_the_typed_error_comes_before_any_file(remote, session, locked) -> None:
    with pytest.raises(IrodsPermissionError) as caught:
        up(source_path=remote.path("tree"), destination_path=f"{HOME}/n")
    assert str(caught.value.path).endswith("tree/locked")
    assert not session.collections.exists(f"{HOME}/n")


def test_a_directory_a_move_keeps_is_in_the_xcom_with_its_reason(remote, session) -> None:
    remote.put("src/a.bin", b"a")
    remote.put("src/sub/b.bin", b"b")
    os.symlink("b.bin", remote.dir / "src" / "sub" / "link")
    report = up(source_path=remote.path("src"), destination_path=f"{HOME}/k", move=True)
    assert report["transferred"] == 2
    (kept,) = report["kept_directories"]
    assert kept["path"].endswith("/src/sub")
    assert "still holds what was not moved" in kept["reason"]
