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

The server's limits (``limits@openssh.com``: OpenSSH's ``sftp-server.c`` ``process_extended_limits``,
asyncssh) are asked right behind ``INIT``, without waiting: the answer comes in the first round trip,
after the ``VERSION`` and before the answer to the session's first request, so it is known before any
READ or WRITE (they need a handle, which comes in an answer) and no round trip is added. OpenSSH's own
client asks after the ``VERSION`` (``sftp-client.c`` ``sftp_init``), which costs it a round trip; asked
later without waiting, the answer would come after this session's first writes, which a server with a
small limit refuses. The answer counts only when the ``VERSION`` offers the extension (its pairs are
parsed; paramiko drops them); a server without it answers "unsupported" (the draft's rule for unknown
extended requests), which changes nothing. :func:`read_request_size` / :func:`write_request_size` then
size each READ and WRITE as OpenSSH's client does: the server's length, capped at 255 KiB. Without an
answer (a plain paramiko client, a server that tells none) requests keep :data:`DEFAULT_REQUEST_SIZE`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import struct
import threading
from collections.abc import Iterator
from typing import Any

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_INIT, CMD_VERSION

from irods_provider.exceptions import IrodsSftpConnectionError

__all__ = [
    "DEFAULT_REQUEST_SIZE",
    "MAX_REQUEST_SIZE",
    "EagerSftpClient",
    "SftpLimits",
    "eager_sessions",
    "open_sftp_session",
    "read_request_size",
    "server_limits",
    "server_offers",
    "write_request_size",
]

log = logging.getLogger(__name__)

_SFTP_VERSION = 3  # paramiko's (sftp.py ``_VERSION``): the only version it speaks
#: SFTP read/write request size while the server's limits are unknown (or it tells none): 4x paramiko's
#: 32 KiB roughly doubles throughput against OpenSSH; every server seen accepts it.
DEFAULT_REQUEST_SIZE = 128 * 1024
#: The most one request carries even when a server allows more: OpenSSH's own (``sftp-common.h``
#: ``SFTP_MAX_MSG_LENGTH`` 256 KiB less 1 KiB of headers: ``sftp-server.c`` ``SFTP_MAX_READ_LENGTH``, and
#: what ``sftp-client.c`` ``sftp_init`` caps a server's limits to).
MAX_REQUEST_SIZE = 256 * 1024 - 1024
_LIMITS = "limits@openssh.com"
#: Room for a request's own fields within the server's max-packet-length (OpenSSH leaves 1 KiB).
_PACKET_HEADROOM = 1024


@dataclasses.dataclass(frozen=True)
class SftpLimits:
    """A server's answer to ``limits@openssh.com`` (OpenSSH's PROTOCOL 4.8); 0 means no limit of its own.

    ``max_open_handles`` (per session) needs no action: staging gives every worker, further writer and range
    reader an SFTP session of its own, so a session holds one handle at a time (tests hold it to that at 1).
    """

    max_packet_length: int
    max_read_length: int
    max_write_length: int
    max_open_handles: int

    def request_size(self, *, write: bool) -> int:
        """The largest READ (or WRITE) length to send: the server's, at most :data:`MAX_REQUEST_SIZE`, and
        within its packet length."""
        size = MAX_REQUEST_SIZE
        length = self.max_write_length if write else self.max_read_length
        if length:
            size = min(size, length)
        if self.max_packet_length:
            size = min(size, max(1, self.max_packet_length - _PACKET_HEADROOM))
        return max(1, size)


class _LimitsAnswer:
    """Where paramiko hands the answer to the limits request, read while waiting for another request's
    (in whichever thread reads it: it only parses and stores, and never raises into that read). Kept by
    its client: paramiko holds the objects it hands answers to only weakly."""

    def __init__(self) -> None:
        self.offered = False  # the VERSION offers limits@openssh.com (read before this answer)
        self.limits: SftpLimits | None = None

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        if t != CMD_EXTENDED_REPLY or not self.offered:
            log.debug("the SFTP server tells no limits (answer type %s); default request sizes", t)
            return
        fields = msg.get_bytes(32)  # paramiko pads a short message with zeros: judged by its length
        if len(msg.asbytes()) < 4 + 32:
            log.debug("the SFTP server's limits answer is short; default request sizes")
            return
        limits = SftpLimits(*struct.unpack(">4Q", fields))
        log.debug("SFTP server limits: %s", limits)
        self.limits = limits  # one assignment: threads asking a request size see old or new


