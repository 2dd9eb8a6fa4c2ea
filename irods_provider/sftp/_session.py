"""SFTP sessions whose first request leaves with the session's ``INIT``: one round trip less per session.

paramiko's ``SFTPClient.from_transport`` opens the channel, starts the ``sftp`` subsystem and then sends
``INIT`` and waits for the server's ``VERSION`` before the first request can go. The subsystem's answer
is needed (sshd opens a session channel with no window, ``serverloop.c`` ``server_request_session``, and
grants one as the subsystem starts, ``channels.c`` ``channel_set_fds``: OpenSSH 9.2), the ``VERSION`` is
not: SFTP servers read a session's packets in order and answer ``INIT`` before the packets behind it
(OpenSSH's ``sftp-server.c`` ``process()`` runs ``INIT`` first and refuses requests only before it;
asyncssh and paramiko read ``INIT`` before their request loop), and paramiko checks nothing in the
``VERSION`` but its type. So :class:`EagerSftpClient` sends ``INIT`` and returns; the
session's first request goes right behind it and the ``VERSION`` is read before the first answer. A
session the server ends before its ``VERSION`` fails at that first answer (or at a send that meets the
session already closed): with
:class:`IrodsSftpConnectionError` while the connection lives (not retried: the server will not run
SFTP), as a dropped connection otherwise (the endpoint reconnects).

:func:`eager_sessions` makes ``SFTPClient.from_transport`` open such sessions in the calling thread
(Airflow's ``SFTPHook`` opens its session through it); other threads and SSH users of the process are left
alone.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Iterator
from typing import Any

import paramiko
from paramiko.sftp import CMD_INIT, CMD_VERSION

from irods_provider.exceptions import IrodsSftpConnectionError

__all__ = ["EagerSftpClient", "eager_sessions", "open_sftp_session", "server_offers"]

_SFTP_VERSION = 3  # paramiko's (sftp.py ``_VERSION``): the only version it speaks
_marked = threading.local()  # .on: this thread's from_transport opens eager sessions
_install_lock = threading.Lock()


class EagerSftpClient(paramiko.SFTPClient):
    """A paramiko SFTP client that sends ``INIT`` without waiting for ``VERSION``: requests may follow at
    once; the ``VERSION`` is read before the first answer (see the module docstring)."""

    def __init__(self, sock: paramiko.Channel) -> None:
        self._version_lock = threading.Lock()
        self._version_pending = True
        self.server_version: int | None = None
        self.server_extensions: dict[str, str] | None = None  # from the VERSION, once read
        super().__init__(sock)  # sends INIT through _send_version below

    def _send_version(self) -> str:
        message = paramiko.Message()
        message.add_int(_SFTP_VERSION)
        sftp: Any = self  # paramiko's packet plumbing is private (untyped)
        sftp._send_packet(CMD_INIT, message)
        return "to be read with the first answer"  # paramiko logs it as the server's version

    def _send_packet(self, t: int, packet: paramiko.Message) -> None:
        # Before the VERSION, a send can meet a session the server already ended (its CLOSE came first):
        # paramiko refuses it with a bare "Socket is closed", which says the same as an end at the answer.
        plain: Any = paramiko.SFTPClient
        try:
            plain._send_packet(self, t, packet)
        except OSError as exc:
            if not self._version_pending:
                raise
            raise _ended_before_version(self.sock) from exc

    def _read_packet(self) -> tuple[int, bytes]:
        if self._version_pending:
            self._read_version()
        return _read_packet(self)

    def _read_version(self) -> None:
        """Read the server's ``VERSION`` (once, whichever thread reads first)."""
        with self._version_lock:
            if not self._version_pending:
                return
            try:
                kind, data = _read_packet(self)
            except EOFError as exc:
                raise _ended_before_version(self.sock) from exc
            if kind != CMD_VERSION:
                raise paramiko.SFTPError("Incompatible sftp protocol")
            self.server_version = struct.unpack(">I", data[:4])[0]
            self.server_extensions = _extensions(data[4:])
            self._version_pending = False


def _extensions(data: bytes) -> dict[str, str]:
    """The ``name``/``data`` string pairs that follow the version number in ``VERSION`` (SFTP v3,
    draft-ietf-secsh-filexfer-02 section 4): what the server offers beyond the protocol."""
    message, found = paramiko.Message(data), {}
    while message.get_remainder():
        try:
            name, value = message.get_string(), message.get_string()
        except (struct.error, ValueError, IndexError):
            break  # a garbled tail: what was read so far
        found[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return found


def server_offers(client: paramiko.SFTPClient, extension: str) -> bool | None:
    """Whether the SFTP server of ``client`` advertised ``extension`` (``posix-rename@openssh.com``) in its
    ``VERSION``; None when not known (a plain paramiko session drops that list, or it is not read yet)."""
    offered = getattr(client, "server_extensions", None)
    return None if offered is None else extension in offered


def _read_packet(client: paramiko.SFTPClient) -> tuple[int, bytes]:
    """paramiko's own packet read (looked up at each call: tests may observe it on the class)."""
    plain: Any = paramiko.SFTPClient
    packet: tuple[int, bytes] = plain._read_packet(client)
    return packet


def _ended_before_version(channel: Any) -> BaseException:
    """What a session that ended before its ``VERSION`` raises: a dropped connection as paramiko reports
    one (the endpoint reconnects); on a live connection (the server ended the session), typed."""
    transport = channel.get_transport() if channel is not None else None
    if transport is None or not transport.is_active():
        return paramiko.SSHException("Server connection dropped before the SFTP session started")
    return IrodsSftpConnectionError(
        "the SSH server ended the SFTP session before it started (is SFTP enabled for this account?)",
        operation="sftp_session",
    )


def open_sftp_session(
    transport: paramiko.Transport, *, window_size: int | None = None, max_packet_size: int | None = None
) -> EagerSftpClient:
    """An SFTP session on ``transport`` whose ``INIT`` does not wait for the server's ``VERSION``."""
    channel = transport.open_session(window_size=window_size, max_packet_size=max_packet_size)
    try:
        channel.invoke_subsystem("sftp")
        return EagerSftpClient(channel)
    except BaseException:
        channel.close()
        raise


@contextlib.contextmanager
def eager_sessions() -> Iterator[None]:
    """Within the block, ``paramiko.SFTPClient.from_transport`` called by this thread opens its session with
    :func:`open_sftp_session` (what ``SFTPHook.get_conn`` uses, through ``SSHClient.open_sftp``)."""
    _install()
    outer = getattr(_marked, "on", False)
    _marked.on = True
    try:
        yield
    finally:
        _marked.on = outer


def _install() -> None:
    """Wrap ``SFTPClient.from_transport`` once, process-wide: eager only in a marked thread."""
    cls: Any = paramiko.SFTPClient
    with _install_lock:
        original = cls.__dict__["from_transport"]
        if getattr(original, "irods_eager", False):
            return
        plain = original.__func__

        def from_transport(
            klass: Any,
            t: paramiko.Transport,
            window_size: int | None = None,
            max_packet_size: int | None = None,
        ) -> Any:
            if klass is paramiko.SFTPClient and getattr(_marked, "on", False):
                return open_sftp_session(t, window_size=window_size, max_packet_size=max_packet_size)
            return plain(klass, t, window_size, max_packet_size)

        wrapped = classmethod(from_transport)
        wrapped.irods_eager = True  # type: ignore[attr-defined]
        cls.from_transport = wrapped
