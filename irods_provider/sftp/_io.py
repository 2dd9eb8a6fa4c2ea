"""Fast, memory-bounded paramiko SFTP I/O: tuned transports, pipelined readers and writers.

Plain paramiko loses most of its time to Nagle/delayed-ACK stalls and to one round trip per request;
TCP_NODELAY, pipelined reads and ``set_pipelined(True)`` writes remove both. Reads do not use paramiko's
``prefetch()`` (which requests a whole range at once and buffers every early answer) nor ``SFTPFile.read(n)``
(quadratic ``bytes`` concatenation): a reader keeps at most ``PIPELINE_BYTES`` of requests on the wire and
hands each answer out as it came, so memory is bounded by design. :class:`ParallelSftpRangeReader` goes past
one channel's rate by reading disjoint byte ranges over several channels while still delivering bytes in
order (so the caller can hash as it goes).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import secrets
import socket
import stat
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self, cast

import paramiko
from paramiko import SFTPAttributes
from paramiko.sftp import CMD_ATTRS, CMD_CLOSE, CMD_DATA, CMD_FSTAT, CMD_READ, CMD_STATUS, int64

from irods_provider.exceptions import IrodsOverwriteIncompleteError, IrodsSymlinkError

from . import _pipelined
from ._modes import note_mode_refused, open_with_perm, temporary_modes
from ._session import (
    DEFAULT_REQUEST_SIZE,
    open_sftp_session,
    read_request_size,
    server_offers,
    write_request_size,
)
from ._status import SftpEndOfFile, answer_typed, sftp_errors

__all__ = [
    "ParallelSftpRangeReader",
    "SftpRangeReader",
    "SftpWriter",
    "open_sftp_channels",
    "open_sftp_reader",
    "open_sftp_writer",
    "prefer_aead_first",
    "publish_atomically",
    "replace_keeping_aside",
    "temporary_sibling",
    "tune_transport",
]

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
#: SFTP read/write request size while a server's limits are unknown (:data:`~._session.DEFAULT_REQUEST_SIZE`):
#: once a server answered ``limits@openssh.com``, each request is sized by them
#: (:func:`~._session.read_request_size`, :func:`~._session.write_request_size`: up to OpenSSH's 255 KiB).
#: Readers shrink their requests when a server answers short reads.
FAST_REQUEST_SIZE = DEFAULT_REQUEST_SIZE
#: A read every SFTP v3 server answers whole (draft-ietf-secsh-filexfer-02 section 3: packets of at least
#: 34000 bytes, "reads and writes of at most 32768 bytes"): a shorter answer ended at one of the server's
#: boundaries (object-storage parts, a file system's short read), not at a cap on its reads.
WHOLE_READ_SIZE = 32 * 1024
#: Bytes of READ requests on the wire per reader (answers that arrive early are held up to this much).
PIPELINE_BYTES = 4 * 1024 * 1024
#: paramiko's own channel defaults; larger windows measured slower (its receive buffer copies on each read).
CHANNEL_WINDOW_SIZE = 2 * 1024 * 1024
CHANNEL_MAX_PACKET_SIZE = 32 * 1024
_POLL = 0.2


#: AES-GCM (an AEAD: no separate MAC pass, AES-NI on both ends), preferred for bulk connections when offered.
AEAD_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def prefer_aead_first(transport: paramiko.Transport) -> None:
    """Put AES-GCM first in ``transport``'s cipher preferences, before its first key exchange.

    paramiko prefers AES-CTR with a separate HMAC-SHA2, and Airflow's hook applies its ``ciphers`` only after
    the first key exchange. AES-GCM costs client and sshd less CPU per byte (``benchmarks/sftp_ciphers.py``);
    the client's order decides the negotiation, so a server that offers AES-GCM agrees to it at once (no
    re-key) and any other keeps its cipher. Ciphers the connection disabled stay disabled.
    """
    options = transport.get_security_options()
    current = tuple(options.ciphers)
    preferred = tuple(c for c in AEAD_CIPHERS if c in current)
    if preferred:
        options.ciphers = preferred + tuple(c for c in current if c not in preferred)


def tune_transport(transport: paramiko.Transport) -> None:
    """Set TCP_NODELAY on the transport's socket (a no-op for sockets that are not TCP)."""
    sock = transport.sock
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def open_sftp_channels(
    transport: paramiko.Transport,
    count: int = 1,
    *,
    window_size: int = CHANNEL_WINDOW_SIZE,
    max_packet_size: int = CHANNEL_MAX_PACKET_SIZE,
) -> list[paramiko.SFTPClient]:
    """Open ``count`` independent SFTP sessions (one SSH channel each) on ``transport``, each in one round
    trip (:func:`~._session.open_sftp_session`: its first request leaves with its setup)."""
    tune_transport(transport)
    clients: list[paramiko.SFTPClient] = []
    try:
        for _ in range(count):
            session = open_sftp_session(transport, window_size=window_size, max_packet_size=max_packet_size)
            clients.append(answer_typed(session))
    except BaseException:
        for client in clients:
            client.close()
        raise
    return clients


