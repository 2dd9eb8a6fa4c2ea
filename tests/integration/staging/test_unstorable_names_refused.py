"""A tree holding a name iRODS cannot store is refused before any file is copied.

The provider's path rule (client/_paths.py ``validate_path``) refuses logical paths with control characters,
lone surrogates or over MAX_NAME_LEN - 1 = 1087 bytes (irods rodsDef.h ``MAX_NAME_LEN 1088``); a file
system allows a newline in a name and deep HPC trees reach the length. Refused per file, mid-run, the
task failed after copying the files before it (a retry under the default REFUSE policy then stopped at
those with "already exists"); the plan knows every destination first, as it already refuses a ``+``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
NAMES = {"a.txt": b"a", "line\nbreak.txt": b"n", "z.txt": b"z"}


def _nothing_under(session: Any, collection: str) -> None:
    if session.collections.exists(collection):
        assert list(session.collections.list(collection, recurse=True)) == []


@pytest.mark.parametrize("continue_on_error", [False, True])
def test_an_sftp_tree_with_a_newline_name(remote: Any, session: Any, continue_on_error: bool) -> None:
    for name, data in NAMES.items():
        remote.put(f"src/{name}", data)
    with pytest.raises(IrodsInvalidPathError, match="control characters") as refused:
        SFTPToIrodsOperator(
            task_id="up",
            sftp_conn_id="cluster",
            source_path=remote.path("src"),
            destination_path=f"{HOME}/in",
            continue_on_error=continue_on_error,
        ).execute({})
    assert "line\\nbreak.txt" in str(refused.value)  # the file to rename, named
    _nothing_under(session, f"{HOME}/in")


@pytest.mark.parametrize("name", ["newline", "overlong"])
def test_a_local_tree_with_an_unstorable_path(tmp_path: Path, session: Any, irods: Any, name: str) -> None:
    root = tmp_path / "src"
    for plain, data in (("a.txt", b"a"), ("z.txt", b"z")):
        (root / plain).parent.mkdir(parents=True, exist_ok=True)
        (root / plain).write_bytes(data)
    if name == "newline":
        bad, match = root / "line\nbreak.txt", "control characters"
    else:  # its collection (1031 bytes) can be created, the object's path (1232 bytes) cannot
        bad, match = root.joinpath(*(letter * 200 for letter in "defgh"), "long" * 50), "too long"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"bad")
    with pytest.raises(IrodsInvalidPathError, match=match):
        LocalToIrodsOperator(task_id="up", source_path=str(root), destination_path=f"{HOME}/local").execute(
            {}
        )
    _nothing_under(session, f"{HOME}/local")
