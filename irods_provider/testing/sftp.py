"""Real SSH/SFTP servers on 127.0.0.1 for tests and the demo: an embedded asyncssh server and Debian's sshd.

Both servers expose the same attributes (:class:`SshTestServer`): ``host``, ``port``, ``username``,
``password`` (``None`` when only key login works), ``client_key_path`` (an ed25519 private key in OpenSSH
format, accepted by paramiko, asyncssh and OpenSSH), ``host_key_line`` (``"ssh-ed25519 AAAA..."``),
``known_hosts_line``, ``root`` (the local directory the server serves) and ``remote_root`` (that directory's
absolute path as SFTP clients see it).

Path convention: commands run with ``/bin/sh -c`` and the root directory as working directory, and SFTP's
starting directory is the root directory too, so *relative* paths mean the same file for SFTP and for
commands on both servers. Absolute paths differ: the embedded server is chrooted (``/`` is the root
directory for SFTP, but commands see the real file system), the OpenSSH server is not chrooted.

Run one from a shell::

    python -m irods_provider.testing.sftp serve --root DIR --port 2222 --user alice --password secret
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import fnmatch
import inspect
import json
import os
import random
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal, Self, cast

import asyncssh
import asyncssh.sftp
import paramiko
from asyncssh.constants import (
    FXP_OPEN,
    FXP_OPENDIR,
    MSG_CHANNEL_DATA,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_EXTENDED_DATA,
    MSG_CHANNEL_WINDOW_ADJUST,
)

from irods_provider.testing._sshd import OpenSshServer, SshTestServer

__all__ = [
    "EmbeddedSftpServer",
    "OpenSshServer",
    "SftpServerLimits",
    "SshFaults",
    "SshTestServer",
    "airflow_connection_json",
    "paramiko_client",
]

_START_TIMEOUT = 15.0
_COPY_CHUNK = 64 * 1024
_LIMITS = b"limits@openssh.com"
_POSIX_RENAME = b"posix-rename@openssh.com"


def airflow_connection_json(
    server: SshTestServer, *, auth: Literal["key", "password"] = "key", verify_host_key: bool = True
) -> str:
    """Return the ``AIRFLOW_CONN_<ID>`` JSON for Airflow's ``SFTPHook``/``SSHHook`` pointing at ``server``."""
    extra: dict[str, Any] = {"look_for_keys": False}
    conn: dict[str, Any] = {
        "conn_type": "sftp",
        "host": server.host,
        "port": server.port,
        "login": server.username,
    }
    if auth == "key":
        extra["key_file"] = str(server.client_key_path)
    else:
        if server.password is None:
            raise ValueError(f"the {server.kind} test server accepts key login only")
        conn["password"] = server.password
    if verify_host_key:
        extra["host_key"] = server.host_key_line
        extra["no_host_key_check"] = False
    else:
        extra["no_host_key_check"] = True
    conn["extra"] = extra
    return json.dumps(conn)


