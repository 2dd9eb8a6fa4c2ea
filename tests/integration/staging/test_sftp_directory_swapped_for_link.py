"""A directory of an SFTP tree replaced by a symbolic link between the listing and the copy is refused.

With ``follow_symlinks=False`` the listing walks real directories only, but the file is opened later by its
path, and the server resolves every directory of that path (OpenSSH sftp-server ``process_open`` calls
open(2); asyncssh ``SFTPServer.open`` likewise): ``src/b`` swapped for a link to another directory holding a
file of the same name, size and mtime made the upload read, and ``move=True`` then delete, a file outside
the tree, the lstat of the last component seeing nothing wrong. The open's round trip now carries the
``realpath`` of the tree and of the file; the file must still be at its relative path below the tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import Any

import pytest

from irods_provider.exceptions import IrodsSourceChangedError, IrodsSymlinkError
from irods_provider.sftp._ranged import SftpRangedSource
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
INSIDE, OUTSIDE = b"i" * 4000, b"o" * 4000  # same size: the swap shows in no size


def _swap(remote: Any) -> None:
    """``src/b`` becomes a link to ``outside``, whose file takes the mtime of the one it replaces."""
    listed = os.stat(remote.dir / "src/b/m.bin")
    os.utime(remote.dir / "outside/m.bin", ns=(listed.st_atime_ns, listed.st_mtime_ns))
    shutil.rmtree(remote.dir / "src/b")
    os.symlink(remote.dir / "outside", remote.dir / "src/b")


def _swap_after_planning(remote: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the plan is made: ``src/b`` becomes a link to ``outside`` (its file's mtime copied over)."""
    planned = SFTPToIrodsOperator._plan

    def plan_then_swap(self: SFTPToIrodsOperator, *args: Any, **kwargs: Any) -> Any:
        plan = planned(self, *args, **kwargs)
        _swap(remote)
        return plan

    monkeypatch.setattr(SFTPToIrodsOperator, "_plan", plan_then_swap)


@pytest.mark.parametrize("move", [False, True])
def test_a_directory_swapped_for_a_link_after_the_listing_is_not_read_through(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch, move: bool
) -> None:
    remote.put("src/a.bin", b"a" * 100)
    remote.put("src/b/m.bin", INSIDE)
    remote.put("src/z.bin", b"z" * 100)
    remote.put("outside/m.bin", OUTSIDE)
    _swap_after_planning(remote, monkeypatch)
    with pytest.raises(IrodsSymlinkError, match="replaced by a link after the listing") as refused:
        SFTPToIrodsOperator(
            task_id="up",
            sftp_conn_id="cluster",
            source_path=remote.path("src"),
            destination_path=f"{HOME}/in",
            continue_on_error=True,
            move=move,
        ).execute({})
    assert str(refused.value.path).endswith("/src/b/m.bin")
    assert not session.data_objects.exists(f"{HOME}/in/b/m.bin")
    assert session.data_objects.read(f"{HOME}/in/z.bin") == b"z" * 100
    outside = remote.dir / "outside/m.bin"
    assert hashlib.sha256(outside.read_bytes()).digest() == hashlib.sha256(OUTSIDE).digest()  # not moved


def test_a_move_never_removes_a_file_through_a_directory_swapped_after_the_copy(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swap between the copy and the removal: the same bytes outside the tree (a user's other copy)."""
    remote.put("src/b/m.bin", INSIDE)
    remote.put("outside/m.bin", INSIDE)
    remove_if_unchanged = SftpRangedSource.remove_if_unchanged

    def swap_then_remove(self: SftpRangedSource) -> str | None:
        _swap(remote)
        return remove_if_unchanged(self)

    monkeypatch.setattr(SftpRangedSource, "remove_if_unchanged", swap_then_remove)
    report = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src"),
        destination_path=f"{HOME}/in",
        move=True,
    ).execute({})
    assert report["transferred"] == 1
    assert session.data_objects.read(f"{HOME}/in/b/m.bin") == INSIDE
    assert (remote.dir / "outside/m.bin").read_bytes() == INSIDE  # the other copy stays


def test_a_directory_swapped_while_its_file_is_read_is_a_changed_source(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swap after the open (range readers open the path again): the check after the last read sees it."""
    remote.put("src/b/m.bin", INSIDE)
    remote.put("outside/m.bin", OUTSIDE)
    change = SftpRangedSource.change

    def swap_then_check(self: SftpRangedSource, since: Any) -> str | None:
        _swap(remote)
        return change(self, since)

    monkeypatch.setattr(SftpRangedSource, "change", swap_then_check)
    with pytest.raises(IrodsSourceChangedError, match="replaced by a link after the listing"):
        SFTPToIrodsOperator(
            task_id="up",
            sftp_conn_id="cluster",
            source_path=remote.path("src"),
            destination_path=f"{HOME}/in",
        ).execute({})
    assert not session.data_objects.exists(f"{HOME}/in/b/m.bin")


def test_a_tree_reached_through_a_linked_root_is_still_copied(remote: Any, session: Any) -> None:
    """The tree's own root may be a link (an HPC home on another file system): only what lies below moved."""
    remote.put("real/b/m.bin", INSIDE)
    os.symlink(remote.dir / "real", remote.dir / "linked")
    report = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("linked"),
        destination_path=f"{HOME}/in",
    ).execute({})
    assert report["transferred"] == 1
    assert session.data_objects.read(f"{HOME}/in/b/m.bin") == INSIDE
