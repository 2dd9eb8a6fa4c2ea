"""Publishing onto an existing SFTP file on a server that does not offer ``posix-rename@openssh.com``.

Sites switch requests off with ``sftp-server -P`` / ``internal-sftp -P``. OpenSSH then neither advertises
the extension in its ``VERSION`` (sftp-server.c ``compose_extension`` skips a disallowed one) nor runs it:
``process_extended`` answers SSH2_FX_PERMISSION_DENIED for a known but disallowed request, and
SSH2_FX_OP_UNSUPPORTED ("Operation unsupported", ``status_to_message``) for one it does not know
(openssh-portable sftp-server.c, V_9_2 and master). A replacing publish must then remove the old file and
use the plain rename, as its docstring promises, instead of failing with "Permission denied".
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from irods_provider.sftp._io import publish_atomically
from irods_provider.testing.sftp import OpenSshServer, airflow_connection_json, paramiko_client
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

HOME = "/tempZone/home/rods"
pytestmark = pytest.mark.openssh


@pytest.fixture(scope="module")
def restricted() -> Iterator[OpenSshServer]:
    """Debian's sshd whose SFTP server refuses posix-rename (``internal-sftp -P posix-rename``)."""
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(f"OpenSSH variant skipped: {reason}")
    with OpenSshServer(sftp_subsystem="internal-sftp -P posix-rename") as server:
        yield server


def _put(server: OpenSshServer, relative: str, data: bytes) -> None:
    path = server.root / relative
    owner = server.root.stat()
    for directory in reversed([p for p in path.parents if not p.exists()]):
        directory.mkdir()
        os.chown(directory, owner.st_uid, owner.st_gid)
    path.write_bytes(data)
    os.chown(path, owner.st_uid, owner.st_gid)


def _names(server: OpenSshServer, relative: str) -> list[str]:
    return sorted(p.name for p in (server.root / relative).iterdir())


def test_the_server_does_not_advertise_it_and_refuses_it(restricted: OpenSshServer) -> None:
    _put(restricted, "probe/a", b"a")
    _put(restricted, "probe/b", b"b")
    with paramiko_client(restricted) as ssh:
        sftp: Any = ssh.open_sftp()
        with pytest.raises(PermissionError):
            sftp.posix_rename("probe/a", "probe/b")
    assert (restricted.root / "probe/b").read_bytes() == b"b"


def test_an_overwriting_download_replaces_the_file(
    restricted: OpenSshServer, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(restricted))
    small, large = os.urandom(1000), os.urandom(3 * 1024 * 1024 + 5)
    session.data_objects.write(f"{HOME}/small.bin", small)
    session.data_objects.write(f"{HOME}/large.bin", large)
    _put(restricted, "over/small.bin", b"old small")
    _put(restricted, "over/large.bin", b"old large")
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=[f"{HOME}/small.bin", f"{HOME}/large.bin"],
        destination_path="over/",
        overwrite=True,
        chunk_size=256 * 1024,
    ).execute({})
    assert report["transferred"] == 2
    assert report["failed"] == 0
    over = restricted.root / "over"
    got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in over.iterdir()}
    assert got == {
        "large.bin": hashlib.sha256(large).hexdigest(),
        "small.bin": hashlib.sha256(small).hexdigest(),
    }  # no temporary left beside them


def test_publish_atomically_replaces_the_file(restricted: OpenSshServer) -> None:
    _put(restricted, "pub/final.bin", b"old")
    with paramiko_client(restricted) as ssh:
        sftp = ssh.open_sftp()
        with publish_atomically(sftp, "pub/final.bin") as writer:
            writer.write(b"new bytes")
    assert _names(restricted, "pub") == ["final.bin"]
    assert (restricted.root / "pub/final.bin").read_bytes() == b"new bytes"


def test_the_sessions_know_what_the_server_offers(restricted: OpenSshServer, sftp_server: Any) -> None:
    from irods_provider.sftp._session import open_sftp_session, server_offers

    for server, offered in ((restricted, False), (sftp_server, True)):
        with paramiko_client(server) as ssh:
            transport = ssh.get_transport()
            assert transport is not None
            client = open_sftp_session(transport)
            assert server_offers(client, "posix-rename@openssh.com") is None  # VERSION not read yet
            client.normalize(".")
            assert server_offers(client, "posix-rename@openssh.com") is offered
            client.close()
