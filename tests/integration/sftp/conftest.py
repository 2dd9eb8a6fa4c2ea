"""Real SSH/SFTP servers for the SFTP tests: the embedded asyncssh server and Debian's sshd."""

from __future__ import annotations

from collections.abc import Iterator

import paramiko
import pytest

from irods_provider.client.transfer._sftp import open_sftp_channels
from irods_provider.testing.sftp import EmbeddedSftpServer, OpenSshServer, SshTestServer, paramiko_client


@pytest.fixture(scope="module", params=["asyncssh", pytest.param("openssh", marks=pytest.mark.openssh)])
def sftp_server(request: pytest.FixtureRequest) -> Iterator[SshTestServer]:
    """One running server per kind; the OpenSSH one is skipped (with the reason) where it cannot run."""
    server: SshTestServer
    if request.param == "openssh":
        reason = OpenSshServer.unavailable_reason()
        if reason is not None:
            pytest.skip(f"OpenSSH variant skipped: {reason}")
        server = OpenSshServer()
    else:
        server = EmbeddedSftpServer()
    with server:
        yield server


@pytest.fixture
def ssh_client(sftp_server: SshTestServer) -> Iterator[paramiko.SSHClient]:
    client = paramiko_client(sftp_server, auth="key")
    yield client
    client.close()


@pytest.fixture
def sftp(ssh_client: paramiko.SSHClient) -> paramiko.SFTPClient:
    transport = ssh_client.get_transport()
    assert transport is not None
    return open_sftp_channels(transport, 1)[0]
