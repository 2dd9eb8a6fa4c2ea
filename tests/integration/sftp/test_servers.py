"""Both test servers: logins, Airflow's SFTPHook from an AIRFLOW_CONN_* variable, commands, the chroot."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import paramiko
import pytest

from irods_provider.testing.sftp import (
    EmbeddedSftpServer,
    SshTestServer,
    airflow_connection_json,
    paramiko_client,
)


@pytest.mark.parametrize("auth", ["key", "password"])
def test_login_lists_root(sftp_server: SshTestServer, auth: str) -> None:
    (sftp_server.root / f"hello-{auth}.txt").write_bytes(b"hi " + auth.encode())
    client = paramiko_client(sftp_server, auth=auth)  # type: ignore[arg-type]
    try:
        sftp = client.open_sftp()
        assert sftp.normalize(".") == sftp_server.remote_root
        with sftp.open(f"hello-{auth}.txt", "rb") as handle:
            assert handle.read() == b"hi " + auth.encode()
    finally:
        client.close()


def test_wrong_password_is_rejected(sftp_server: SshTestServer) -> None:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            sftp_server.host,
            port=sftp_server.port,
            username=sftp_server.username,
            password="not-the-password",
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
    client.close()


@pytest.mark.parametrize("auth", ["key", "password"])
def test_airflow_sftp_hook_put_get(
    sftp_server: SshTestServer, auth: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    monkeypatch.setenv("AIRFLOW_CONN_SFTP_TEST", airflow_connection_json(sftp_server, auth=auth))  # type: ignore[arg-type]
    payload = os.urandom(300_000)
    local = tmp_path / "up.bin"
    local.write_bytes(payload)
    hook = SFTPHook(ssh_conn_id="sftp_test")
    hook.store_file(f"hook-{auth}.bin", str(local))
    assert (sftp_server.root / f"hook-{auth}.bin").read_bytes() == payload
    back = tmp_path / "down.bin"
    hook.retrieve_file(f"hook-{auth}.bin", str(back))
    assert back.read_bytes() == payload


def test_command_sha256sum_matches(sftp_server: SshTestServer, ssh_client: paramiko.SSHClient) -> None:
    payload = os.urandom(123_457)
    (sftp_server.root / "sum me.bin").write_bytes(payload)
    _, stdout, stderr = ssh_client.exec_command("sha256sum 'sum me.bin'; echo oops >&2; exit 7", timeout=20)
    out = stdout.read().decode()
    assert out.split()[0] == hashlib.sha256(payload).hexdigest()
    assert stderr.read() == b"oops\n"
    assert stdout.channel.recv_exit_status() == 7


def test_command_reads_stdin(sftp_server: SshTestServer, ssh_client: paramiko.SSHClient) -> None:
    stdin, stdout, _ = ssh_client.exec_command("wc -c", timeout=20)
    stdin.write(b"x" * 70_000)
    stdin.channel.shutdown_write()
    assert stdout.read().strip() == b"70000"
    assert stdout.channel.recv_exit_status() == 0


def test_airflow_hook_runs_command(sftp_server: SshTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.ssh.hooks.ssh import SSHHook

    (sftp_server.root / "job.txt").write_bytes(b"abc")
    monkeypatch.setenv("AIRFLOW_CONN_SSH_TEST", airflow_connection_json(sftp_server))
    hook = SSHHook(ssh_conn_id="ssh_test")
    with hook.get_conn() as client:
        status, out, err = hook.exec_ssh_client_command(client, "sha256sum job.txt", False, None, 20)
    assert status == 0
    assert out.split()[0].decode() == hashlib.sha256(b"abc").hexdigest()
    assert err == b""


def test_embedded_sftp_is_chrooted(sftp_server: SshTestServer, sftp: paramiko.SFTPClient) -> None:
    if not isinstance(sftp_server, EmbeddedSftpServer):
        pytest.skip("only the embedded server is chrooted")
    (sftp_server.root / "inside.txt").write_bytes(b"in")
    assert "inside.txt" in sftp.listdir("/")
    with pytest.raises(FileNotFoundError):
        sftp.stat("/etc/passwd")
    with pytest.raises(FileNotFoundError):
        sftp.open("../../../../etc/passwd", "rb")
    assert sftp.normalize("../..") == "/"


def test_several_embedded_servers_at_once(tmp_path: Path) -> None:
    roots = [tmp_path / f"c{i}" for i in range(3)]
    servers = [EmbeddedSftpServer(root, username=f"user{i}") for i, root in enumerate(roots)]
    for server in servers:
        server.start()
    try:
        assert len({server.port for server in servers}) == 3
        for i, server in enumerate(servers):
            client = paramiko_client(server, auth="password")
            with client.open_sftp().open("who.txt", "wb") as handle:
                handle.write(f"cluster {i}".encode())
            client.close()
        assert [(root / "who.txt").read_text() for root in roots] == ["cluster 0", "cluster 1", "cluster 2"]
    finally:
        for server in servers:
            server.stop()