@dataclasses.dataclass
class SshFaults:
    """Seeded faults the embedded server injects (``EmbeddedSftpServer.faults``); all off by default.

    Bytes are SFTP file data read or written, counted per SSH connection (so a client that reconnects and
    resumes makes progress). ``max_drops`` / ``max_stalls`` bound how many faults are injected in total.

    Example:

    ```python
    from irods_provider.testing.sftp import EmbeddedSftpServer, SshFaults

    with EmbeddedSftpServer() as server:
        server.inject(SshFaults(drop_after_bytes=4 * 1024 * 1024, max_drops=2, seed=1))
        print(server.injected_faults())
    ```

    :param drop_after_bytes: abort the SSH connection once it has carried this many data bytes.
    :param drop_probability: abort the connection at a read or write with this probability (seeded).
    :param drop_scope: ``"connection"`` aborts the TCP connection; ``"channel"`` closes only the SFTP
        channel and keeps the connection up (an ``sftp-server`` process that died or was killed by the
        site); bytes then count per channel.
    :param stall_after_bytes: hold the read or write that crosses this many bytes for ``stall_seconds``.
    :param drop_at_lookup: abort the SSH connection at its Nth path lookup (``realpath``, ``stat``,
        ``lstat``, a directory listing), counted per connection from 1: a drop while a task lists or resolves
        what it will copy, before any file data moves. ``max_drops`` bounds it too.
    :param refuse_after_drop_seconds: after each drop, refuse new SSH connections for this long.
    :param refuse_connections: refuse the next this many new SSH connections.
    :param read_part_bytes: answer a read that crosses a multiple of this many bytes only up to it, as a
        server on object storage (parts) or on a file system that returns short reads does: SFTP lets a
        read answer fewer bytes than asked (draft-ietf-secsh-filexfer-02 section 6.4). Counted as
        ``short_reads``.
    :param refuse_posix_rename: as OpenSSH's ``sftp-server -P posix-rename``: ``posix-rename@openssh.com`` is
        not advertised to SFTP sessions started from now on, and asking for it answers
        SSH_FX_PERMISSION_DENIED (openssh-portable sftp-server.c ``process_extended``, V_9_2).
    :param fail_renames_of: answer a plain RENAME whose source's file name matches one of these ``fnmatch``
        patterns (``"*.part"``) with SSH_FX_FAILURE, not applied: a directory made read-only, a quota, a
        racing writer. Counted as ``failed_renames``.
    """

    seed: int = 0
    drop_after_bytes: int | None = None
    drop_probability: float = 0.0
    max_drops: int | None = None
    drop_scope: Literal["connection", "channel"] = "connection"
    drop_at_lookup: int | None = None
    stall_after_bytes: int | None = None
    stall_seconds: float = 0.0
    max_stalls: int | None = 1
    refuse_after_drop_seconds: float = 0.0
    refuse_connections: int = 0
    read_part_bytes: int | None = None
    refuse_posix_rename: bool = False
    fail_renames_of: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SftpServerLimits:
    """What the embedded server answers to ``limits@openssh.com`` (OpenSSH's PROTOCOL 4.8; 0: no limit) and
    enforces as a strict server would: a READ or WRITE longer than its length is refused with a failure
    status (OpenSSH shortens such a read and refuses only packets over 256 KiB; PROTOCOL allows a server to
    sever the connection). ``max_open_handles`` is enforced per SFTP session as OpenSSH's is: its
    ``sftp-server`` (one process per session) advertises its file descriptor limit less 5, and an OPEN or
    OPENDIR past it fails in ``open(2)``/``opendir(3)`` with EMFILE, answered ``SSH_FX_FAILURE``
    (sftp-server.c V_9_6_P1 ``process_extended_limits``, ``process_open``, ``errno_to_portable``).

    Example:

    ```python
    from irods_provider.testing.sftp import EmbeddedSftpServer, SftpServerLimits

    with EmbeddedSftpServer(limits=SftpServerLimits(34000, 32768, 32768, 64)) as server:
        ...  # clients that ask the limits send requests of at most 32 KiB; longer ones fail
    ```
    """

    max_packet_length: int = 0
    max_read_length: int = 0
    max_write_length: int = 0
    max_open_handles: int = 0


#: What the embedded server does about ``limits@openssh.com``: ``"asyncssh"`` (offered, asyncssh's own answer:
#: 4 MiB reads and writes), a :class:`SftpServerLimits` (offered, answered and enforced), or None (not
#: offered in the ``VERSION``; a request for it is answered "unsupported", as by a server without it).
LimitsPolicy = SftpServerLimits | Literal["asyncssh"] | None