class _ReadPipeline:
    """In-order READ requests over ``[offset, offset + length)`` of an open handle, ``depth`` at most.

    paramiko's ``prefetch()`` sends every request of the range at once and keeps each answer that arrives
    ahead of the reader, and ``SFTPFile.read(n)`` grows a ``bytes`` by concatenation (quadratic in ``n``).
    Here at most ``depth`` requests are outstanding, answers that come early (servers may answer out of
    order) wait in a dict bounded by ``depth``, and each answer is handed out as it came. A short answer
    (a server capping reads) is completed by a follow-up request before anything later is delivered, and
    later requests use the smaller size unless it is under :data:`WHOLE_READ_SIZE` (a boundary, not a cap).
    Each request is sized when sent (:func:`~._session.read_request_size`: the server's limit once it told
    it, ``request_size`` at most when given); without ``depth``, requests of at most ``PIPELINE_BYTES`` (at
    least two) are outstanding, whatever their size.
    """

    def __init__(
        self,
        handle: paramiko.SFTPFile,
        *,
        offset: int,
        length: int,
        request_size: int | None = None,
        depth: int | None = None,
        more: Sequence[tuple[int, int]] = (),
        claim: Callable[[], tuple[int, int] | None] | None = None,
    ) -> None:
        self._sftp: Any = handle.sftp
        self._handle_id: Any = handle.handle
        self._next = offset
        self._end = offset + length
        # Further (offset, length) ranges read after this one with no pause: requests run on into the next
        # range while the current one is delivered, so a worker reading pieces pays no round trip per piece.
        self._more = collections.deque(more)
        # Asked for the next range once those run out (None: none now); what it gives is read next, in order.
        self._claim = claim
        self._wanted = request_size
        self._short: int | None = None  # the longest answer of a server that answered short reads
        self._depth = max(1, depth) if depth is not None else None
        self._pending: collections.deque[tuple[int, int, int]] = collections.deque()  # (num, offset, size)
        self._pending_bytes = 0
        self._early: dict[int, tuple[int, paramiko.Message]] = {}
        self.max_early = 0

    @property
    def request_size(self) -> int:
        """The size of the next request (smaller than asked once the server answered short reads)."""
        size = read_request_size(self._sftp, self._wanted)
        return size if self._short is None else min(size, self._short)

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        """paramiko's callback for an answer read while waiting for an earlier one."""
        self._early[num] = (t, msg)
        self.max_early = max(self.max_early, len(self._early))

    def _request(self, offset: int, size: int) -> tuple[int, int, int]:
        num = self._sftp._async_request(self, CMD_READ, self._handle_id, int64(offset), int(size))
        self._pending_bytes += size
        return num, offset, size

    def _room(self, size: int) -> bool:
        """Whether one more request of ``size`` bytes may go out now."""
        if self._depth is not None:
            return len(self._pending) < self._depth
        return len(self._pending) < 2 or self._pending_bytes + size <= PIPELINE_BYTES

    def add(self, offset: int, length: int) -> None:
        """Read ``[offset, offset + length)`` after the ranges already given."""
        self._more.append((offset, length))

    def fill(self) -> None:
        """Send requests until ``depth`` are outstanding (or no range is left): their answers are on their
        way while the caller waits for something else on the channel."""
        self._fill()

    def _fill(self) -> None:
        size = self.request_size
        while self._room(size):
            if self._next >= self._end:
                claimed = self._more.popleft() if self._more else self._claim() if self._claim else None
                if claimed is None:
                    return
                start, length = claimed
                self._next, self._end = start, start + length
                continue
            piece = min(size, self._end - self._next)
            self._pending.append(self._request(self._next, piece))
            self._next += piece

    def next_piece(self) -> bytes:
        """The next bytes in order (at most one request's worth); ``b""`` once the range is delivered."""
        self._fill()
        if not self._pending:
            return b""
        num, offset, size = self._pending.popleft()
        self._pending_bytes -= size
        if num in self._early:
            t, msg = self._early.pop(num)
            if t == CMD_STATUS:
                self._sftp._convert_status(msg)  # raises (EOFError at the end of the file)
        else:
            t, msg = self._sftp._read_response(num)
        if t != CMD_DATA:
            raise OSError(f"SFTP server answered a read with message type {t}")
        data: bytes = msg.get_string()
        if not data:
            raise SftpEndOfFile(f"remote file ended at {offset}, expected {size} more bytes there")
        if len(data) < size:
            if len(data) >= WHOLE_READ_SIZE:  # a cap, not what was left before one of the server's boundaries
                self._short = min(self._short or len(data), len(data))
            self._pending.appendleft(self._request(offset + len(data), size - len(data)))
        self._fill()
        return data

    def drain(self) -> None:
        """Collect the answers still on the wire (so the channel holds nothing for a closed reader)."""
        self._pending_bytes = 0
        while self._pending:
            num, _, _ = self._pending.popleft()
            if self._early.pop(num, None) is None:
                with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                    self._sftp._read_response(num)
        self._early.clear()


