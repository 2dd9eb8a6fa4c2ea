"""TCP options (and the cipher preference, and the login's first round trip) of the SSH connections an
endpoint opens, from their first packet.

paramiko never sets TCP_NODELAY and OpenSSH's sshd sets it only for interactive sessions, so each handshake
stalls twice on Nagle + delayed ACK (~40 ms each, paramiko's packets traced against OpenSSH 9.2): our
SERVICE_REQUEST waits behind our unacknowledged NEWKEYS, and sshd's CHANNEL_OPEN_CONFIRMATION waits for our
delayed ACK of its previous packets. ``SSHHook.get_conn`` on loopback took 172 ms; 97-103 ms with
TCP_NODELAY from the start, 48 ms with quick ACKs re-armed around the handshake's reads as well. Opening an
endpoint against sshd (medians of 15): loopback 139 -> 43 ms, through the 30 ms RTT WAN model 364 -> 327
ms. Quick ACKs for the connection's whole life gained nothing on pipelined small requests and made a 128 MiB
loopback read ~25% slower: they end with the handshake.

Airflow's hook builds the socket and paramiko transport itself, so :func:`tuned_handshakes` marks the
calling thread and a guarded wrapper of ``Transport.start_client`` (installed once, process-wide) tunes
only transports started by a marked thread: other SSH users of the worker process keep their sockets as
they are. A ProxyCommand or a non-TCP socket keeps its socket options; an option the socket refuses is
skipped. With ``prefer_aead`` the same wrapper puts AES-GCM first in the transport's cipher preferences
(:func:`~._io.prefer_aead_first`), so its first key exchange picks it where the server offers it.

A login (publickey or password) sends its ``USERAUTH_REQUEST`` right behind its ``SERVICE_REQUEST``
instead of waiting for the ``SERVICE_ACCEPT`` (one round trip less per connection): sshd serves the
request before reading the next packet and installs the userauth handler as it accepts
(``input_service_request`` in OpenSSH's ``auth2.c``), and nothing in the request depends on the accept.
An RSA key waits as before until the server's ``server-sig-algs`` (its EXT_INFO) is known, which picks
the signature algorithm. Only logins started by a marked thread do this.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paramiko
from paramiko.common import MSG_CHANNEL_DATA
from paramiko.packet import Packetizer

from irods_provider.sftp._io import prefer_aead_first

__all__ = ["tuned_handshakes"]

#: Linux only: ACK each segment at once instead of delaying it (the kernel drops it again by itself).
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
_marked = threading.local()  # .block: the current thread's open block (a _Block), or None
_install_lock = threading.Lock()
_installed = False  # paramiko wrapped (see _install)


class _Block:
    """What one :func:`tuned_handshakes` block asked for, and the transports started within it."""

    def __init__(self, *, prefer_aead: bool) -> None:
        self.prefer_aead = prefer_aead
        self.started: list[paramiko.Transport] = []


@contextlib.contextmanager
def tuned_handshakes(*, prefer_aead: bool = False, until_session_data: bool = False) -> Iterator[None]:
    """Within the block, SSH transports this thread starts get TCP_NODELAY before their first packet and
    (Linux) quick ACKs re-armed around their reads until the block ends (the SFTP session is up); with
    ``prefer_aead`` also AES-GCM first in their cipher preferences.

    Every transport started in the block is tuned (SSHHook's retries may start several). Quick ACKs stop
    at the end (afterwards each read would cost a syscall for no gain on bulk data), or, with
    ``until_session_data``, once the transport receives its first channel data: an SFTP session opened
    without waiting for its ``VERSION`` (:mod:`._session`) is up only then, after the block.
    """
    _install()
    block = _Block(prefer_aead=prefer_aead)
    outer = getattr(_marked, "block", None)
    _marked.block = block
    try:
        yield
    except BaseException:
        until_session_data = False  # no session to wait for
        raise
    finally:
        _marked.block = outer
        if not until_session_data:
            for transport in block.started:
                _disarm_quick_acks(transport.packetizer)


def _install() -> None:
    """Wrap ``Transport.start_client`` (it tunes a transport its marked thread starts) and paramiko's login,
    once per process: a wrapper someone else puts around ``start_client`` later calls through to ours, and
    wrapping again would tune twice and send every login twice."""
    global _installed
    cls: Any = paramiko.Transport
    with _install_lock:
        if _installed:
            return
        start = cls.start_client

        def start_client(self: paramiko.Transport, *args: Any, **kwargs: Any) -> Any:
            block = getattr(_marked, "block", None)
            if block is not None:
                if block.prefer_aead:
                    prefer_aead_first(self)
                _tune(self)
                block.started.append(self)
            return start(self, *args, **kwargs)

        cls.start_client = start_client
        _install_login_ahead()
        _installed = True


def _install_login_ahead() -> None:
    """Wrap paramiko's ``AuthHandler`` (with the lock held, once): a login started by a marked thread sends
    its request with the service request; the service's acceptance then sends nothing more."""
    handler: Any = paramiko.auth_handler.AuthHandler
    request, accepted = handler._request_auth, handler._parse_service_accept

    def request_auth(self: Any) -> None:
        ahead = getattr(_marked, "block", None) is not None and _can_ask_ahead(self)
        self._irods_asked_ahead = ahead  # before the service request: its acceptance may come at once
        request(self)
        if ahead:
            service = paramiko.Message()
            service.add_string("ssh-userauth")
            service.rewind()
            accepted(self, service)  # paramiko's own request for the accepted service, sent now

    def parse_service_accept(self: Any, m: paramiko.Message) -> None:
        if self.__dict__.pop("_irods_asked_ahead", False):
            return  # its request went out right behind the service request
        accepted(self, m)

    handler._request_auth = request_auth
    handler._parse_service_accept = parse_service_accept


def _can_ask_ahead(handler: Any) -> bool:
    """Whether ``handler``'s request can be built before the service is accepted: a password, or a key
    whose signature algorithm is settled (any but RSA, or RSA once the server named its algorithms)."""
    if handler.auth_method == "password":
        return True
    if handler.auth_method != "publickey":
        return False
    key_type, _ = handler._get_key_type_and_bits(handler.private_key)
    return "rsa" not in key_type or bool(handler.transport.server_extensions)


def _tune(transport: paramiko.Transport) -> None:
    """TCP_NODELAY (and quick ACKs) on ``transport``'s socket, before its thread sends the first packet."""
    sock = _tcp_socket(transport.sock)
    if sock is None:
        return  # a ProxyCommand or a non-TCP socket: nothing to tune
    _set_option(sock, socket.TCP_NODELAY)
    if _QUICKACK is not None:
        _arm_quick_acks(transport.packetizer, sock)


def _tcp_socket(sock: object) -> socket.socket | None:
    """``sock`` when it is a TCP socket (IPv4 or IPv6), else None."""
    if not isinstance(sock, socket.socket) or sock.type != socket.SOCK_STREAM:
        return None
    return sock if sock.family in (socket.AF_INET, socket.AF_INET6) else None


def _set_option(sock: socket.socket, option: int) -> None:
    """Set a TCP option to 1; a socket that refuses it (closed, another stack) only keeps its default."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)


def _arm_quick_acks(packetizer: Packetizer, sock: socket.socket) -> None:
    """Re-arm TCP_QUICKACK before and after each packet read of ``packetizer`` (this object only).

    Linux leaves quick-ACK mode on its own as soon as the connection looks interactive, so one setting
    does not last; each read re-arms it and sshd's next packet is not held by its Nagle waiting for our ACK.
    """
    read_all: Callable[..., bytes] = packetizer.read_all
    quickack = _QUICKACK
    assert quickack is not None

    def quick_read_all(n: int, check_rekey: bool = False) -> bytes:
        _set_option(sock, quickack)
        data = read_all(n, check_rekey)
        _set_option(sock, quickack)
        return data

    read_message: Callable[[], tuple[int, Any]] = packetizer.read_message

    def until_channel_data() -> tuple[int, Any]:
        command, message = read_message()
        if command == MSG_CHANNEL_DATA:  # a session is up and carrying data: the handshakes are over
            _disarm_quick_acks(packetizer)
        return command, message

    packetizer.read_all = quick_read_all  # type: ignore[method-assign]  # this object only
    packetizer.read_message = until_channel_data  # type: ignore[method-assign]


def _disarm_quick_acks(packetizer: Packetizer) -> None:
    """Back to paramiko's own ``read_all`` and ``read_message`` for the rest of the connection."""
    packetizer.__dict__.pop("read_all", None)
    packetizer.__dict__.pop("read_message", None)
