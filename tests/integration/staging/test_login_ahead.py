"""The endpoint's SSH logins send their USERAUTH_REQUEST right behind the SERVICE_REQUEST (one round trip
less per connection) instead of from paramiko's transport thread once the SERVICE_ACCEPT is read; key and
password logins work so against the embedded server and sshd, a wrong password still fails typed, and a
plain paramiko user of the process keeps paramiko's own order.

Which thread sent the request tells the two orders apart (paramiko's transport is a thread of its own and
answers the SERVICE_ACCEPT there), so nothing here measures time.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import paramiko
import pytest
from paramiko.common import MSG_USERAUTH_REQUEST
from paramiko.packet import Packetizer

from irods_provider.exceptions import IrodsSftpConnectionError
from irods_provider.sftp import SftpEndpoint
from irods_provider.testing.sftp import airflow_connection_json

pytestmark = pytest.mark.timeout(60)


class Logins:
    """For each USERAUTH_REQUEST sent: whether paramiko's transport thread sent it (after the accept)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.from_transport_thread: list[bool] = []
        real = Packetizer.send_message

        def send_message(packetizer: Packetizer, data: Any) -> None:
            if data.asbytes()[:1] == bytes([MSG_USERAUTH_REQUEST]):
                self.from_transport_thread.append(isinstance(threading.current_thread(), paramiko.Transport))
            real(packetizer, data)

        monkeypatch.setattr(Packetizer, "send_message", send_message)


def _hook(conn_id: str, **kwargs: Any) -> Any:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    return SFTPHook(ssh_conn_id=conn_id, **kwargs)


@pytest.mark.parametrize("auth", ["key", "password"])
def test_each_connection_sends_its_login_with_the_service_request(
    remote, sftp_server, monkeypatch, auth
) -> None:
    if auth == "password" and sftp_server.password is None:
        pytest.skip("this server takes keys only")
    monkeypatch.setenv("AIRFLOW_CONN_LOGIN", airflow_connection_json(sftp_server, auth=auth))
    remote.put("login/a.txt", b"abc")
    logins = Logins(monkeypatch)
    with SftpEndpoint(_hook("login"), connections=2) as endpoint:
        endpoint.widen(3)
        for transport in endpoint.transports():
            assert transport.is_authenticated()
        assert endpoint.main.stat(remote.path("login/a.txt")).st_size == 3
    assert logins.from_transport_thread == [False, False, False]


def test_a_wrong_password_still_fails_typed(remote, sftp_server, monkeypatch) -> None:
    if sftp_server.password is None:
        pytest.skip("this server takes keys only")
    conn = json.loads(airflow_connection_json(sftp_server, auth="password"))
    conn["password"] = "not-the-password"
    monkeypatch.setenv("AIRFLOW_CONN_WRONG", json.dumps(conn))
    logins = Logins(monkeypatch)
    with (
        pytest.raises(IrodsSftpConnectionError),
        SftpEndpoint(_hook("wrong", conn_retry_attempts=1), connect_attempts=1) as endpoint,
    ):
        endpoint.main.normalize(".")
    assert logins.from_transport_thread == [False]


def test_a_plain_paramiko_login_in_the_same_process_keeps_its_order(remote, sftp_server, monkeypatch) -> None:
    with SftpEndpoint(_hook("cluster")):
        pass  # the process-wide hook point is installed
    logins = Logins(monkeypatch)
    plain = _hook("cluster")
    try:
        assert plain.get_conn().stat(".").st_mode is not None
    finally:
        plain.close_conn()
        plain.client.close()
    assert logins.from_transport_thread == [True]


def test_another_wrapper_of_start_client_does_not_install_the_login_ahead_twice(
    remote, sftp_server, monkeypatch
) -> None:
    """Someone else wrapping ``Transport.start_client`` (a test counting connections, another library) hides
    the endpoint's own wrapper: the endpoint must not wrap paramiko a second time. Twice wrapped, every login
    was sent twice (once ahead, once more by the transport thread on the SERVICE_ACCEPT) for the rest of the
    process: seen when test_eager_sftp_sessions.py ran before this file in one worker."""
    real = paramiko.Transport.start_client
    started: list[paramiko.Transport] = []

    def counting(transport: paramiko.Transport, *args: Any, **kwargs: Any) -> Any:
        started.append(transport)
        return real(transport, *args, **kwargs)

    monkeypatch.setattr(paramiko.Transport, "start_client", counting)
    monkeypatch.setenv("AIRFLOW_CONN_LOGIN", airflow_connection_json(sftp_server))
    remote.put("login/b.txt", b"abcd")
    logins = Logins(monkeypatch)
    with SftpEndpoint(_hook("login"), connections=2) as endpoint:
        endpoint.widen(3)
        assert endpoint.main.stat(remote.path("login/b.txt")).st_size == 4
        transports = endpoint.transports()
    assert len(started) == len(transports) == 3
    assert logins.from_transport_thread == [False, False, False]
