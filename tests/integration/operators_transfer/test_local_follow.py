"""``LocalToIrodsOperator(follow_symlinks=True)`` plans as it uploads: following links.

Its pre-check (the ``+`` refusal) used to plan without ``follow_symlinks``: a source named as a symlink
was refused although links were to be followed, and files reached through a followed directory link
escaped the check and were written under names the API cannot read back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

HOME = "/tempZone/home/rods"


def up(**kwargs):
    return LocalToIrodsOperator(task_id="up", **kwargs).execute({})


@pytest.fixture
def real(tmp_path: Path) -> Path:
    root = tmp_path / "real"
    root.mkdir()
    (root / "data.txt").write_bytes(b"D")
    return root


def test_a_named_symlink_source_uploads_with_follow_symlinks(irods, session, tmp_path, real) -> None:
    link = tmp_path / "link.txt"
    os.symlink(real / "data.txt", link)
    result = up(source_path=str(link), destination_path=f"{HOME}/a/", follow_symlinks=True)
    assert result["transferred"] == 1
    assert session.data_objects.read(f"{HOME}/a/link.txt") == b"D"


def test_a_plus_name_behind_a_followed_directory_link_is_refused(irods, session, tmp_path, real) -> None:
    (real / "run+1.txt").write_bytes(b"P")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "x.txt").write_bytes(b"x")
    os.symlink(real, tree / "sub")
    with pytest.raises(IrodsInvalidPathError, match=r"contains '\+'") as caught:
        up(source_path=str(tree), destination_path=f"{HOME}/b", follow_symlinks=True)
    assert caught.value.path == f"{HOME}/b/sub/run+1.txt"
    assert not session.collections.exists(f"{HOME}/b")  # nothing written
