"""Write one remote file over several SFTP sessions (several SSH connections) at once, bounded, resumable.

On a WAN path each TCP connection carries at most one window of bytes per round trip, so one SFTP writer is
capped whatever the link offers. :class:`ParallelSftpWriter` takes the chunks a caller writes in order and
cuts each into K pieces, each sent over whichever session (each with its own handle on the same file) got a
piece buffer back first, at most two pieces per session in memory: every chunk leaves at the sessions'
combined rate, a session whose connection lags carries fewer pieces instead of holding the others up, and the
last chunk does not wait on one connection. It knows the contiguous prefix the server acknowledged
(:attr:`committed`): when a connection drops, :meth:`abort` truncates the file to that prefix through a
surviving session, so the next attempt resumes from verified bytes instead of hashing a file with holes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_STATUS, CMD_WRITE, int64

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.sftp import _pipelined
from irods_provider.sftp._integrity import SftpState
from irods_provider.sftp._io import (
    WRITE_FAILED,
    SftpWriter,
    chmod_request,
    close_acknowledged,
    refusal,
    release_handle,
    split_pieces,
)
from irods_provider.sftp._session import write_request_size
from irods_provider.sftp._status import sftp_errors

if TYPE_CHECKING:
    from irods_provider.sftp._endpoint import SftpEndpoint

__all__ = ["ParallelSftpWriter", "Reopening", "reopen_further", "widen_writer"]

_POLL = 0.2
_JOIN_TIMEOUT = 30.0


class _WriteSession:
    """One session's share: WRITE requests for its chunks, acknowledged one chunk behind the one sent."""

    def __init__(self, owner: ParallelSftpWriter, handle: paramiko.SFTPFile, index: int) -> None:
        self.owner = owner
        self.handle = handle
        self.index = index
        self._sftp: Any = handle.sftp
        self.todo: queue.SimpleQueue[tuple[int, memoryview, bytearray] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.closed_behind = False  # its handle's CLOSE went out right behind its last writes
        self._early: dict[int, tuple[int, paramiko.Message]] = {}
        self.thread = threading.Thread(target=self.run, name=f"sftp-write-{index}", daemon=True)

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        """paramiko's callback for an answer read while waiting for another request's."""
        self._early[num] = (t, msg)

    def run(self) -> None:
        sent: deque[tuple[int, int, list[int], bytearray]] = deque()  # (start, end, request numbers, buffer)
        try:
            item = self.todo.get()
            while item is not None:
                start, data, buffer = item
                numbers: list[int] = []
                sent.append((start, start + len(data), numbers, buffer))
                self._send(start, data, numbers)
                handed, item = self._handed()
                if handed and item is None:  # the end came already: the CLOSE waits for no answer
                    break
                while len(sent) > 1:  # the previous piece's answers, while this one is on the wire
                    self._acknowledged(*sent.popleft())
                if not handed:
                    item = self.todo.get()
            closing = self._close_behind()
            while sent:
                self._acknowledged(*sent.popleft())
            if closing is not None:
                *chmodded, closed = _pipelined.collect(self._sftp, closing)
                if not _pipelined.succeeded(closed):
                    raise cast("OSError", closed)  # a file system may report a failed write at the close
                self.owner.mode_error = self.owner.mode_error or refusal(chmodded)
        except _Stopped as exc:
            self.error = exc
            self._settle(sent)
        except BaseException as exc:
            self.error = exc
            self.owner.failed.set()

    def _handed(self) -> tuple[bool, tuple[int, memoryview, bytearray] | None]:
        """``(True, the next piece or None for the end)`` if handed already, else ``(False, None)``."""
        try:
            return True, self.todo.get_nowait()
        except queue.Empty:
            return False, None

    def _close_behind(self) -> list[_pipelined.Answer] | None:
        """When the writer closes (not aborts): send the handle's CLOSE right behind its last writes (one
        session's requests are served in order), so their answers and the close's share a round trip."""
        if not self.owner.closing or self.owner.failed.is_set():
            return None
        paramiko.file.BufferedFile.close(self.handle)  # marks it closed; sends nothing
        self.closed_behind = True
        chmod = chmod_request(self.handle, self.owner.mode_of(self))
        return _pipelined.send(self._sftp, [*chmod, (CMD_CLOSE, self.handle.handle)])

    def _send(self, start: int, view: memoryview, numbers: list[int]) -> None:
        size = write_request_size(self._sftp)  # the server's write limit once it told it
        for at in range(0, len(view), size):
            if self.owner.failed.is_set():
                raise _Stopped
            piece = view[at : at + size]  # no copy: paramiko packs it into the message
            handle_id = self.handle.handle
            numbers.append(self._sftp._async_request(self, CMD_WRITE, handle_id, int64(start + at), piece))

    def _settle(self, sent: deque[tuple[int, int, list[int], bytearray]]) -> None:
        """Stopped by another session's failure or an abort: wait for the answers to what this session
        already sent (whole pieces still count towards the committed prefix, the last one was cut short), so
        no write of it lands after the abort truncated the file."""
        with contextlib.suppress(Exception):
            *whole, (_, _, cut, _) = sent
            for piece in whole:
                self._acknowledged(*piece)
            for num in cut:
                self._answer(num)

    def _acknowledged(self, start: int, end: int, numbers: list[int], buffer: bytearray) -> None:
        """Wait for every answer of piece ``[start, end)`` (raising the server's error), then count it."""
        for num in numbers:
            self._answer(num)
        self.owner.free.put((self, buffer))
        self.owner.done(start, end)

    def _answer(self, num: int) -> None:
        """Wait for write request ``num``'s answer (unless read already), raising the server's error."""
        early = self._early.pop(num, None)
        if early is None:
            t, msg = self._sftp._read_response(num)  # raises on an error status
        else:
            t, msg = early
            if t == CMD_STATUS:
                self._sftp._convert_status(msg)
        if t != CMD_STATUS:
            raise OSError(f"SFTP server answered a write with message type {t}")


def _close_all(handles: Sequence[tuple[paramiko.SFTPFile, int | None]]) -> OSError | None:
    """Close every handle (each given its mode first, when not None), each over its own session at once (a
    round trip each); the first error is raised once all were tried, a refused mode returned."""
    if len(handles) < 2:
        refused = [close_acknowledged(handle, mode=mode) for handle, mode in handles]
    else:
        with ThreadPoolExecutor(len(handles), thread_name_prefix="sftp-close") as pool:
            futures = [pool.submit(close_acknowledged, handle, mode=mode) for handle, mode in handles]
        refused = [future.result() for future in futures]
    return next((error for error in refused if error is not None), None)


class _Stopped(Exception):
    """A session stops sending because another one failed."""


class ParallelSftpWriter:
    """A write stream over K handles of one remote file; each chunk is cut into K pieces, each sent by the
    session that is free first.

    ``first`` is the writer the caller opened (its handle, position and byte count are taken over);
    ``others`` are further handles on the same file (see :func:`widen_writer`). :meth:`close` closes each
    handle right behind its last writes, reads every answer and checks the size (unless ``first`` leaves that
    to its caller: ``check_size=False``); :meth:`abort` keeps only the acknowledged prefix.
    """

    def __init__(
        self, first: SftpWriter, others: Sequence[paramiko.SFTPFile], *, on_close: Any = None
    ) -> None:
        self.path = first.path
        self._sftp = first._sftp
        self.bytes_written = first.bytes_written
        self.committed = first.bytes_written
        self.failed = threading.Event()
        self.closed = False
        self.closing = False  # set by close() before the sessions finish: they send their CLOSE at once
        self.check_size = first.check_size
        self._first = first
        self._sessions = [_WriteSession(self, h, i) for i, h in enumerate([first._handle, *others])]
        # Two piece buffers per session, reused (the caller may reuse what it wrote as soon as write()
        # returns, and no piece-sized block is allocated per write): a session's buffer comes back here when
        # its piece is acknowledged, and the next piece goes to whichever session's buffer came back first.
        # None: not allocated yet (the first pieces go round the sessions in turn).
        self.free: queue.SimpleQueue[tuple[_WriteSession, bytearray | None]] = queue.SimpleQueue()
        for _ in range(2):
            for session in self._sessions:
                self.free.put((session, None))
        self._done: dict[int, int] = {}
        self._lock = threading.Lock()
        #: Called with :attr:`committed` each time it advances (in a session thread; must not raise).
        self.on_commit: Callable[[int], object] | None = None
        self._placing = threading.Lock()  # one caller hands pieces at a time (write_at may come from several)
        #: Given to the file through the first session's handle right before its close (see SftpWriter).
        self.mode_at_close = first.mode_at_close
        self.mode_error: OSError | None = None
        self._on_close = on_close
        for session in self._sessions:
            session.thread.start()

    def mode_of(self, session: _WriteSession) -> int | None:
        """The mode ``session`` sets before its close: the first session's :attr:`mode_at_close`."""
        return self.mode_at_close if session.index == 0 else None

    def done(self, start: int, end: int) -> None:
        """A session's chunk is acknowledged: advance the committed prefix over every contiguous chunk."""
        with self._lock:
            before = self.committed
            self._done[start] = end
            while self.committed in self._done:
                self.committed = self._done.pop(self.committed)
            advanced = self.committed if self.committed != before else None
        if advanced is not None and self.on_commit is not None:
            self.on_commit(advanced)

    def _raise_failure(self) -> None:
        for session in self._sessions:
            if session.error is not None and not isinstance(session.error, _Stopped):
                with sftp_errors(self.path, WRITE_FAILED):
                    raise session.error
        raise OSError(f"a parallel SFTP write to {self.path!r} stopped")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Hand ``data`` (the next bytes in order) to the sessions in pieces (see
        :func:`~irods_provider.sftp._io.split_pieces`); waits while every session holds two pieces."""
        with self._placing:
            return self._place(self.bytes_written, memoryview(data).cast("B"))

    def write_at(
        self, offset: int, data: bytes | bytearray | memoryview, *, stop: threading.Event | None = None
    ) -> int:
        """Hand ``data`` for ``[offset, offset + len(data))``, from any thread and in any order, like
        :meth:`write` otherwise. Every byte of the file must be handed exactly once (never mixed with
        :meth:`write`): :meth:`close` checks the size against the bytes handed, and the committed prefix
        counts only acknowledged ranges with nothing missing before them. ``stop``: give up waiting for a
        free piece buffer once set (the caller stopped; raises ``OSError``)."""
        with self._placing:
            if self.closed:
                raise OSError(f"the parallel SFTP write to {self.path!r} is closed")
            return self._place(offset, memoryview(data).cast("B"), stop)

    def _place(self, base: int, chunk: memoryview, stop: threading.Event | None = None) -> int:
        for start, size in split_pieces(base, len(chunk), len(self._sessions)):
            while (taken := self._take_buffer(size)) is None:
                if self.failed.is_set():
                    self._raise_failure()
                if stop is not None and stop.is_set():
                    raise OSError(f"stopped writing {self.path!r} at byte {start}")
            session, buffer = taken
            if self.failed.is_set():
                self.free.put(taken)
                self._raise_failure()
            piece = memoryview(buffer)[:size]
            piece[:] = chunk[start - base : start - base + size]  # copied: the caller may reuse ``data``
            session.todo.put((start, piece, buffer))
        self.bytes_written += len(chunk)
        return len(chunk)

    def _take_buffer(self, size: int) -> tuple[_WriteSession, bytearray] | None:
        """The session whose piece buffer came back first, with a buffer of at least ``size`` bytes; None
        while every session holds two pieces for ``_POLL`` s. A session that is slower than the others (its
        TCP connection lags) then takes fewer pieces instead of holding every chunk up."""
        try:
            session, buffer = self.free.get(timeout=_POLL)
        except queue.Empty:
            return None
        return session, buffer if buffer is not None and len(buffer) >= size else bytearray(size)

    def writable(self) -> bool:
        return True

    def _finish(self) -> None:
        for session in self._sessions:
            session.todo.put(None)
        for session in self._sessions:
            session.thread.join(_JOIN_TIMEOUT)

    def close(self) -> None:
        """Close every handle behind its last writes, read each write's and close's answer, then verify the
        remote size (``check_size``)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.closing = True
            self._finish()
            if self.failed.is_set():
                self._raise_failure()
            # A session still stuck after _finish's wait closed nothing: its handle is closed here.
            left = [(s.handle, self.mode_of(s)) for s in self._sessions if not s.closed_behind]
            with sftp_errors(self.path, WRITE_FAILED):
                self.mode_error = self.mode_error or _close_all(left)
            if self.check_size:
                size = self._sftp.stat(self.path).st_size
                if size != self.bytes_written:
                    raise OSError(
                        f"SFTP upload of {self.path!r} ended at {size} bytes, {self.bytes_written} were sent"
                    )
        except BaseException:
            self._keep_committed()
            raise
        finally:
            self._release()

    def abort(self) -> None:
        """Stop, keep only the acknowledged prefix (through a session still up) and close; never raises."""
        if self.closed:
            return
        self.closed = True
        self.failed.set()
        self._finish()
        self._keep_committed()
        self._release()

    def _keep_committed(self) -> None:
        """Truncate the file to :attr:`committed` through a live handle (a later resume hashes only bytes the
        server acknowledged in order), then close every handle."""
        for session in self._sessions:
            if session.thread.is_alive() or session.closed_behind:
                continue  # still stuck on a stalled connection (not safe to use), or closed
            with contextlib.suppress(Exception):
                session.handle.truncate(self.committed)
                break
        for session in self._sessions:
            release_handle(session.handle)

    def _release(self) -> None:
        if self._on_close is not None:
            with contextlib.suppress(Exception):
                self._on_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def widen_writer(
    sftp: SftpEndpoint,
    writer: SftpWriter,
    *,
    remaining: int,
    chunk_size: int,
    expected: SftpState | None = None,
) -> SftpWriter | ParallelSftpWriter:
    """``writer`` spread over one session per SSH connection of ``sftp`` when there is more than one and
    more than a chunk is left to write; otherwise ``writer`` itself.

    Every further handle is opened by name and must match the first handle's ``fstat`` (type, owner,
    permissions, size, mtime) before a byte is written: a file swapped in between is refused, typed. That
    ``fstat`` is asked while the further handles open (see :class:`Reopening`), unless ``expected`` is
    known already (the first handle's ``fstat``, nothing written since).
    """
    further = reopen_further(sftp, writer.path, remaining=remaining, chunk_size=chunk_size)
    if further is None:
        return writer
    try:
        state = expected if expected is not None else SftpState.of(writer._handle.stat())
    except BaseException:
        further.cancel()
        raise
    return further.join(writer, state)


def reopen_further(sftp: SftpEndpoint, path: str, *, remaining: int, chunk_size: int) -> Reopening | None:
    """Start opening ``path`` on one session per further SSH connection (see :func:`widen_writer`), or None
    when one session is enough (one connection, or at most a chunk left to write)."""
    sessions = min(sftp.connections, -(-remaining // max(1, chunk_size)))
    if sessions < 2:
        return None
    return Reopening(sftp, path, sessions - 1)


def _open_by_name(client: paramiko.SFTPClient, path: str) -> tuple[paramiko.SFTPFile, SftpState]:
    """``path`` opened for writing (no create) and its handle's ``fstat``."""
    handle = client.open(path, "r+b", bufsize=0)
    try:
        return handle, SftpState.of(handle.stat())
    except BaseException:
        handle.close()
        raise


class Reopening:
    """Further handles on ``path``, opened by name over ``count`` sessions of the other SSH connections, each
    (``open`` then ``fstat``) in a thread of its own, while the caller is busy with the first handle (its
    ``fstat``, a resume record): those round trips overlap. Nothing is written through a further handle
    before :meth:`join` checked it against the first handle's state; :meth:`cancel` closes them unused."""

    def __init__(self, sftp: SftpEndpoint, path: str, count: int) -> None:
        self.sftp = sftp
        self.path = path
        self.clients = sftp.open_channels(count)  # in the caller's thread: retrying() notes the connections
        pool = ThreadPoolExecutor(len(self.clients), thread_name_prefix="sftp-reopen")
        self._futures = [pool.submit(_open_by_name, client, path) for client in self.clients]
        pool.shutdown(wait=False)

    def _opened(self) -> list[tuple[paramiko.SFTPFile, SftpState]]:
        """Every further handle with its state, once all are open; the first failure raised (after closing
        the others and giving the sessions back)."""
        done = [(f.result(), None) if f.exception() is None else (None, f.exception()) for f in self._futures]
        opened = [pair for pair, _ in done if pair is not None]
        failure = next((exc for _, exc in done if exc is not None), None)
        if failure is not None:
            self._close([handle for handle, _ in opened])
            raise failure
        return opened

    def join(self, first: SftpWriter, expected: SftpState) -> ParallelSftpWriter:
        """``first`` widened over the further handles, each checked to be the same file as the first (its
        state equals ``expected``, the first handle's ``fstat``) before a byte is written through it."""
        opened = self._opened()
        for _, state in opened:
            change = expected.differences(state)
            if change is not None:
                self._close([handle for handle, _ in opened])
                raise IrodsInvalidPathError(
                    f"the temporary file changed while it was opened again ({change})", path=self.path
                )
        clients = self.clients
        return ParallelSftpWriter(first, [h for h, _ in opened], on_close=lambda: self.sftp.release(clients))

    def cancel(self) -> None:
        """Wait for the opens, close what opened and give the sessions back (never raises)."""
        try:
            opened = self._opened()
        except BaseException:
            return  # closed and given back already
        self._close([handle for handle, _ in opened])

    def _close(self, handles: Sequence[paramiko.SFTPFile]) -> None:
        for handle in handles:
            with contextlib.suppress(Exception):
                handle.close()
        self.sftp.release(self.clients)
