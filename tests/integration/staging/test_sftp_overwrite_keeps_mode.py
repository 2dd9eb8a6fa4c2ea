"""An overwritten SFTP file keeps its own permission bits, as OpenSSH's client and the local download do.

OpenSSH's ``sftp put`` opens an existing target with ``SSH2_FXF_TRUNC`` (sftp-client.c ``do_upload``
at V_9_2_P1), and sftp-server.c ``process_open`` passes the mode to ``open(2)``, which applies it only to a
file it creates: the file keeps its mode. ``IrodsToLocalOperator`` does the same (test_local_downloads.py
``test_a_new_file_gets_the_umask_mode_and_an_overwritten_file_keeps_its_own``). The staging sink renamed a
temporary created with the server's default mode over the file: a private 0600 file became 0644.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest

from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
SIZES = {"small": 100, "large": 5 * CHUNK + 3}


@pytest.mark.parametrize("kept", [0o600, 0o640, 0o660, 0o755], ids=lambda mode: f"{mode:o}")
@pytest.mark.parametrize("size", list(SIZES))
def test_an_overwritten_file_keeps_its_mode(remote: Any, session: Any, kept: int, size: str) -> None:
    data = os.urandom(SIZES[size])
    session.data_objects.write(f"{HOME}/{size}.bin", data)
    old = remote.put(f"keep/{size}-{kept:o}.bin", b"old")
    old.chmod(kept)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=f"{HOME}/{size}.bin",
        destination_path=remote.path(f"keep/{size}-{kept:o}.bin"),
        overwrite=True,
        chunk_size=CHUNK,
    ).execute({})
    assert report["transferred"] == 1
    assert old.read_bytes() == data
    assert stat.S_IMODE(old.stat().st_mode) == kept
    assert sorted(p.name for p in old.parent.iterdir()) == [old.name]