_marked = threading.local()  # .on: this thread's from_transport opens eager sessions
_install_lock = threading.Lock()


class EagerSftpClient(paramiko.SFTPClient):
    """A paramiko SFTP client that sends ``INIT`` without waiting for ``VERSION``: requests may follow at
    once; the ``VERSION`` is read before the first answer (see the module docstring)."""

    def __init__(self, sock: paramiko.Channel) -> None:
        self._version_lock = threading.Lock()
        self._version_pending = True
        self.server_version: int | None = None
        self.extensions: dict[str, bytes] = {}  # offered in the VERSION
        self._limits = _LimitsAnswer()
        super().__init__(sock)  # sends INIT (and the limits request) through _send_version below

    @property
    def limits(self) -> SftpLimits | None:
        """The server's answer to ``limits@openssh.com`` (None until it came, or when it tells none)."""
        return self._limits.limits

    def _send_version(self) -> str:
        message = paramiko.Message()
        message.add_int(_SFTP_VERSION)
        sftp: Any = self  # paramiko's packet plumbing is private (untyped)
        sftp._send_packet(CMD_INIT, message)
        # A send that fails leaves the defaults: the session's first request meets the same end.
        with contextlib.suppress(Exception):
            sftp._async_request(self._limits, CMD_EXTENDED, _LIMITS)
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
            self.extensions = _extensions(data[4:])
            self._limits.offered = self.extensions.get(_LIMITS) == b"1"  # OpenSSH's check (revision "1")
            self._version_pending = False


def _extensions(data: bytes) -> dict[str, bytes]:
    """The ``(name, data)`` string pairs after a ``VERSION``'s version (paramiko drops them); a malformed
    tail ends the list where it breaks."""
    found: dict[str, bytes] = {}
    at = 0
    try:
        while at < len(data):
            values = []
            for _ in range(2):
                (length,) = struct.unpack(">I", data[at : at + 4])
                if at + 4 + length > len(data):
                    return found
                values.append(data[at + 4 : at + 4 + length])
                at += 4 + length
            found[values[0].decode("utf-8", "replace")] = values[1]
    except struct.error:
        pass
    return found


def server_offers(client: paramiko.SFTPClient, extension: str) -> bool | None:
    """Whether the SFTP server of ``client`` advertised ``extension`` (``posix-rename@openssh.com``) in its
    ``VERSION``; None when not known (a plain paramiko session drops that list, or it is not read yet)."""
    if not isinstance(client, EagerSftpClient) or client._version_pending:
        return None
    return extension in client.extensions


def server_limits(client: paramiko.SFTPClient) -> SftpLimits | None:
    """The limits ``client``'s server answered (None until then, or when it tells none)."""
    limits = getattr(client, "limits", None)
    return limits if isinstance(limits, SftpLimits) else None


def read_request_size(client: paramiko.SFTPClient, wanted: int | None = None) -> int:
    """Bytes to ask in the next READ on ``client``: ``wanted`` (default: the most the server allows, up to
    :data:`MAX_REQUEST_SIZE`; :data:`DEFAULT_REQUEST_SIZE` while its limits are unknown), never more than
    its max-read-length."""
    return _request_size(client, wanted, write=False)


def write_request_size(client: paramiko.SFTPClient, wanted: int | None = None) -> int:
    """Bytes to send in the next WRITE on ``client`` (see :func:`read_request_size`; max-write-length)."""
    return _request_size(client, wanted, write=True)


def _request_size(client: paramiko.SFTPClient, wanted: int | None, *, write: bool) -> int:
    limits = server_limits(client)
    if limits is None:
        return max(1, wanted or DEFAULT_REQUEST_SIZE)
    allowed = limits.request_size(write=write)
    return allowed if wanted is None else max(1, min(wanted, allowed))


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
