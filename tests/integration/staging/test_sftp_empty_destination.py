"""A download whose SFTP ``destination_path`` renders empty is refused, as the local download refuses it.

A template of a missing value (``"{{ params.outdir }}"`` unset, an XCom pull of nothing) renders ``""``;
``IrodsToLocalOperator`` refuses it (transfers/_local.py ``local_paths``) and so does the upload's
``source_path``. The SFTP download took it for the login directory and published the files there.
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

HOME = "/tempZone/home/rods"


@pytest.mark.parametrize("rendered", ["", "   ", "\n"])
def test_an_empty_destination_is_refused_before_anything_is_written(
    remote: Any, session: Any, rendered: str
) -> None:
    session.data_objects.write(f"{HOME}/o.txt", b"o")
    session.collections.create(f"{HOME}/tree")
    session.data_objects.write(f"{HOME}/tree/t.txt", b"t")
    before = sorted(p.name for p in remote.server.root.iterdir())
    for source in (f"{HOME}/o.txt", f"{HOME}/tree"):
        with pytest.raises(IrodsInvalidPathError, match="destination_path"):
            IrodsToSFTPOperator(
                task_id="down", sftp_conn_id="cluster", source_path=source, destination_path=rendered
            ).execute({})
    assert sorted(p.name for p in remote.server.root.iterdir()) == before


def test_the_login_directory_is_still_reachable_by_name(remote: Any, session: Any) -> None:
    session.data_objects.write(f"{HOME}/dot.txt", b"dot")
    IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", source_path=f"{HOME}/dot.txt", destination_path="."
    ).execute({})
    assert (remote.server.root / "dot.txt").read_bytes() == b"dot"