class SftpRangeReader:
    """A read-only binary stream over ``[offset, offset + length)`` of a remote file, pipelined and bounded.

    At most ``PIPELINE_BYTES`` of requests are on the wire (or ``depth`` requests), whatever the file size;
    each asks the server's read limit (:func:`~._session.read_request_size`), ``request_size`` at most.
    :meth:`read_chunk` hands out each answer without copying it (the engine's zero-copy path).
    """

    def __init__(
        self,
        handle: paramiko.SFTPFile,
        *,
        offset: int,
        length: int,
        request_size: int | None = None,
        depth: int | None = None,
    ) -> None:
        self._handle = handle
        self._remaining = length
        self.name = "<sftp>"  # the remote path, for messages (set by whoever opened the handle)
        self.offset = offset
        self.length = length
        self._rest = b""
        self._pipeline = _ReadPipeline(
            handle,
            offset=offset,
            length=length,
            request_size=request_size,
            depth=depth,
        )

    def read_chunk(self) -> bytes:
        """The next bytes as they came off the wire (``b""`` at the end of the range)."""
        if self._rest:
            data, self._rest = self._rest, b""
        else:
            data = self._pipeline.next_piece()
        self._remaining -= len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining bytes when negative); ``b""`` at the end of the range."""
        want = self._remaining if size < 0 else min(size, self._remaining)
        if want <= 0:
            return b""
        parts: list[bytes] = []
        got = 0
        while got < want:
            piece = self.read_chunk()
            if not piece:
                break
            if got + len(piece) > want:
                keep = want - got
                piece, self._rest = piece[:keep], piece[keep:]
                self._remaining += len(self._rest)
            parts.append(piece)
            got += len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    @property
    def remaining(self) -> int:
        return self._remaining

    def close(self) -> None:
        self._pipeline.drain()
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_sftp_reader(
    sftp: paramiko.SFTPClient,
    path: str,
    *,
    offset: int = 0,
    length: int | None = None,
    request_size: int | None = None,
) -> SftpRangeReader:
    """Open ``path`` for a prefetched read of ``length`` bytes from ``offset`` (default: to the end)."""
    handle = sftp.open(path, "rb")
    try:
        if length is None:
            length = max(0, handle.stat().st_size - offset)  # type: ignore[operator]
        return SftpRangeReader(handle, offset=offset, length=length, request_size=request_size)
    except BaseException:
        handle.close()
        raise


#: What a write's failure status says (OpenSSH answers a full disk or a quota with a bare "Failure").
WRITE_FAILED = "the SFTP server failed the write (disk full or over quota?)"


class SftpWriter:
    """A pipelined binary write stream; :meth:`close` collects every write status and checks the size.

    Each :meth:`write` is sent in requests of the server's write limit once it told it
    (:func:`~._session.write_request_size`), ``request_size`` at most when given."""

    def __init__(
        self,
        sftp: paramiko.SFTPClient,
        path: str,
        handle: paramiko.SFTPFile,
        *,
        check_size: bool = True,
        request_size: int | None = None,
    ) -> None:
        self._sftp = sftp
        self.request_size = request_size
        self._handle = handle
        self.path = path
        self.check_size = check_size  # False: the caller checks the size itself (one round trip less)
        self.bytes_written = 0
        self.closed = False
        self._failed = False
        #: Permission bits given to the file through its handle in its close's round trip (None: left as is),
        #: and the server's refusal of them (the close itself succeeded).
        self.mode_at_close: int | None = None
        self.mode_error: OSError | None = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        try:
            with sftp_errors(self.path, WRITE_FAILED):
                size = write_request_size(self._sftp, self.request_size)
                self._handle.MAX_REQUEST_SIZE = size  # paramiko cuts a write in requests of this size
                if type(data) is bytes:
                    self._handle.write(data)
                else:  # a request's worth at a time: no copy of a whole chunk (the caller may reuse ``data``)
                    view = memoryview(data).cast("B")
                    for at in range(0, len(view), size):
                        self._handle.write(bytes(view[at : at + size]))
        except BaseException:
            self._failed = True
            raise
        own_write_answers(self._handle)
        self.bytes_written += len(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        """Flush, wait for every pipelined write's status, close, then verify the remote size (unless the
        caller does: ``check_size=False``)."""
        if self.closed:
            return
        self.closed = True
        with sftp_errors(self.path, WRITE_FAILED):
            self.mode_error = close_acknowledged(self._handle, mode=self.mode_at_close)
        if not self.check_size:
            return
        size = self._sftp.stat(self.path).st_size
        if size != self.bytes_written:
            raise OSError(
                f"SFTP upload of {self.path!r} ended at {size} bytes, {self.bytes_written} were sent"
            )

    def abort(self) -> None:
        """Close without verifying; never raises.

        Unless a write of this stream failed, the writes already sent are waited for first (bounded by the
        channel's timeout): once this returns, no late write lands, so a resume or a reader right after sees
        the bytes the server holds for good.
        """
        if self.closed:
            return
        self.closed = True
        if self._failed:
            release_handle(self._handle)
            return
        with contextlib.suppress(Exception):
            close_acknowledged(self._handle)  # releases the handle itself on an error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def own_write_answers(handle: paramiko.SFTPFile) -> None:
    """Register ``handle``'s pipelined writes sent since the last call under ``handle`` itself.

    paramiko registers them under no file object: an answer read while waiting for another request (an
    ``fstat``, a ``stat``) is then dropped, error status included. Under the handle, paramiko keeps such an
    error (``_saved_exception``), which :func:`close_acknowledged` raises. Called by the thread that sent
    them, before any answer on this channel is read by it.
    """
    sftp: Any = handle.sftp
    pending: collections.deque[int] = handle._reqs  # type: ignore[attr-defined]
    with sftp._lock:
        for number in reversed(pending):
            if sftp._expecting.get(number) is not type(None):
                break  # owned already (request numbers only grow)
            sftp._expecting[number] = handle


def close_acknowledged(handle: paramiko.SFTPFile, *, mode: int | None = None) -> OSError | None:
    """Close ``handle`` in the round trip of its last writes (the CLOSE goes right after them: a server
    serves one session's requests in order), then read the status of every pipelined write and of the
    close, raising an error status or the channel's loss. ``mode``: permission bits set through the handle
    right before the CLOSE, in the same round trip; a server's refusal of them is returned, not raised.

    paramiko's ``SFTPFile.close`` does neither: it registers pipelined writes under no file object, so it
    does not wait for their answers (an error status read later is dropped), and it swallows ``EOFError`` and
    ``OSError`` from the CLOSE request. When the server ends the SFTP session under a live SSH connection,
    the close of a handle whose last writes were never applied therefore "succeeds" and a short file would
    pass for complete.
    """
    own_write_answers(handle)
    paramiko.file.BufferedFile.close(handle)  # marks it closed (unbuffered: nothing to flush); sends nothing
    try:
        closing = _pipelined.send(handle.sftp, [*chmod_request(handle, mode), (CMD_CLOSE, handle.handle)])
        wait_for_writes(handle)
        *chmodded, closed = _pipelined.collect(handle.sftp, closing)
    except BaseException:
        release_handle(handle)
        raise
    if not _pipelined.succeeded(closed):
        raise cast("OSError", closed)  # the close's own error (a file system may report a failed write there)
    return refusal(chmodded)


def chmod_request(handle: paramiko.SFTPFile, mode: int | None) -> list[_pipelined.Request]:
    """The ``FSETSTAT`` that gives ``handle``'s file ``mode`` before its close (none for None)."""
    return [] if mode is None else [_pipelined.fchmod(handle, mode)]


def refusal(outcomes: Sequence[_pipelined.Outcome]) -> OSError | None:
    """The first error status among ``outcomes`` (requests answered by a status), None when all passed."""
    for outcome in outcomes:
        if isinstance(outcome, OSError):
            return outcome
    return None


def wait_for_writes(handle: paramiko.SFTPFile) -> None:
    """Read the status of every pipelined write of ``handle`` not answered yet, raising an error status (one
    read meanwhile included) or the channel's loss. :func:`own_write_answers` must have run."""
    sftp: Any = handle.sftp
    pending: collections.deque[int] = handle._reqs  # type: ignore[attr-defined]
    while pending:
        number = pending.popleft()
        if number in sftp._expecting:  # else answered already, read while waiting for another request
            t, _msg = sftp._read_response(number)  # raises on an error status or a lost channel
            if t != CMD_STATUS:
                raise OSError(f"SFTP server answered a write with message type {t}")
    handle._check_exception()  # type: ignore[attr-defined]  # an error status read meanwhile


def release_handle(handle: paramiko.SFTPFile) -> None:
    """Close ``handle`` after a failure without waiting or raising: its writes' answers are no longer kept,
    the CLOSE goes out if the channel still takes it, and paramiko's ``__del__`` has nothing left to do
    (it would otherwise wait for those answers on a dead channel and raise from the garbage collector)."""
    sftp: Any = handle.sftp
    with sftp._lock:
        for number, owner in list(sftp._expecting.items()):
            if owner is handle:
                sftp._expecting[number] = type(None)
    handle._reqs.clear()  # type: ignore[attr-defined]
    if not handle.closed:
        paramiko.file.BufferedFile.close(handle)
        with contextlib.suppress(Exception):
            sftp._async_request(type(None), CMD_CLOSE, handle.handle)


def open_sftp_writer(
    sftp: paramiko.SFTPClient,
    path: str,
    *,
    request_size: int | None = None,
    exclusive: bool = False,
    perm: int | None = None,
) -> SftpWriter:
    """Create or truncate ``path`` for a pipelined upload (requests of the server's write limit, at most
    ``request_size`` bytes when given).

    ``exclusive`` adds ``EXCL``: the open fails if anything, a planted symlink included, is at ``path``;
    with it, ``perm`` is the permission bits the OPEN asks for (else the server's default).
    """
    if exclusive and perm is not None:
        handle = open_with_perm(sftp, path, "wxb", perm)
    else:
        handle = sftp.open(path, "wxb" if exclusive else "wb", bufsize=0)
    handle.set_pipelined(True)
    return SftpWriter(sftp, path, handle, request_size=request_size)


def temporary_sibling(path: str, *, suffix: str = "part") -> str:
    """A hidden, unique name next to ``path`` (``.<name>.<random>.<suffix>``) for writing before the atomic
    rename, or (``suffix="keep"``) for keeping a replaced file aside until its successor is in place."""
    head, _, name = path.rpartition("/")
    temp = f".{name}.{secrets.token_hex(6)}.{suffix}"
    return f"{head}/{temp}" if head or path.startswith("/") else temp


POSIX_RENAME = "posix-rename@openssh.com"


def rename_over(
    sftp: paramiko.SFTPClient,
    source: str,
    target: str,
    *,
    keeping: Callable[[str | None], None] | None = None,
) -> None:
    """Rename replacing ``target``: posix-rename@openssh.com when the server offers it, else the old file
    is renamed aside first (:func:`replace_keeping_aside`: not atomic, ``target`` is briefly absent, but
    never lost).

    A server that does not advertise it is not asked (OpenSSH's ``sftp-server -P posix-rename`` neither
    advertises nor runs it: SSH2_FX_PERMISSION_DENIED, sftp-server.c ``process_extended``). Where the
    advertisement is unknown (a plain paramiko session), a refusal that says the request is unsupported
    (SSH2_FX_OP_UNSUPPORTED) or denied falls back too: a denied rename is then denied again, typed.
    ``keeping``: told where the old file is kept aside, and None once it is not (see
    :func:`replace_keeping_aside`)."""
    if server_offers(sftp, POSIX_RENAME) is not False:
        try:
            sftp.posix_rename(source, target)
            return
        except OSError as exc:
            if not _rename_unsupported(sftp, exc):
                raise
    _say_not_atomic(sftp, target)
    replace_keeping_aside(sftp, source, target, keeping=keeping)


def replace_keeping_aside(
    sftp: paramiko.SFTPClient,
    source: str,
    target: str,
    *,
    keeping: Callable[[str | None], None] | None = None,
) -> None:
    """Replace ``target`` by ``source`` with plain SFTP renames (which never replace): the old file is
    renamed to a hidden sibling (``.<name>.<random>.keep``; a rename moves a link itself, never what it
    points to), ``source`` is renamed onto ``target``, then the kept file is removed.

    If the second rename fails (a dropped connection, quota, permission, a racing writer), the kept file is
    renamed back and that failure raised: ``target`` holds its old bytes again. If even that fails,
    :class:`IrodsOverwriteIncompleteError` names where the old file now is (``backup``). A kept file that
    cannot be removed once the new one is in place is only said (a warning naming it): the copy succeeded.
    A directory at ``target`` is never moved: its removal is refused, as before. ``keeping(aside)`` is
    called before the old file is moved (to record it: an error there moves nothing), ``keeping(None)``
    once it is back or removed."""
    try:
        mode = sftp.lstat(target).st_mode or 0
    except FileNotFoundError:
        sftp.rename(source, target)
        return
    if stat.S_ISDIR(mode):
        sftp.remove(target)  # refused by the server (a directory): raised as it answers
    aside = temporary_sibling(target, suffix="keep")
    keep = keeping or (lambda _aside: None)
    keep(aside)
    try:
        sftp.rename(target, aside)
    except FileNotFoundError:  # removed meanwhile: nothing to keep
        keep(None)
        sftp.rename(source, target)
        return
    try:
        sftp.rename(source, target)
    except BaseException as exc:
        _put_back(sftp, aside, target, exc)
        keep(None)
        raise
    try:
        sftp.remove(aside)
    except OSError as exc:
        log.warning("Replaced %s, but could not remove its old file kept at %s: %s", target, aside, exc)
        return
    keep(None)


def _put_back(sftp: paramiko.SFTPClient, aside: str, target: str, cause: BaseException) -> None:
    """After ``target``'s replacement failed (``cause``): rename its old file back from ``aside``; if that
    fails too (refused, or the connection is gone), :class:`IrodsOverwriteIncompleteError` names where the
    old file is, for a person or the next attempt to put back."""
    try:
        sftp.rename(aside, target)
    except Exception as exc:
        raise IrodsOverwriteIncompleteError(
            f"replacing the file failed ({cause or type(cause).__name__}) and its old content could not be "
            f"renamed back ({exc or type(exc).__name__}): it is kept at {aside}",
            backup=aside,
            operation="sftp_rename",
            path=target,
        ) from cause
    log.warning("Replacing %s failed (%s): its old file is back in place", target, cause)


#: SFTP sessions whose replacing renames were already said to be not atomic (a warning per session, not per
#: file; each later file is a debug line).
_SAID_NOT_ATOMIC: weakref.WeakSet[paramiko.SFTPClient] = weakref.WeakSet()


def _say_not_atomic(sftp: paramiko.SFTPClient, target: str) -> None:
    """Log that ``target`` is replaced by plain renames: briefly absent, never partial."""
    level = logging.DEBUG if sftp in _SAID_NOT_ATOMIC else logging.WARNING
    _SAID_NOT_ATOMIC.add(sftp)
    log.log(
        level,
        "The SFTP server does not run %s: replacing %s by renaming it aside, then renaming the verified "
        "temporary (not atomic: the name is briefly absent, never partial; the old file is put back if that "
        "rename fails)",
        POSIX_RENAME,
        target,
    )


def _rename_unsupported(sftp: paramiko.SFTPClient, exc: OSError) -> bool:
    """Whether a failed posix-rename may mean the server does not run it (see :func:`rename_over`)."""
    text = str(exc).lower()
    if "unsupported" in text or "not supported" in text:  # OpenSSH: "Operation unsupported"
        return True
    return isinstance(exc, PermissionError) and server_offers(sftp, POSIX_RENAME) is None


def _refuse_symlink(sftp: paramiko.SFTPClient, path: str) -> None:
    """Right before a rename onto ``path``: refuse a symlink planted there (typed, naming the path)."""
    try:
        mode = sftp.lstat(path).st_mode or 0
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise IrodsSymlinkError("the destination is a symbolic link; refusing to replace it", path=path)


@contextlib.contextmanager
def publish_atomically(
    sftp: paramiko.SFTPClient, path: str, *, request_size: int | None = None, file_mode: int | None = None
) -> Iterator[SftpWriter]:
    """Write to a temporary sibling of ``path`` and rename it onto ``path`` only if the block succeeds.

    The temporary is created exclusively (never through a planted symlink) and a symlink at ``path`` is
    refused. On any error the temporary file is removed and ``path`` is left as it was. The temporary is
    private while written, then gets the replaced file's mode, else the server's plain-create mode
    (:func:`~._modes.temporary_modes`), or exactly ``file_mode`` when given (a refusal raises
    IrodsSftpFileError and nothing is published).
    """
    temp = temporary_sibling(path)
    perm, at_close = temporary_modes(sftp, path, chosen=file_mode)
    writer = open_sftp_writer(sftp, temp, request_size=request_size, exclusive=True, perm=perm)
    writer.mode_at_close = at_close
    try:
        yield writer
        writer.close()
        note_mode_refused(sftp, path, writer.mode_error, chosen=file_mode)
        _refuse_symlink(sftp, path)
        rename_over(sftp, temp, path)
    except BaseException:
        writer.abort()
        with contextlib.suppress(OSError):
            sftp.remove(temp)
        raise


#: The smallest share of a chunk a parallel reader or writer gives one session.
MIN_PIECE_SIZE = 32 * 1024
_PIECE_ALIGN = 32 * 1024


def split_pieces(start: int, size: int, sessions: int) -> list[tuple[int, int]]:
    """``[start, start + size)`` cut into at most ``sessions`` contiguous pieces of at least
    ``MIN_PIECE_SIZE`` (32 KiB aligned), as ``(offset, length)``.

    Every session works on the same chunk at once (a parallel writer hands each piece to the session that is
    free first; a parallel reader claims pieces per session), so the chunk the caller waits for next (the head
    of an in-order pipeline) arrives ``sessions`` times sooner than if one session carried it alone, and the
    last chunk leaves as fast: no session's TCP window holds the others up.
    """
    count = max(1, min(sessions, size // MIN_PIECE_SIZE))
    piece = -(-size // count)
    piece = -(-piece // _PIECE_ALIGN) * _PIECE_ALIGN
    return [(start + at, min(piece, size - at)) for at in range(0, size, piece)] or [(start, 0)]


#: Pieces per session of a parallel read's first chunk (and of each chunk handed on piece by piece):
#: sessions that join late (their SSH connection was still opening) share what is left of it, instead of
#: the first session having claimed it whole, and the in-order handover never waits behind one session's
#: share of a whole chunk.
FIRST_CHUNK_PIECES_PER_SESSION = 4
#: Pieces a session has claimed and not read to their end, at most (its pipeline runs on into the next).
_CLAIMED_AHEAD = 3
#: Chunks past the caller's position whose pieces may be read (the chunk it holds or waits for, the next),
#: unless a reader is given ``read_ahead``.
_READ_CHUNKS_AHEAD = 2
#: Chunks further than a reader may read whose pieces may already be claimed (requested): two, so a
#: session that reached the read limit still has requests on the wire across chunk boundaries
#: instead of its pipeline draining there (one idle round trip per chunk per connection), about as far
#: ahead as the reader before sessions claimed pieces (each session's pipeline of requests beyond two
#: pieces read). Staging 256 MiB over the WAN model (8 write streams): one chunk further 33.0 MB/s, two 35.4.
_CLAIM_BEYOND_READ = 2


class _Answer:
    """Where paramiko hands the answer to a request sent ahead, read while waiting for a later one."""

    def __init__(self) -> None:
        self.reply: tuple[int, paramiko.Message] | None = None

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.reply = (t, msg)


def attributes_ahead(sftp: paramiko.SFTPClient, command: int, argument: Any) -> Callable[[], SFTPAttributes]:
    """Send an attributes request (``CMD_FSTAT`` of a handle id, ``CMD_LSTAT`` or ``CMD_STAT`` of a path) now,
    without waiting: what the caller sends next shares its round trip. The returned call gives the answer
    (raising its error status as paramiko does), reading it unless a later request's wait read it past."""
    client: Any = sftp  # paramiko's request plumbing is not in its stubs
    answer = _Answer()
    num = client._async_request(answer, command, argument)

    def result() -> SFTPAttributes:
        if answer.reply is None:
            t, msg = client._read_response(num)  # raises on an error status
        else:
            t, msg = answer.reply
            if t == CMD_STATUS:
                client._convert_status(msg)
        if t != CMD_ATTRS:
            raise paramiko.SFTPError("Expected attributes")
        attributes: Any = SFTPAttributes
        return cast("SFTPAttributes", attributes._from_msg(msg))

    return result


class _Piece:
    """One byte range of one chunk of a parallel read: claimed by one session, then read to its end."""

    __slots__ = ("chunk", "done", "length", "offset", "parts")

    def __init__(self, chunk: int, offset: int, length: int) -> None:
        self.chunk, self.offset, self.length = chunk, offset, length
        self.parts: list[bytes] = []
        self.done = False


class _Session:
    """One channel's worker of a parallel read: it claims the next pieces in byte order (at most three not
    read to their end) and reads them over one pipeline that runs on from one piece into the next.

    A session given an open ``handle`` reads from the first moment (checked by whoever opened it, or by the
    reader's ``check_handle`` like a channel's by ``check_file``); one given a channel opens the file there
    and sends its ``fstat`` with the first reads: no byte of it counts before the reader's ``check_file``
    accepted those attributes."""

    def __init__(
        self,
        owner: ParallelSftpRangeReader,
        index: int,
        *,
        sftp: paramiko.SFTPClient | None = None,
        handle: paramiko.SFTPFile | None = None,
    ) -> None:
        self.owner, self.index = owner, index
        self.sftp, self.handle = sftp, handle
        self.claimed: collections.deque[_Piece] = collections.deque()
        self.thread = threading.Thread(target=self.run, name=f"sftp-range-{index}", daemon=True)

    def run(self) -> None:
        try:
            handle, check = self.handle, self.owner.check_handle
            if handle is not None:  # the caller's: read at once (any fstat with the first reads), left open
                fstat = attributes_ahead(handle.sftp, CMD_FSTAT, handle.handle) if check else None
                self._read(handle, fstat, check)
                return
            assert self.sftp is not None
            with self.sftp.open(self.owner.path, "rb") as handle:
                fstat = attributes_ahead(self.sftp, CMD_FSTAT, handle.handle)
                self._read(handle, fstat, self.owner.check_file)
        except BaseException as exc:
            self.owner.fail(exc)

    def _read(
        self,
        handle: paramiko.SFTPFile,
        attributes: Callable[[], SFTPAttributes] | None,
        check: Callable[[SFTPAttributes], object] | None,
    ) -> None:
        owner = self.owner
        pipeline = _ReadPipeline(
            handle, offset=0, length=0, request_size=owner.request_size, claim=self._claim_more
        )
        try:
            if attributes is not None:
                pipeline.fill()  # the first reads share the fstat's round trip
                if check is not None:
                    check(attributes())
            while True:
                if not self.claimed:
                    piece = owner.claim(block=True)
                    if piece is None:
                        return
                    self.claimed.append(piece)
                    pipeline.add(piece.offset, piece.length)
                piece = self.claimed[0]
                if not owner.readable(piece) or not self._read_piece(pipeline, piece):
                    return
                self.claimed.popleft()
                owner.finished(piece)
        finally:
            pipeline.drain()

    def _claim_more(self) -> tuple[int, int] | None:
        """The pipeline's next range: one more piece while fewer than three are claimed (None: none now)."""
        if len(self.claimed) >= _CLAIMED_AHEAD:
            return None
        piece = self.owner.claim(block=False)
        if piece is None:
            return None
        self.claimed.append(piece)
        return piece.offset, piece.length

    def _read_piece(self, pipeline: _ReadPipeline, piece: _Piece) -> bool:
        """One piece's answers as they came (counted as they arrive); False once the reader stopped."""
        owner = self.owner
        got = 0
        while got < piece.length:
            if owner.stopped.is_set():
                return False
            part = pipeline.next_piece()
            if not part:
                raise SftpEndOfFile(
                    f"remote file ended at {piece.offset + got}, expected {piece.length - got} more"
                )
            piece.parts.append(part)
            got += len(part)
            owner.account(len(part))
        return True


class ParallelSftpRangeReader:
    """Read one remote file over K SFTP sessions at once, yielding its chunks in byte order.

    Each chunk is cut into pieces (one per session; the first chunk, or the first ``in_pieces``, into more,
    see :data:`FIRST_CHUNK_PIECES_PER_SESSION`) that the sessions claim in byte order as their pipelines have
    room, so the chunk the caller waits for next arrives at the sessions' combined rate and a faster
    session simply takes more. Sessions: ``clients`` (each opens ``path``; ``check_file`` judges its
    handle's attributes before any of its bytes count), ``handle`` (an open handle read from the first
    moment and left open; with ``check_handle`` its ``fstat`` goes out with its first reads and is judged
    so before any of its bytes count), and those ``joining`` returns (called on a thread of the reader's
    own once iteration starts: channels still being opened join when they are up; :attr:`joined` lists them,
    for the caller to give back after the reader closed). A piece is read only while its chunk is the one
    the caller holds or the next (``read_ahead`` chunks in all, 2 by default), so at most
    ``read_ahead * chunk_size`` bytes are buffered
    (:attr:`max_buffered_bytes`); pieces are claimed (requested) up to two chunks further, so pipelines
    keep requests on the wire across chunk boundaries. The answers to those are left unread on the wire:
    at most three pieces per session, capped by its pipeline (``PIPELINE_BYTES``) and its channel window.
    Iterate to receive ``bytes`` chunks in order (the first ``in_pieces`` chunks, cut as finely as the first,
    piece by piece, each as soon as it and those before it are read, so an upload's first, smaller
    requests need not wait for whole chunks); close (or leave the ``with`` block) to stop early.
    """

    def __init__(
        self,
        clients: Sequence[paramiko.SFTPClient],
        path: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        offset: int = 0,
        length: int | None = None,
        request_size: int | None = None,
        check_file: Callable[[SFTPAttributes], object] | None = None,
        handle: paramiko.SFTPFile | None = None,
        check_handle: Callable[[SFTPAttributes], object] | None = None,
        joining: Callable[[], Iterable[paramiko.SFTPClient]] | None = None,
        sessions: int | None = None,
        in_pieces: int = 0,
        read_ahead: int = _READ_CHUNKS_AHEAD,
    ) -> None:
        if not clients and handle is None:
            raise ValueError("at least one SFTP client or an open handle is needed")
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.path, self.chunk_size, self.request_size = path, chunk_size, request_size
        self.check_file = check_file  # raises when a session opened another file than expected
        self.check_handle = check_handle  # raises when ``handle``'s fstat is not what was opened
        self.in_pieces = in_pieces
        self.read_ahead = max(1, read_ahead)
        if length is None:
            attrs = handle.stat() if handle is not None else clients[0].stat(path)
            length = max(0, (attrs.st_size or 0) - offset)
        self.offset, self.length = offset, length
        count = max(1, sessions or len(clients) + (handle is not None))
        end = offset + length
        self.chunks = [(s, min(chunk_size, end - s)) for s in range(offset, end, chunk_size)]
        fine = FIRST_CHUNK_PIECES_PER_SESSION if count > 1 else 1
        self.pieces = [
            split_pieces(s, n, count * (fine if i < max(1, in_pieces) else 1))
            for i, (s, n) in enumerate(self.chunks)
        ]
        self._queue = [_Piece(i, at, n) for i, pieces in enumerate(self.pieces) for at, n in pieces]
        self._by_chunk: list[list[_Piece]] = [[] for _ in self.chunks]
        for piece in self._queue:
            self._by_chunk[piece.chunk].append(piece)
        self._max_sessions = max((len(p) for p in self.pieces), default=1)  # more would find nothing to read
        self._next = 0  # the next piece to claim
        self._moved = 0  # chunks the caller has moved past
        self._cv = threading.Condition()
        self._error: BaseException | None = None
        self.stopped = threading.Event()
        self.workers: list[_Session] = [] if handle is None else [_Session(self, 0, handle=handle)]
        for client in clients[: max(0, self._max_sessions - len(self.workers))]:
            self.workers.append(_Session(self, len(self.workers), sftp=client))
        self._joining = joining
        self._joiner: threading.Thread | None = None
        self.joined: list[paramiko.SFTPClient] = []
        self.bytes_delivered = 0
        self.max_buffered_bytes = 0
        self._buffered = 0
        self._started = False

    def account(self, delta: int) -> None:
        """Add ``delta`` bytes to the buffered total (negative once the caller is done with a chunk)."""
        with self._cv:
            self._buffered += delta
            self.max_buffered_bytes = max(self.max_buffered_bytes, self._buffered)

    def claim(self, *, block: bool) -> _Piece | None:
        """The next piece in byte order for a session, once its chunk is at most ``read_ahead + 1`` past the
        one the caller holds (``block``: wait until then, else None now); None once every piece is claimed or
        the reader stopped. Its answers are read only once :meth:`readable` allows."""
        with self._cv:
            while not self.stopped.is_set() and self._next < len(self._queue):
                piece = self._queue[self._next]
                if piece.chunk < self._moved + self.read_ahead + _CLAIM_BEYOND_READ:
                    self._next += 1
                    return piece
                if not block:
                    return None
                self._cv.wait(_POLL)
            return None

    def readable(self, piece: _Piece) -> bool:
        """Wait until ``piece``'s chunk is the caller's or one of the ``read_ahead - 1`` next (its answers
        wait on the wire until then); False once the reader stopped."""
        with self._cv:
            while not self.stopped.is_set():
                if piece.chunk < self._moved + self.read_ahead:
                    return True
                self._cv.wait(_POLL)
            return False

    def finished(self, piece: _Piece) -> None:
        """A session read ``piece`` to its end."""
        with self._cv:
            piece.done = True
            self._cv.notify_all()

    def fail(self, exc: BaseException) -> None:
        """A session (or the joining) failed: the caller raises the first such error; everything stops."""
        with self._cv:
            if self._error is None:
                self._error = exc
            self.stopped.set()
            self._cv.notify_all()

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise RuntimeError("a ParallelSftpRangeReader can be iterated once")
        self._started = True
        if self.chunks:
            for worker in self.workers:
                worker.thread.start()
            if self._joining is not None:
                self._joiner = threading.Thread(target=self._join_sessions, name="sftp-join", daemon=True)
                self._joiner.start()
        try:
            for number in range(len(self.chunks)):
                pieces = self._by_chunk[number]
                for group in [[piece] for piece in pieces] if number < self.in_pieces else [pieces]:
                    self._wait_pieces(group)
                    parts = [part for piece in group for part in piece.parts]
                    for piece in group:
                        piece.parts = []
                    item = parts[0] if len(parts) == 1 else b"".join(parts)
                    del parts
                    self.bytes_delivered += len(item)
                    yield item
                    self.account(-len(item))
                with self._cv:
                    self._moved = number + 1
                    self._cv.notify_all()
            self.close()
            if self._error is not None:  # a session that found nothing left to read failed its check
                raise self._error
        finally:
            self.close()

    def _wait_pieces(self, pieces: list[_Piece]) -> None:
        """Return once all ``pieces`` are read; raises a session's error."""
        with self._cv:
            while True:
                if self._error is not None:
                    raise self._error
                if all(piece.done for piece in pieces):
                    return
                joining = self._joiner is not None and self._joiner.is_alive()  # before the sessions:
                if not joining and not any(w.thread.is_alive() for w in self.workers):  # it starts them
                    raise RuntimeError(f"the SFTP range readers of {self.path} stopped without data")
                self._cv.wait(_POLL)

    def _join_sessions(self) -> None:
        """Take the sessions ``joining`` gives as they come (they start at once; none after a stop)."""
        assert self._joining is not None
        try:
            for client in self._joining():
                with self._cv:
                    self.joined.append(client)
                    if self.stopped.is_set() or len(self.workers) >= self._max_sessions:
                        continue
                    worker = _Session(self, len(self.workers), sftp=client)
                    self.workers.append(worker)
                    worker.thread.start()
        except BaseException as exc:
            self.fail(exc)

    def close(self) -> None:
        """Stop the sessions (and the joining) and wait for their threads to finish."""
        self.stopped.set()
        with self._cv:
            self._cv.notify_all()
        joiner = self._joiner
        if joiner is not None and joiner is not threading.current_thread():
            joiner.join()
        with self._cv:
            workers = list(self.workers)
        for worker in workers:
            if worker.thread.is_alive():
                worker.thread.join(30)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
