"""Every SFTP session the endpoint opens sends its first request right behind its ``INIT``, before it
reads any answer (the server's ``VERSION`` is read with the first one): one round trip less per session,
on the first connection (the plan's first request), on those opened later and on extra channels.

Observed on paramiko's request plumbing (``tests/support/sftp_wire.py``), against the embedded server and
sshd. A server that ends the session before its ``VERSION`` fails typed, at the first request, and is not
retried on new connections (sshd with ``Subsystem sftp /bin/true``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import paramiko
import pytest

from irods_provider.exceptions import IrodsSftpConnectionError
from irods_provider.sftp import SftpEndpoint
from irods_provider.testing.sftp import OpenSshServer, airflow_connection_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from sftp_wire import SftpWire

pytestmark = pytest.mark.timeout(60)


def _hook(conn_id: str = "cluster") -> Any:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    return SFTPHook(ssh_conn_id=conn_id)


def test_each_session_sends_its_first_request_before_reading_an_answer(remote, monkeypatch) -> None:
    remote.put("eager/a.txt", b"first")
    wire = SftpWire().install(monkeypatch)
    with SftpEndpoint(_hook(), connections=1) as endpoint:
        assert endpoint.main.stat(remote.path("eager/a.txt")).st_size == 5  # the first connection's own
        endpoint.widen(2)  # a connection opened later
        extra = endpoint.open_channels(3)  # idle ones lent, and channels opened on the connections
        try:
            for client in extra:
                assert client.stat(remote.path("eager/a.txt")).st_size == 5
        finally:
            endpoint.release(extra)
    clients = [c for c in wire.clients() if any(kind == "send" for kind, _ in wire.events[c])]
    assert len(clients) >= 3
    for client in clients:
        kind, what = wire.events[client][0]
        assert (kind, what.split(" ", 1)[0]) == ("send", "stat")  # no VERSION awaited before it


@pytest.fixture
def sftp_ends_at_once(monkeypatch) -> Any:
    """sshd whose ``sftp`` subsystem exits at once (no ``VERSION``), as ``broken``; counts SSH
    connections started."""
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    started: list[object] = []
    real = paramiko.Transport.start_client

    def counting(transport: paramiko.Transport, *args: Any, **kwargs: Any) -> Any:
        started.append(transport)
        return real(transport, *args, **kwargs)

    monkeypatch.setattr(paramiko.Transport, "start_client", counting)
    with OpenSshServer(sftp_subsystem="/bin/true") as server:
        conn = json.loads(airflow_connection_json(server))
        monkeypatch.setenv("AIRFLOW_CONN_BROKEN", json.dumps(conn))
        yield started


def test_a_session_ended_before_its_version_fails_typed_and_is_not_reconnected(sftp_ends_at_once) -> None:
    with (
        pytest.raises(IrodsSftpConnectionError, match="SFTP session"),
        SftpEndpoint(_hook("broken"), backoff=0.0) as endpoint,
    ):
        endpoint.main.normalize(".")
    assert len(sftp_ends_at_once) == 1  # one login: a server that runs no SFTP is not tried again


def test_a_request_sent_after_the_server_closed_the_session_fails_typed() -> None:
    """The server's ``sftp`` subsystem exits before the session's first request leaves (its CLOSE arrived
    first, so paramiko refuses the send with ``OSError: Socket is closed``): the same typed error as an
    end seen at the first answer, not a raw socket error (CI saw this race as a flaky test above)."""
    reason = OpenSshServer.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with OpenSshServer(sftp_subsystem="/bin/true") as server, paramiko.SSHClient() as ssh:
        ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        ssh.connect(
            server.host, port=server.port, username=server.username, key_filename=str(server.client_key_path)
        )
        transport = ssh.get_transport()
        assert transport is not None
        with pytest.raises(IrodsSftpConnectionError, match="SFTP session"):
            _session_after_its_end(transport).normalize(".")


def _session_after_its_end(transport: paramiko.Transport) -> paramiko.SFTPClient:
    """An eager session on ``transport`` once the server has closed it (its subsystem exited)."""
    from irods_provider.sftp._session import open_sftp_session

    client = open_sftp_session(transport)
    channel = client.get_channel()
    assert channel is not None
    for _ in range(500):  # the subsystem's exit closes the channel within milliseconds
        if channel.closed:
            break
        time.sleep(0.01)
    assert channel.closed
    assert transport.is_active()
    return client
