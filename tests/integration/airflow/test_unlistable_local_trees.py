"""A local tree with a directory that cannot be listed, and a file named like a staging temporary.

rsync's decision (main.c: exit 23, RERR_PARTIAL "some files could not be transferred"): with
``continue_on_error`` the rest of the tree is copied, the unreadable directory is one FAILED entry naming it
(IrodsPermissionError, EACCES), the task fails at the end; without it the typed error comes at once. As root
``opendir`` is never refused, so EACCES is raised by ``os.scandir`` for that one directory.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from irods_provider.client.transfer import FileStatus, upload_files
from irods_provider.exceptions import IrodsError, IrodsPermissionError
from irods_provider.operators.transfer import LocalToIrodsOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
TEMPORARY_LIKE = ".c.txt.irods-part-0123456789abcdef"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``src/{a.txt, locked/x.txt, z/b.txt, .c.txt.irods-part-...}`` with ``locked`` unreadable."""
    src = tmp_path / "src"
    for name in ("a.txt", "locked/x.txt", "z/b.txt", TEMPORARY_LIKE):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(name.encode())
    locked = src / "locked"
    locked.chmod(0)
    real = os.scandir

    def scandir(path=".", *args, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(path, int) and os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path, *args, **kwargs)

    if os.geteuid() == 0:
        monkeypatch.setattr(os, "scandir", scandir)
    yield src
    locked.chmod(0o755)


def _by_name(files) -> dict[str, object]:
    return {os.path.relpath(f.source, f.source.split("/src/")[0] + "/src"): f for f in files}


def test_the_client_reports_the_directory_failed_and_uploads_the_rest(session, tree, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        report = upload_files(session, str(tree), f"{HOME}/up", continue_on_error=True)
    files = _by_name(report.files)
    assert {k: f.status for k, f in files.items()} == {
        "a.txt": FileStatus.TRANSFERRED,
        "z/b.txt": FileStatus.TRANSFERRED,
        "locked": FileStatus.FAILED,
        TEMPORARY_LIKE: FileStatus.SKIPPED,
    }
    assert files["locked"].error.startswith(IrodsPermissionError.__name__)
    assert str(tree / "locked") in files["locked"].error
    assert "EACCES" in files["locked"].error
    assert "staging temporary" in files[TEMPORARY_LIKE].reason
    assert any(TEMPORARY_LIKE in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert session.data_objects.read(f"{HOME}/up/z/b.txt") == b"z/b.txt"
    assert not session.data_objects.exists(f"{HOME}/up/{TEMPORARY_LIKE}")


def test_without_continue_on_error_the_typed_error_comes_before_any_file(session, tree) -> None:
    with pytest.raises(IrodsPermissionError) as caught:
        upload_files(session, str(tree), f"{HOME}/up2")
    assert caught.value.path == str(tree / "locked")
    assert not session.collections.exists(f"{HOME}/up2")


def test_the_operator_moves_the_rest_keeps_the_directory_and_fails_at_the_end(irods, session, tree) -> None:
    op = LocalToIrodsOperator(
        task_id="u", source_path=str(tree), destination_path=f"{HOME}/mv", move=True, continue_on_error=True
    )
    with pytest.raises(IrodsError, match="1 of 4 files failed") as caught:
        op.execute({})
    report = caught.value.report  # type: ignore[attr-defined]
    assert [f.source for f in report.files if f.status is FileStatus.FAILED] == [str(tree / "locked")]
    assert sorted(os.listdir(tree)) == [TEMPORARY_LIKE, "locked"]  # a.txt and z/ moved
    assert (tree / "locked" / "x.txt").read_bytes() == b"locked/x.txt"
    assert session.data_objects.read(f"{HOME}/mv/a.txt") == b"a.txt"
