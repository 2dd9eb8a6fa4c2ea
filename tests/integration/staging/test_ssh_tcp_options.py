"""The SSH connections the endpoint opens send their first packet with TCP_NODELAY already set.

Neither paramiko nor sshd (before an interactive session) sets it, so each handshake stalled twice on Nagle
+ delayed ACK (~40 ms each, traced against OpenSSH 9.2); on Linux quick ACKs are re-armed around the
handshake's reads too, and only then. Other SSH users of the process keep their sockets as they are, and a
ProxyCommand or a non-TCP socket still connects untouched. Run against the embedded server and sshd.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.packet import Packetizer

from irods_provider.sftp import SftpEndpoint
from irods_provider.sftp._tcp import tuned_handshakes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import write_over_each_connection

pytestmark = pytest.mark.timeout(60)

QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
BRIDGE = Path(__file__).parents[2] / "support" / "tcp_bridge.py"


def _hook(**kwargs: Any):
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    return SFTPHook(ssh_conn_id="cluster", **kwargs)


def _nodelay(sock: object) -> int | None:
    """TCP_NODELAY of ``sock`` read back from the kernel; None when it is no TCP socket."""
    if not isinstance(sock, socket.socket) or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


class _Wire:
    """Records, per paramiko packetizer, TCP_NODELAY when it wrote its first bytes (the SSH banner, before
    the key exchange), and counts TCP_QUICKACK settings per socket."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.first_write: dict[int, int | None] = {}
        self.quickacks: Counter[int] = Counter()
        self._keep: list[object] = []  # keeps the recorded objects alive: their ids stay theirs
        write_all = Packetizer.write_all
        setsockopt = socket.socket.setsockopt

        def recording(packetizer: Packetizer, out: bytes) -> None:
            if id(packetizer) not in self.first_write:
                self._keep.append(packetizer)
                self.first_write[id(packetizer)] = _nodelay(packetizer._Packetizer__socket)  # type: ignore[attr-defined]
            write_all(packetizer, out)

        def counting(sock: socket.socket, level: int, option: int, *value: Any) -> None:
            if level == socket.IPPROTO_TCP and option == QUICKACK:
                self._keep.append(sock)
                self.quickacks[id(sock)] += 1
            setsockopt(sock, level, option, *value)

        monkeypatch.setattr(Packetizer, "write_all", recording)
        monkeypatch.setattr(socket.socket, "setsockopt", counting)

    def assert_untouched(self, transport: paramiko.Transport) -> None:
        """``transport``'s socket kept the kernel's defaults from its first packet on."""
        assert self.first_write[id(transport.packetizer)] in (0, None)
        assert _nodelay(transport.sock) in (0, None)
        assert self.quickacks[id(transport.sock)] == 0
        assert "read_all" not in vars(transport.packetizer)


def test_every_connection_of_the_endpoint_has_nodelay_from_its_first_packet(remote, monkeypatch) -> None:
    wire = _Wire(monkeypatch)
    remote.put("nd/.keep", b"")
    remote.put("nd2/.keep", b"")
    with SftpEndpoint(_hook(), connections=2) as endpoint:
        endpoint.widen(3)  # a connection opened later (widened) gets the same
        transports = endpoint.transports()
        assert len(transports) == 3
        for transport in transports:
            assert wire.first_write[id(transport.packetizer)] == 1  # the banner already left without Nagle
            assert _nodelay(transport.sock) == 1
        if QUICKACK is not None:  # Linux: re-armed around the handshake's reads, and only then
            during = [wire.quickacks[id(t.sock)] for t in transports]
            assert all(count >= 4 for count in during), during
        sent = write_over_each_connection(endpoint, remote, "nd", 200 * 1024)
        assert remote.files("nd") == {".keep": b"", **sent}
        # Quick ACKs last until the connection's first SFTP data (its session's VERSION, read with the
        # first answer: the session did not wait for it), and no longer.
        for transport in transports:
            assert "read_all" not in vars(transport.packetizer)
            assert "read_message" not in vars(transport.packetizer)
        if QUICKACK is not None:
            first = [wire.quickacks[id(t.sock)] for t in transports]
            again = write_over_each_connection(endpoint, remote, "nd2", 200 * 1024)
            assert remote.files("nd2") == {".keep": b"", **again}
            later = [wire.quickacks[id(t.sock)] for t in transports]
            # at most the re-arms of the one read in flight when the session's data came; none per later read
            assert all(0 <= b - a <= 2 for a, b in zip(first, later, strict=True)), (first, later)


