"""A live SFTP server's answers are its errors, typed and naming the file, never a lost connection retried:
a full disk (a real tmpfs, ``SSH_FX_FAILURE``), a name too long for a temporary, a file truncated while it
is read, permissions; and what each failure leaves behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsSftpConnectionError, IrodsSftpFileError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(90)

HOME = "/tempZone/home/rods"
KIB = 1024


def up(**kwargs):
    return SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", chunk_size=64 * KIB, **kwargs).execute(
        {}
    )


def down(**kwargs):
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", chunk_size=64 * KIB, **kwargs).execute(
        {}
    )


@pytest.fixture
def full_disk(remote) -> Iterator[Path]:
    """The remote ``dst`` directory on a 1 MiB tmpfs the login user owns (needs root and ``mount``)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    target = remote.dir / "dst"
    target.mkdir()
    owner = remote.server.root.stat()
    options = f"size=1m,uid={owner.st_uid},gid={owner.st_gid}"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_is_the_servers_error_not_a_lost_connection(remote, session, full_disk, caplog) -> None:
    session.collections.create(f"{HOME}/src", exist_ok=True)
    session.data_objects.write(f"{HOME}/src/b.bin", os.urandom(2 * 1024 * KIB))
    with pytest.raises(IrodsSftpFileError) as caught:
        down(source_path=f"{HOME}/src", destination_path=remote.path("dst"), sftp_retries=3)
    assert not isinstance(caught.value, IrodsSftpConnectionError)
    assert "disk full" in str(caught.value)
    assert ".b.bin.irods-part-" in str(caught.value.path)
    assert "lost while copying" not in caplog.text  # never retried as a dropped channel
    assert os.listdir(full_disk) == []  # the partial temporary is not left on the full disk


@pytest.mark.parametrize("length", [226, 255])
def test_a_final_name_up_to_255_bytes_is_written_through_a_shortened_temporary(
    remote, session, length
) -> None:
    """``.<name>.irods-part-<16 hex>`` would exceed 255 bytes: the temporary's name is shortened (with a
    digest of the final name), so the server accepts it and the file lands under its own name."""
    name = "é" * 10 + "n" * (length - 20)  # multi-byte characters: the limit is in bytes
    assert len(name.encode()) == length
    data = os.urandom(300 * KIB)  # several chunks: a parallel writer over two connections
    session.collections.create(f"{HOME}/long", exist_ok=True)
    session.data_objects.write(f"{HOME}/long/{name}", data)
    report = down(
        source_path=f"{HOME}/long/{name}", destination_path=remote.path("back/"), sftp_connections=2
    )
    assert report["transferred"] == 1
    assert remote.files("back") == {name: data}