class _FaultState:
    """The server's fault switches and what was injected, shared by its event loop and the test thread."""

    def __init__(self) -> None:
        self.faults = SshFaults()
        self.injected: Counter[str] = Counter()  # since the server started
        self._used: Counter[str] = Counter()  # since the last configure(): what max_drops/max_stalls bound
        self._rng = random.Random(0)
        # Keyed by the connection or channel itself (per drop_scope), weakly: an id() is reused by a later
        # object, which would then inherit a dead connection's byte count or "dropped" mark.
        self._carried: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()  # data bytes
        self._lookups: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()  # per connection
        self._dropped: weakref.WeakSet[object] = weakref.WeakSet()  # still answering requests already read
        self._gone: weakref.WeakSet[object] = weakref.WeakSet()  # closed: queued requests are not counted
        # Errors the server detected in an SSH stream (bad MAC, broken packet framing) or the client reported.
        self.protocol_errors: Counter[str] = Counter()
        # Data or EOF a client sent on a channel after its own EOF or CLOSE, ignored as sshd ignores them.
        self.late_channel_packets = 0
        self.sessions: set[_FaultySftpServer] = set()  # SFTP sessions alive (their files closed at stop)
        self._refuse_until = 0.0
        self._lock = threading.Lock()
        # Connection statistics (reset by EmbeddedSftpServer.reset_connection_stats): TCP connections
        # accepted, the most open at once, and SFTP file data bytes each connection carried.
        self.accepted = 0
        self.peak_open = 0
        self.reads = 0  # SFTP read requests served
        self._served: Counter[int] = Counter()  # id(open connection) -> data bytes
        self.served_closed: list[int] = []  # data bytes of each closed connection
        self.limits: LimitsPolicy = "asyncssh"
        # Lengths of the READ and WRITE requests served (reset by reset_request_sizes), and limits requests.
        self.request_sizes: dict[str, Counter[int]] = {"read": Counter(), "write": Counter()}
        self.limits_requests = 0
        # The most file and directory handles one SFTP session held at once, and opens refused past
        # max_open_handles (reset by reset_request_sizes).
        self.peak_handles = 0
        self.refused_opens = 0
        self.umask: int | None = None  # applied to files and directories SFTP creates (sftp-server -u)

    def note_open(self, held: int) -> None:
        """Count an OPEN or OPENDIR on a session holding ``held`` handles; refuse it past
        ``max_open_handles`` as OpenSSH does (EMFILE: ``SSH_FX_FAILURE``, "Failure")."""
        with self._lock:
            limits = self.limits
            limit = limits.max_open_handles if isinstance(limits, SftpServerLimits) else 0
            if limit and held >= limit:
                self.refused_opens += 1
                raise asyncssh.SFTPFailure("Failure")
            self.peak_handles = max(self.peak_handles, held + 1)

    def note_request(self, kind: str, size: int) -> None:
        """Count a READ or WRITE request of ``size`` bytes; refuse it (as a strict server) when over the
        configured limit."""
        with self._lock:
            self.request_sizes[kind][size] += 1
            limits = self.limits
        if isinstance(limits, SftpServerLimits):
            limit = limits.max_read_length if kind == "read" else limits.max_write_length
            if limit and size > limit:
                raise asyncssh.SFTPFailure(f"{kind} of {size} bytes is over the server's limit of {limit}")

    def configure(self, faults: SshFaults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self._carried.clear()
            self._lookups.clear()
            self._used.clear()
            self._refuse_until = 0.0

    def on_rename(self, source: bytes) -> bool:
        """Whether to fail a plain RENAME of ``source`` (:attr:`SshFaults.fail_renames_of`), counted."""
        name = os.path.basename(source).decode("utf-8", "surrogateescape")
        with self._lock:
            fail = any(fnmatch.fnmatchcase(name, p) for p in self.faults.fail_renames_of)
            if fail:
                self.injected["failed_renames"] += 1
            return fail

    def _budget(self, kind: str, limit: int | None) -> bool:
        return limit is None or self._used[kind] < limit

    def _count(self, kind: str) -> None:
        self.injected[kind] += 1
        self._used[kind] += 1

    def refuse_connection(self) -> bool:
        """Whether a new SSH connection is to be refused now (and count it)."""
        with self._lock:
            refuse = time.monotonic() < self._refuse_until or self.faults.refuse_connections > 0
            if self.faults.refuse_connections > 0:
                self.faults.refuse_connections -= 1
            if refuse:
                self.injected["refused_connections"] += 1
            return refuse

    def forget(self, conn: object) -> None:
        with self._lock:
            self._carried.pop(conn, None)
            self._gone.add(conn)
            if id(conn) in self._served:
                self.served_closed.append(self._served.pop(id(conn)))

    def forget_channel(self, chan: object) -> None:
        with self._lock:
            self._carried.pop(chan, None)
            self._gone.add(chan)

    def protocol_error(self, exc: Exception) -> None:
        """Count a connection that ended on a protocol error (``"MACError: MAC verification failed"``)."""
        with self._lock:
            self.protocol_errors[f"{type(exc).__name__}: {exc}"] += 1

    def accept(self, conn: object, open_now: int) -> None:
        """Count a new TCP connection (``open_now`` connections are open with it)."""
        with self._lock:
            self.accepted += 1
            self.peak_open = max(self.peak_open, open_now)
            self._served[id(conn)] = 0

    def connection_stats(self, open_now: int) -> dict[str, Any]:
        with self._lock:
            return {
                "accepted": self.accepted,
                "open": open_now,
                "peak_open": self.peak_open,
                "data_bytes": sorted([*self.served_closed, *self._served.values()], reverse=True),
                "reads": self.reads,
            }

    def reset_stats(self, open_now: int) -> None:
        with self._lock:
            self.accepted = 0
            self.peak_open = open_now
            self.reads = 0
            self.served_closed = []
            self._served = Counter(dict.fromkeys(self._served, 0))

    def on_read(self, offset: int, size: int) -> int:
        """Count one read request of ``size`` bytes at ``offset``: how many bytes to answer
        (``read_part_bytes``: up to the next multiple)."""
        with self._lock:
            self.reads += 1
            part = self.faults.read_part_bytes
            if part is None or size <= 0 or offset // part == (offset + size - 1) // part:
                return size
            self._count("short_reads")
            return (offset // part + 1) * part - offset

    def on_lookup(self, conn: object) -> bool:
        """Count one path lookup on ``conn``: whether to drop the connection now (``drop_at_lookup``)."""
        with self._lock:
            f = self.faults
            if f.drop_at_lookup is None or conn in self._dropped or conn in self._gone:
                return False
            count = self._lookups[conn] = self._lookups.get(conn, 0) + 1
            if count != f.drop_at_lookup or not self._budget("drops", f.max_drops):
                return False
            self._count("drops")
            self._dropped.add(conn)
            self._refuse_until = time.monotonic() + f.refuse_after_drop_seconds
            return True

    def on_data(self, conn: object, chan: object, size: int) -> tuple[bool, float]:
        """Account ``size`` bytes carried by ``conn`` on ``chan``: (drop now, seconds to stall first)."""
        with self._lock:
            f = self.faults
            key = chan if f.drop_scope == "channel" else conn
            if key in self._dropped or key in self._gone or conn in self._gone:
                return True, 0.0  # dropped or closed: fail what is still queued, count nothing
            if id(conn) in self._served:
                self._served[id(conn)] += size
            before = self._carried.get(key, 0)
            after = self._carried[key] = before + size
            stall = 0.0
            if (
                f.stall_after_bytes is not None
                and before < f.stall_after_bytes <= after
                and self._budget("stalls", f.max_stalls)
            ):
                self._count("stalls")
                stall = f.stall_seconds
            drop = (f.drop_after_bytes is not None and after >= f.drop_after_bytes) or (
                f.drop_probability > 0 and self._rng.random() < f.drop_probability
            )
            if drop and self._budget("drops", f.max_drops):
                self._count("drops")
                self._dropped.add(key)
                self._refuse_until = time.monotonic() + f.refuse_after_drop_seconds
                return True, stall
            return False, stall


async def _settled(result: Any) -> None:
    """Await what asyncssh's server method returned when it is awaitable (its own methods may be sync)."""
    if inspect.isawaitable(result):
        await result


def _has_default_acl(directory: bytes) -> bool:
    try:
        return bool(os.getxattr(directory, "system.posix_acl_default"))
    except OSError:  # none, or no ACLs on this file system
        return False


class _FaultySftpServer(asyncssh.SFTPServer):
    """asyncssh's SFTP server, with reads and writes passed through the fault switches."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], *, chroot: bytes, state: _FaultState) -> None:
        super().__init__(chan, chroot=chroot)
        _ignore_late_channel_packets(chan, state)
        self._state = state
        self._open_files: set[Any] = set()
        state.sessions.add(self)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & asyncssh.FXF_CREAT:
            attrs.permissions = self._masked(attrs.permissions, 0o666, path)
        file_obj = super().open(path, pflags, attrs)
        self._open_files.add(file_obj)
        return file_obj

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> Any:
        attrs.permissions = self._masked(attrs.permissions, 0o777, path)
        return super().mkdir(path, attrs)

    def _masked(self, permissions: int | None, default: int, path: bytes) -> int | None:
        """The mode a create asks for, less the server's own ``umask`` (as ``sftp-server -u`` sets it;
        the process's umask still applies after it): unchanged when none is configured, or when the parent
        directory has a POSIX default ACL, which ``open(2)`` and ``mkdir(2)`` apply instead of any umask."""
        umask = self._state.umask
        if umask is None or _has_default_acl(os.path.dirname(self.map_path(path))):
            return permissions
        return (default if permissions is None else permissions) & ~umask

    def close(self, file_obj: object) -> None:
        self._open_files.discard(file_obj)
        super().close(file_obj)

    def close_files(self) -> None:
        """Close what a dropped client left open (asyncssh leaves it to the garbage collector)."""
        for file_obj in list(self._open_files):
            with contextlib.suppress(OSError):
                file_obj.close()
        self._open_files.clear()

    def exit(self) -> None:
        self.close_files()
        self._state.sessions.discard(self)
        self._state.forget_channel(self.channel)
        super().exit()

    async def _fault(self, size: int) -> None:
        drop, stall = self._state.on_data(self.connection, self.channel, size)
        if stall:
            await asyncio.sleep(stall)
        if drop:
            await self._drop()

    async def _lookup(self) -> None:
        if self._state.on_lookup(self.connection):
            await self._drop("connection")

    async def realpath(self, path: bytes) -> bytes:
        await self._lookup()
        return cast(bytes, super().realpath(path))

    async def stat(self, path: bytes) -> Any:
        await self._lookup()
        return super().stat(path)

    async def lstat(self, path: bytes) -> Any:
        await self._lookup()
        return super().lstat(path)

    async def scandir(self, path: bytes) -> AsyncIterator[Any]:
        await self._lookup()
        async for entry in super().scandir(path):
            yield entry

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        if self._state.on_rename(oldpath):
            raise asyncssh.SFTPFailure("Failure")  # OpenSSH's text for any other errno
        await _settled(super().rename(oldpath, newpath))

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        if self._state.faults.refuse_posix_rename:
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        await _settled(super().posix_rename(oldpath, newpath))

    async def _drop(self, scope: str | None = None) -> None:
        """End this request's channel or connection (``scope``, else ``drop_scope``), unanswered."""
        if (scope or self._state.faults.drop_scope) == "channel":
            self.channel.close()
        else:
            _cut(self.connection)
            # The connection ends at this request: no answer to it and no later request of this
            # session is served; it waits until asyncssh has read up to the EOF and closed it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connection.wait_closed(), _START_TIMEOUT)
        raise asyncssh.SFTPConnectionLost("connection dropped by fault injection")

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        self._state.note_request("read", size)
        data = super().read(file_obj, offset, self._state.on_read(offset, size))
        assert isinstance(data, bytes)
        await self._fault(len(data))
        return data

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        self._state.note_request("write", len(data))
        await self._fault(len(data))
        written = super().write(file_obj, offset, data)
        assert isinstance(written, int)
        return written


class _LimitsHandler(asyncssh.sftp.SFTPServerHandler):
    """asyncssh's SFTP session handler, answering ``limits@openssh.com`` as the embedded server that runs
    the session is configured to (:data:`LimitsPolicy`); any other server's sessions are asyncssh's own."""

    def __init__(self, server: asyncssh.SFTPServer, *args: Any) -> None:
        super().__init__(server, *args)
        state = server._state if isinstance(server, _FaultySftpServer) else None
        if state is None:
            return
        handlers = dict(self._packet_handlers)
        handlers[_LIMITS] = _counting_limits(state, handlers[_LIMITS])
        for kind in (FXP_OPEN, FXP_OPENDIR):
            handlers[kind] = _within_open_handles(state, handlers[kind])
        self._packet_handlers = handlers
        dropped = ({_LIMITS} if state.limits is None else set()) | (
            {_POSIX_RENAME} if state.faults.refuse_posix_rename else set()
        )
        self._extensions = [(name, data) for name, data in self._extensions if name not in dropped]


def _counting_limits(state: _FaultState, asyncssh_answer: Any) -> Any:
    """The limits request's handler: counted, then answered as the server is configured."""

    async def answer(handler: Any, packet: Any) -> Any:
        with state._lock:
            state.limits_requests += 1
            limits = state.limits
        if limits is None:  # not offered: as a server that does not know it
            raise asyncssh.SFTPOpUnsupported("Unsupported request type: 200")  # FXP_EXTENDED
        if not isinstance(limits, SftpServerLimits):
            return await asyncssh_answer(handler, packet)
        packet.check_end()
        return asyncssh.sftp.SFTPLimits(*dataclasses.astuple(limits))

    return answer


def _within_open_handles(state: _FaultState, opening: Any) -> Any:
    """An OPEN or OPENDIR handler that counts the session's handles and refuses one past the limit."""

    async def answer(handler: Any, packet: Any) -> Any:
        state.note_open(len(handler._file_handles) + len(handler._dir_handles))
        return await opening(handler, packet)

    return answer


def _install_limits_handler() -> None:
    """Make asyncssh start SFTP sessions with :class:`_LimitsHandler` (once, process-wide: it behaves as
    asyncssh's own for every server but the embedded one)."""
    if asyncssh.sftp.SFTPServerHandler is not _LimitsHandler:
        asyncssh.sftp.SFTPServerHandler = _LimitsHandler  # type: ignore[misc, assignment]


def _ignore_late_channel_packets(chan: asyncssh.SSHServerChannel[bytes], state: _FaultState) -> None:
    """Make ``chan`` ignore data and EOF that arrive after the client's own EOF or CLOSE, and a window
    adjustment after its CLOSE, as sshd does.

    OpenSSH's ``channel_input_data`` ignores data for a channel that is no longer open or whose output end
    is closed ("might happen on close"), a repeated EOF is only logged, and a window adjustment for a channel
    still known is applied whatever its state; asyncssh raises a ProtocolError that ends the whole SSH
    connection, every other channel with it. paramiko does send such packets: ``Channel._send`` releases the
    channel lock before the transport sends the DATA it built, and a reader that consumed data sends its
    WINDOW_ADJUST the same way, so when the server closes the channel meanwhile, paramiko's transport thread
    can answer with EOF and CLOSE first.
    """
    chan = getattr(chan, "_orig_chan", chan)  # the channel under asyncssh's line-editor wrapper
    handlers = dict(type(chan)._packet_handlers)  # asyncssh looks the handlers up on the instance first

    def late_or(kind: int, live: frozenset[str]) -> Any:
        handle = handlers[kind]

        def handler(channel: Any, pkttype: int, pktid: int, packet: Any) -> Any:
            if channel._recv_state not in live:
                with state._lock:
                    state.late_channel_packets += 1
                return None
            return handle(channel, pkttype, pktid, packet)

        return handler

    for kind in (MSG_CHANNEL_DATA, MSG_CHANNEL_EXTENDED_DATA, MSG_CHANNEL_EOF):
        handlers[kind] = late_or(kind, frozenset({"open"}))
    # asyncssh's own rule for a window adjustment: the client has not closed its end yet.
    handlers[MSG_CHANNEL_WINDOW_ADJUST] = late_or(
        MSG_CHANNEL_WINDOW_ADJUST, frozenset({"open", "eof_pending", "eof"})
    )
    chan._packet_handlers = handlers


class _ClosedChannel:
    """What a closed channel's number leads to once asyncssh has forgotten the channel: the DATA, EOF or
    window adjustment paramiko built before the server's CLOSE reached it and sent after its own CLOSE (see
    :func:`_ignore_late_channel_packets`) is counted and dropped, as sshd drops it on a channel it has not
    garbage-collected yet; asyncssh would end the whole connection ("Invalid channel number"). Anything
    else on a closed channel is still a protocol error."""

    _LATE = frozenset(
        {MSG_CHANNEL_DATA, MSG_CHANNEL_EXTENDED_DATA, MSG_CHANNEL_EOF, MSG_CHANNEL_WINDOW_ADJUST}
    )

    def __init__(self, state: _FaultState, number: int) -> None:
        self._state = state
        self._number = number

    def log_received_packet(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to log for a channel that is gone."""

    def close(self) -> None:
        """Closed already."""

    def process_connection_close(self, exc: Exception | None) -> None:
        """Nothing left to tell."""

    def process_packet(self, pkttype: int, pktid: int, packet: Any) -> None:
        if pkttype not in self._LATE:
            raise asyncssh.ProtocolError(f"Invalid channel number {self._number} received")
        with self._state._lock:
            self._state.late_channel_packets += 1


def _remember_closed_channels(conn: asyncssh.SSHServerConnection, state: _FaultState) -> None:
    """Leave a :class:`_ClosedChannel` under each number ``conn`` forgets (one per channel: no reuse)."""
    forget = conn.remove_channel

    def remove_channel(recv_chan: int) -> None:
        forget(recv_chan)
        conn._channels[recv_chan] = _ClosedChannel(state, recv_chan)  # type: ignore[assignment]

    conn.remove_channel = remove_channel  # type: ignore[method-assign]


def _cut(conn: asyncssh.SSHServerConnection) -> None:
    """Drop ``conn`` under the SSH layer: shut down reading on its TCP socket.

    Not ``conn.abort()`` or ``close()``: asyncssh then marks the connection closed but still parses the
    bytes its transport hands over in the same event-loop pass, without advancing the receive sequence
    number, so the second packet "fails" its MAC check and "MAC verification failed" is logged for a
    connection the server itself dropped. After ``shutdown(SHUT_RD)`` asyncssh parses what had arrived,
    reads EOF and closes the connection itself (the client sees it closed). Not ``SHUT_WR`` too: each
    answer asyncssh still sends before that would fail and be logged by asyncio.
    """
    sock = conn.get_extra_info("socket")
    if sock is None:  # already closed (a request queued before the drop): nothing left to cut
        return
    with contextlib.suppress(OSError):  # shut down already by an earlier request of this connection
        sock.shutdown(socket.SHUT_RD)


class _AuthServer(asyncssh.SSHServer):
    """Accepts one user, by password or by the server's authorized client key."""

    def __init__(self, owner: EmbeddedSftpServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        _remember_closed_channels(conn, self._owner._faults)
        self._owner._connections.add(conn)
        self._owner._faults.accept(conn, len(self._owner._connections))
        if self._owner._faults.refuse_connection():
            asyncio.get_running_loop().call_soon(conn.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner._connections.discard(self._conn)
            self._owner._faults.forget(self._conn)
        if isinstance(exc, asyncssh.DisconnectError) and not isinstance(exc, asyncssh.ConnectionLost):
            # The server found the stream corrupt (MAC, packet framing) or the client reported it did.
            self._owner._faults.protocol_error(exc)

    def begin_auth(self, username: str) -> bool:
        if self._conn is not None and username == self._owner.username:
            self._conn.set_authorized_keys(self._owner._authorized_keys)
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._owner.username and secrets.compare_digest(password, self._owner.password)


class EmbeddedSftpServer(SshTestServer):
    """An asyncssh SSH/SFTP server on 127.0.0.1 running its own event loop in a background thread.

    SFTP is chrooted to ``root``; login by password or by the generated client key; ``exec`` requests run
    the command with ``/bin/sh -c`` in ``root``. Several instances can run at once. Faults (dropped
    connections, stalls, refused connections) are switched per instance with :meth:`inject`, counted in
    :meth:`injected_faults`; :meth:`restart` closes every connection and listens again on the same port.
    :meth:`protocol_errors` counts connections that ended on a corrupt SSH stream (it should stay empty).
    ``ciphers`` limits the ciphers it offers (a hardened site offering only AES-CTR, say). ``limits`` is what
    it answers to ``limits@openssh.com`` (:data:`LimitsPolicy`: asyncssh's 4 MiB by default; small lengths,
    enforced, for a strict server; None for a server without the extension), switched with
    :meth:`set_limits`; :meth:`request_sizes` counts the READ and WRITE lengths it served. ``umask``: what
    ``sftp-server -u`` sets, cleared from the mode of every file and directory an SFTP client creates (the
    test process's own umask applies after it).

    Example:

    ```python
    from irods_provider.testing.sftp import EmbeddedSftpServer

    with EmbeddedSftpServer(root="/tmp/sftp-root", username="lab", password="lab-password") as server:
        uri = f"sftp://{server.username}:{server.password}@{server.host}:{server.port}"
        # os.environ["AIRFLOW_CONN_INSTRUMENT_SFTP"] = uri; server.known_hosts_line pins its host key
    ```
    """

    kind = "asyncssh"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "tester",
        password: str | None = None,
        ciphers: Sequence[str] | None = None,
        limits: LimitsPolicy = "asyncssh",
        umask: int | None = None,
    ) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="irods-sftp-asyncssh-"))
        self.ciphers = list(ciphers) if ciphers is not None else None  # None: asyncssh's defaults
        self.root = Path(root).resolve() if root is not None else self._workdir / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port
        self.username = username
        self.password: str = password if password is not None else secrets.token_urlsafe(16)
        self.remote_root = "/"
        self.client_key_path = self._workdir / "id_ed25519"
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key.write_private_key(str(self.client_key_path))
        self.client_key_path.chmod(0o600)
        self._authorized_keys = asyncssh.import_authorized_keys(
            client_key.export_public_key().decode("ascii")
        )
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key_line = " ".join(self._host_key.export_public_key().decode("ascii").split()[:2])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._faults = _FaultState()
        self._faults.limits = limits
        self._faults.umask = umask

    # -- faults ----------------------------------------------------------------------------------------

    def inject(self, faults: SshFaults | None = None, **switches: Any) -> None:
        """Switch faults on (``SshFaults`` or its fields as keywords); ``inject()`` switches them all off."""
        self._faults.configure(dataclasses.replace(faults or SshFaults(), **switches))

    def injected_faults(self) -> dict[str, int]:
        """How many faults of each kind were injected since the server started (drops, stalls, ...)."""
        with self._faults._lock:
            return dict(self._faults.injected)

    def protocol_errors(self) -> dict[str, int]:
        """SSH connections that ended on a protocol error since the server started, by error (``{}`` when
        none): a bad MAC or broken packet framing means bytes from elsewhere got into an SSH stream."""
        with self._faults._lock:
            return dict(self._faults.protocol_errors)

    def late_channel_packets(self) -> int:
        """Data or EOF packets clients sent on a channel after their own EOF or CLOSE, ignored (as sshd
        ignores them) instead of ending the connection on a protocol error."""
        with self._faults._lock:
            return self._faults.late_channel_packets

    def connection_stats(self) -> dict[str, Any]:
        """TCP connections as the server saw them since the start (or the last reset): ``accepted``,
        ``open`` now, ``peak_open`` at once, ``data_bytes``: SFTP file bytes read or written over each
        connection (largest first), and ``reads``: SFTP read requests served."""
        return self._faults.connection_stats(len(self._connections))

    def reset_connection_stats(self) -> None:
        """Start counting :meth:`connection_stats` afresh (connections open now count as open)."""
        self._faults.reset_stats(len(self._connections))

    def set_limits(self, limits: LimitsPolicy) -> None:
        """What ``limits@openssh.com`` is for SFTP sessions started from now on (:data:`LimitsPolicy`); its
        lengths are enforced at once."""
        with self._faults._lock:
            self._faults.limits = limits

    def request_sizes(self) -> dict[str, Counter[int]]:
        """How many READ and WRITE requests of each length were served (``{"read": ..., "write": ...}``)
        since the start or :meth:`reset_request_sizes`."""
        with self._faults._lock:
            return {kind: Counter(c) for kind, c in self._faults.request_sizes.items()}

    def limits_requests(self) -> int:
        """How many ``limits@openssh.com`` requests came since the start or :meth:`reset_request_sizes`."""
        with self._faults._lock:
            return self._faults.limits_requests

    def reset_request_sizes(self) -> None:
        with self._faults._lock:
            self._faults.request_sizes = {"read": Counter(), "write": Counter()}
            self._faults.limits_requests = 0
            self._faults.peak_handles = 0
            self._faults.refused_opens = 0

    def open_handles(self) -> dict[str, int]:
        """``peak``: the most file and directory handles one SFTP session held at once; ``refused``: opens
        refused past ``max_open_handles``; both since the start or :meth:`reset_request_sizes`."""
        with self._faults._lock:
            return {"peak": self._faults.peak_handles, "refused": self._faults.refused_opens}

    def restart(self) -> None:
        """Close the listener and every connection, then listen again on the same port."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the server is not running")
        asyncio.run_coroutine_threadsafe(self._close_acceptor(), loop).result(_START_TIMEOUT)
        asyncio.run_coroutine_threadsafe(self._listen(), loop).result(_START_TIMEOUT)
        with self._faults._lock:
            self._faults.injected["restarts"] += 1

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start listening; returns once the port accepts connections (or raises the startup error)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name=f"sftp-{self.username}", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise TimeoutError(f"embedded SFTP server did not start within {_START_TIMEOUT} s")
        if self._start_error is not None:
            self._thread.join(_START_TIMEOUT)
            self._thread = None
            raise RuntimeError("embedded SFTP server failed to start") from self._start_error
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, stop the loop and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            self._cleanup_workdir()
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            asyncio.run_coroutine_threadsafe(self._close_acceptor(), loop).result(_START_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_START_TIMEOUT)
        self._thread = None
        self._cleanup_workdir()

    def _cleanup_workdir(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # asyncssh looks the loop up with get_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:
                self._start_error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _listen(self) -> None:
        root = os.fsencode(self.root)
        _install_limits_handler()

        def sftp_factory(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
            return _FaultySftpServer(chan, chroot=root, state=self._faults)

        self._acceptor = await asyncssh.create_server(
            lambda: _AuthServer(self),
            self.host,
            self.port,
            server_host_keys=[self._host_key],
            sftp_factory=sftp_factory,
            process_factory=self._run_command,
            encoding=None,
            allow_scp=True,
            **({} if self.ciphers is None else {"encryption_algs": self.ciphers}),
        )
        self.port = int(self._acceptor.sockets[0].getsockname()[1])

    async def _close_acceptor(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        connections = list(self._connections)
        for conn in connections:
            _cut(conn)  # as a dying server host: no SSH goodbye, and no close() racing the packets in flight
        for conn in connections:
            try:
                await asyncio.wait_for(conn.wait_closed(), _START_TIMEOUT)
            except TimeoutError:
                conn.abort()
                await conn.wait_closed()
        for session in list(self._faults.sessions):  # a session stalled in a read never reached exit()
            session.close_files()

    async def _run_command(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """Run an ``exec`` request with ``/bin/sh -c`` in the root directory, relaying stdin/stdout/stderr."""
        _ignore_late_channel_packets(process.channel, self._faults)
        command = process.command
        if command is None:
            process.stderr.write(b"interactive shells are not supported; send a command\n")
            process.exit(1)
            return
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            cwd=self.root,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        feeder = asyncio.ensure_future(_feed_stdin(process.stdin, proc.stdin))
        try:
            await asyncio.gather(_relay(proc.stdout, process.stdout), _relay(proc.stderr, process.stderr))
            status = await proc.wait()
        finally:
            feeder.cancel()
            with contextlib.suppress(ProcessLookupError):
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        process.exit(status)


async def _feed_stdin(source: asyncssh.SSHReader[bytes], sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncssh.Error):
        while data := await source.read(_COPY_CHUNK):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(ConnectionError):
        sink.close()


async def _relay(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
    while data := await source.read(_COPY_CHUNK):
        sink.write(data)
        with contextlib.suppress(ConnectionError, asyncssh.Error):
            await sink.drain()


def paramiko_client(
    server: SshTestServer, *, auth: Literal["key", "password"] = "key", timeout: float = 10.0
) -> paramiko.SSHClient:
    """Return a connected ``paramiko.SSHClient`` that verifies the server's host key."""
    client = paramiko.SSHClient()
    key_type, key_b64 = server.host_key_line.split()[:2]
    host_key = paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
    client.get_host_keys().add(f"[{server.host}]:{server.port}", key_type, host_key)
    kwargs: dict[str, Any] = {"hostname": server.host, "port": server.port, "username": server.username}
    if auth == "key":
        kwargs["key_filename"] = str(server.client_key_path)
    else:
        kwargs["password"] = server.password
    client.connect(**kwargs, timeout=timeout, auth_timeout=timeout, look_for_keys=False, allow_agent=False)
    return client


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m irods_provider.testing.sftp",
        description="An embedded SSH/SFTP server (asyncssh) on loopback, for tests and DAG development. "
        "`serve` prints the address, the client key, the host key and a ready-to-paste AIRFLOW_CONN_<ID> "
        "line that Airflow's SFTPHook and SSHHook accept (key login, host key verified).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run an embedded SSH/SFTP server until interrupted")
    serve.add_argument(
        "--root", required=True, type=Path, help="directory served (SFTP's / and the shell's cwd)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="TCP port; 0 (default) picks a free one")
    serve.add_argument("--user", default="tester", help="the one accepted user (default tester)")
    serve.add_argument("--password", default=None, help="also accept this password (default: key login only)")
    serve.add_argument(
        "--conn-id", default="sftp_default", help="connection id of the printed AIRFLOW_CONN_<ID> line"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmbeddedSftpServer(
        args.root, host=args.host, port=args.port, username=args.user, password=args.password
    ) as server:
        print(f"listening on {server.host}:{server.port} user={server.username}", flush=True)
        print(f"client key: {server.client_key_path}", flush=True)
        print(f"known_hosts: {server.known_hosts_line}", flush=True)
        print("paste into the shell that runs Airflow or dag.test():", flush=True)
        print(f"  export AIRFLOW_CONN_{args.conn_id.upper()}='{airflow_connection_json(server)}'", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