def test_a_reconnected_connection_has_nodelay_from_its_first_packet(remote, monkeypatch) -> None:
    wire = _Wire(monkeypatch)
    with SftpEndpoint(_hook()) as endpoint:
        first = endpoint.transport
        endpoint.reconnect(endpoint.generation)
        again = endpoint.transport
        assert again is not first
        assert wire.first_write[id(again.packetizer)] == 1
        assert _nodelay(again.sock) == 1


def test_a_plain_hook_in_the_same_process_is_left_alone(remote, monkeypatch) -> None:
    wire = _Wire(monkeypatch)
    with SftpEndpoint(_hook()) as endpoint:  # the process-wide hook point is installed and was used
        assert wire.first_write[id(endpoint.transport.packetizer)] == 1
        plain = _hook()
        try:
            client = plain.get_conn()
            assert client.stat(".").st_mode is not None
            wire.assert_untouched(client.get_channel().get_transport())
        finally:
            plain.close_conn()
            plain.client.close()


def test_only_the_marked_thread_has_its_connections_tuned(remote, monkeypatch) -> None:
    """Another thread's SSH connection opened while this thread tunes its own keeps the defaults."""
    wire = _Wire(monkeypatch)
    plain = _hook()
    opened: dict[str, paramiko.SFTPClient] = {}
    with tuned_handshakes():
        thread = threading.Thread(target=lambda: opened.update(client=plain.get_conn()))
        thread.start()
        thread.join(30)
    try:
        assert opened["client"].stat(".").st_mode is not None
        wire.assert_untouched(opened["client"].get_channel().get_transport())
    finally:
        plain.close_conn()
        plain.client.close()


def test_a_proxy_command_connects_untouched(remote, monkeypatch) -> None:
    wire = _Wire(monkeypatch)
    server = remote.server
    hook = _hook(host_proxy_cmd=f"{sys.executable} {BRIDGE} {server.host} {server.port}")
    remote.put("proxied/.keep", b"")
    transports: list[paramiko.Transport] = []
    try:
        with SftpEndpoint(hook, connections=2) as endpoint:
            transports = endpoint.transports()
            assert len(transports) == 2
            for transport in endpoint.transports():
                assert isinstance(transport.sock, paramiko.ProxyCommand)
                assert wire.first_write[id(transport.packetizer)] is None
                assert "read_all" not in vars(transport.packetizer)
            sent = write_over_each_connection(endpoint, remote, "proxied", 200 * 1024)
    finally:
        for transport in transports:  # its thread signals the command on its way out; reap it, close pipes
            transport.join(10)
            transport.sock.process.communicate(timeout=10)
    assert remote.files("proxied") == {".keep": b"", **sent}


@contextlib.contextmanager
def _unix_socket_to(host: str, port: int) -> Iterator[socket.socket]:
    """One end of an AF_UNIX socket pair whose other end is relayed to ``host:port`` over TCP."""
    ours, relay_end = socket.socketpair()
    upstream = socket.create_connection((host, port))

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)

    threads = [
        threading.Thread(target=pump, args=(relay_end, upstream), daemon=True),
        threading.Thread(target=pump, args=(upstream, relay_end), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield ours
    finally:
        for sock in (ours, relay_end, upstream):
            sock.close()


def test_a_non_tcp_socket_connects_untouched(remote, monkeypatch) -> None:
    """A socket that refuses TCP options (here AF_UNIX, given as the hook's proxy) still connects."""
    wire = _Wire(monkeypatch)
    remote.put("unix/.keep", b"")
    with _unix_socket_to(remote.server.host, remote.server.port) as sock:
        hook = _hook()
        hook.host_proxy = sock  # what SSHHook hands paramiko as ``sock``
        with SftpEndpoint(hook) as endpoint:
            transport = endpoint.transport
            assert transport.sock is sock
            assert wire.first_write[id(transport.packetizer)] is None
            assert wire.quickacks[id(sock)] == 0
            sent = write_over_each_connection(endpoint, remote, "unix", 200 * 1024)
    assert remote.files("unix") == {".keep": b"", **sent}
