"""A file-like writer over the parallel-write handshake, with a bounded queue of chunks.

``write()`` cuts the byte stream into chunks and hands each to a worker that sends it with an explicit
offset on a
free stream index of one parallel-write handle. At most ``max_in_flight_chunks`` chunks are queued or being
sent;
``write()`` blocks beyond that, so memory is bounded whatever the file size. ``write()`` returns as soon as
its
chunk is queued: this is the asynchronous writer. The handle is always shut down (``close``, ``abort``,
errors).
An object of a known size of two chunks or more, over several streams, starts with small requests
growing to whole chunks (:data:`RAMP_UNIT_SHARE`), so every stream gets work early.

Each stream has up to ``config.requests_per_stream`` requests in flight: a request sent while the stream's
previous one is unanswered goes as a form whose last bytes wait for that answer
(:meth:`ParallelWriter._hold`).
The server reads a form whole before it writes, so a stream never runs two writes at once, yet the next
chunk crosses the link meanwhile: the round trip and the server's turnaround are hidden, and on a WAN path
each request in flight is its own TCP window.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from irods_provider._error_codes import error_code, vault_errno
from irods_provider.exceptions import (
    IrodsConnectionError,
    IrodsError,
    IrodsResponseError,
    IrodsServerBusyError,
    IrodsTimeoutError,
    IrodsTransferCancelledError,
)

from . import _resume
from ._api import SessionLike
from ._config import TransferConfig
from ._coordinator import TransferCoordinator, TransferSubscriber
from ._retry import ChunkRetrier, did_not_act

log = logging.getLogger(__name__)


TAIL_PIECE_MIN = 64 * 1024
"""The smallest request the last chunk is cut into (see :meth:`ParallelWriter._tail_pieces`)."""

RAMP_UNIT_SHARE = 8
"""A parallel upload starts with one request of ``chunk_size // RAMP_UNIT_SHARE`` (1 MiB of an 8 MiB chunk)
per stream, then requests doubling in size, each cut at the next chunk boundary, until one would be a
whole chunk at a chunk boundary (3 streams, 8 MiB chunks: 1, 1, 1, 2, 3 | 4, 4 MiB, then whole chunks).
Every stream gets work once its first small share is read instead of a whole chunk each, and every later
request is a whole chunk at a chunk boundary (see :meth:`ParallelWriter._ramp_sizes`)."""

_INVALID_HANDLE = error_code("INVALID_HANDLE")


def _bad_stream(exc: BaseException) -> bool:
    """Whether a write's refusal says its stream went bad: the server checks the stream before it reads a
    write (data_objects main.cpp:1196-1211 at 0.7.0) and answers INVALID_HANDLE, or the storage's own error
    (``UNIX_FILE_WRITE_ERR - errno``), or a bare 500 when it went bad between two writes of one request; the
    write that failed was acknowledged as a success when it was its request's last (main.cpp:447-485), so
    the stream's previous acknowledgement proves nothing."""
    if not isinstance(exc, IrodsResponseError):
        return False
    if exc.irods_code is None:  # a bare 500: the stream went bad between two writes of one request
        return exc.http_status == 500
    return exc.irods_code == _INVALID_HANDLE or vault_errno(exc.irods_code) is not None


HOLD_SHARE_OF_REQUEST_TIMEOUT = 4
"""A held request waits at most ``request_timeout_seconds / 4`` for its stream's previous answer: the server's
deadline counts from the request's first bytes. Past that it is abandoned (its connection closed, so the
server never sees a whole form), resent, and the writer sends one request per stream from then on."""


class ParallelWriter:
    """Writes one data object through a parallel-write handle; see the module docstring.

    Objects whose whole content is at most ``config.small_file_threshold`` bytes are sent in one plain
    write at
    close, without a handle. Use :func:`open_writer` to build one.
    """

    def __init__(
        self,
        session: SessionLike,
        path: str,
        *,
        config: TransferConfig,
        offset: int = 0,
        truncate: bool = True,
        size: int | None = None,
        coordinator: TransferCoordinator | None = None,
        executor: Executor | None = None,
        retrier: ChunkRetrier | None = None,
    ) -> None:
        self._api = session.data_objects
        self._session = session
        self.path = path
        self.config = config
        self.coordinator = coordinator or TransferCoordinator(path=path)
        self._retrier = retrier or ChunkRetrier(
            retries=config.retries,
            base_seconds=config.backoff_base_seconds,
            max_seconds=config.backoff_max_seconds,
            coordinator=self.coordinator,
        )
        self._truncate = truncate
        # The resource applies where the object is created or replaced (a truncating writer); writes into an
        # existing object (appends, resumes) go to the replica the server picks, never a new empty one.
        self._target: dict[str, Any] = {"resource": config.resource} if config.resource and truncate else {}
        self._start = offset
        self._next_offset = offset
        self._size_hint = size
        self._buf = bytearray()
        self._handle: str | None = None
        self._sequential = False
        self._remote: bool | None = None  # nothing can record a handle for the path (asked once)
        self._streams = config.stream_count
        if size is not None:
            chunks = max(1, -(-(size - offset) // config.chunk_size))
            self._streams = min(config.stream_count, chunks)
        self._ramp = self._ramp_sizes(offset, size)
        self._init_streams()
        self._own_executor = executor is None
        self._executor = executor
        self._cv = threading.Condition()
        self._in_flight = 0
        self.max_in_flight_seen = 0
        self._acked: dict[int, int] = {}
        self._committed = offset
        self._last_acked: dict[int, tuple[int, int]] = {}  # stream index -> (ticket, offset) of its last ack
        self._ceiling: int | None = None  # no committed prefix past this offset (see _distrust_last_acks)
        self._closed = False
        self._withdraw_cleanup: Callable[[], None] | None = None
        self._opening: threading.Thread | None = None
        self._opening_error: BaseException | None = None
        self.on_commit: Callable[[int], object] | None = None
        """Called from a stream worker with the new committed prefix whenever it grows (resume
        checkpoints); its chunk still counts as in flight meanwhile. Errors are logged, never raised."""
        self.coordinator.add_wakeup(self._wake)

    def _init_streams(self) -> None:
        """Stream indices for the workers (each ``requests_per_stream`` times) and, per stream, tickets in
        send order and the first one whose predecessors are all answered (a held request's turn, see
        :meth:`_hold`)."""
        self._depth = self.config.write_requests_per_stream
        self._indices: queue.SimpleQueue[int] = queue.SimpleQueue()
        for _ in range(self._depth):
            for index in range(self._streams):
                self._indices.put(index)
        self._issued = [0] * self._streams
        self._turn = [0] * self._streams
        self._answered: list[set[int]] = [set() for _ in range(self._streams)]
        self._pipelining = self._depth > 1

    # file-like surface -------------------------------------------------------------------------------------
    def writable(self) -> bool:
        """Always true."""
        return True

    @property
    def closed(self) -> bool:
        """Whether close() or abort() ran."""
        return self._closed

    def tell(self) -> int:
        """Absolute offset of the next byte written."""
        return self._next_offset + len(self._buf)

    @property
    def committed_bytes(self) -> int:
        """End of the contiguous prefix of acknowledged chunks (absolute offset)."""
        with self._cv:
            return self._committed

    @property
    def handle(self) -> str | None:
        """The parallel-write handle while one is open."""
        return self._handle

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue ``data``; blocks only while ``max_in_flight_chunks`` chunks are pending. Returns
        ``len(data)``."""
        if self._closed:
            raise ValueError("write to a closed ParallelWriter")
        self.coordinator.raise_if_failed()
        chunk = self._ramp[0] if self._ramp else self.config.chunk_size
        if type(data) is bytes and not self._buf and len(data) == chunk:
            # Immutable and exactly one chunk (what copy() reads from files): sent as it is, no copy.
            self._dispatch(data)
            return chunk
        view = memoryview(data).cast("B")
        n = len(view)
        pos = 0
        while pos < n:
            if not self._buf and n - pos >= chunk:
                data_chunk = bytes(view[pos : pos + chunk])  # one copy, not two through the buffer
                pos += chunk
            else:
                take = min(chunk - len(self._buf), n - pos)
                self._buf += view[pos : pos + take]
                pos += take
                if len(self._buf) < chunk:
                    return n
                data_chunk, self._buf = bytes(self._buf), bytearray()
            self._dispatch(data_chunk)
            chunk = self._ramp[0] if self._ramp else self.config.chunk_size
        return n

    def flush(self) -> None:
        """Nothing to do: chunks are sent as soon as they are full."""

    def close(self) -> None:
        """Send the rest, wait for every chunk, shut the handle down; raises the transfer's first error."""
        if self._closed:
            return
        try:
            self.coordinator.raise_if_failed()
            if self._opening is not None:
                self._open_handle()  # the early open's outcome (its error, raised)
            if (
                self._handle is None
                and not self._sequential
                and self._next_offset == self._start
                and len(self._buf) <= self._threshold()
            ):
                self._write_small()
            else:
                if self._buf:
                    data_chunk, self._buf = bytes(self._buf), bytearray()
                    self._dispatch(data_chunk)
                self._drain()
                self.coordinator.raise_if_failed()
        except BaseException as exc:
            self.coordinator.set_exception(exc)
            raise
        finally:
            self._finish()
        self.coordinator.raise_if_failed()

    def abort(self, *, keep_queued: bool = False) -> None:
        """Stop: drop the unfilled buffer, wait for requests on the wire, shut the handle down. Never raises.

        By default the transfer is cancelled, so queued chunks are dropped. With ``keep_queued`` (the source
        failed, the sink is fine) queued chunks are still sent, so a resume has more committed bytes.
        """
        self._stop(keep_queued=keep_queued)

    def __enter__(self) -> ParallelWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.coordinator.set_exception(exc)
            self.abort()

    # internals
    def _stop(self, *, keep_queued: bool) -> None:
        """What :meth:`abort` does; never overridden, so the failure cleanup can run it."""
        if self._closed:
            return
        if not keep_queued:
            self.coordinator.cancel()
        self._buf = bytearray()
        try:
            self._drain()
        finally:
            self._finish()

    def _stop_on_failure(self, cause: BaseException | None) -> None:
        """The failure cleanup of the handle and workers: a cancelled transfer drops its queued chunks, any
        other failure still sends them (the sink is fine, and a resume then has more committed bytes)."""
        self._stop(keep_queued=not isinstance(cause, IrodsTransferCancelledError))

    def _threshold(self) -> int:
        return min(self.config.small_file_threshold, self.config.chunk_size)

    def _ramp_sizes(self, offset: int, size: int | None) -> list[int]:
        """The sizes of the first requests (:data:`RAMP_UNIT_SHARE`), consumed as they are dispatched;
        empty (whole chunks from the first byte) unless the size is known to be at least two chunks and
        more than one stream sends it: a small or one-stream object gains nothing from smaller requests,
        and the last chunk keeps its own split over the streams (:meth:`_tail_pieces`). Boundaries are
        absolute, so a resume from inside the ramp ramps again up to whole chunks at chunk boundaries."""
        chunk = self.config.chunk_size
        unit = chunk // RAMP_UNIT_SHARE
        if size is None or size - offset < 2 * chunk or self._streams < 2 or unit < TAIL_PIECE_MIN:
            return []
        sizes: list[int] = []
        grow, at = unit, offset
        while len(sizes) < self._streams or at % chunk or grow < chunk:
            take = min(grow, chunk - at % chunk)
            sizes.append(take)
            at += take
            if len(sizes) >= self._streams and take == grow:
                grow *= 2
        return sizes

    def _wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def _write_small(self) -> None:
        data = bytes(self._buf)
        self._buf = bytearray()
        if not data and self._start > 0:
            return

        def send() -> None:
            self.coordinator.progress(len(data))
            self._api.write(
                self.path, data, offset=self._start, truncate=self._truncate, retry=False, **self._target
            )

        self._retrier.call(send, on_retry=lambda: self.coordinator.progress(-len(data)))
        self._next_offset += len(data)
        with self._cv:
            self._committed = self._next_offset

    def open_early(self) -> None:
        """Open the parallel-write handle now, on a helper thread, when the size says one will be needed:
        its round trips (and whatever the session does as it opens, e.g. recording it) overlap the reading
        of the first chunk instead of following it. The first chunk sent waits for it; nothing when the
        object may be small, is written as one stream, or has its handle already."""
        if self._closed or self._handle is not None or self._sequential or self._opening is not None:
            return
        if self._size_hint is None or self._size_hint - self._start <= self._threshold():
            return
        if (self._streams == 1 and self._executor is None) or self._unrecordable():
            return  # one stream, or nowhere to record a handle: plain offset writes, nothing to open
        self._withdraw_cleanup = self.coordinator.add_failure_cleanup(self._stop_on_failure)

        def run() -> None:
            try:
                self._init_handle()
            except BaseException as exc:  # raised by the first chunk's dispatch (or dropped by a cleanup)
                self._opening_error = exc

        self._opening = threading.Thread(target=run, name="irods-open", daemon=True)
        self._opening.start()

    def _join_opening(self) -> BaseException | None:
        """Wait for :meth:`open_early`'s helper (if any); its error, None when the handle opened."""
        if self._opening is not None:
            self._opening.join()
        return self._opening_error

    def _open_handle(self) -> None:
        if self._opening is not None:
            error = self._join_opening()
            if error is not None:
                raise error
            return
        # Registered before the handle (or the private workers) exists, so none can leak: a failed
        # transfer's cleanups shut it down; close() and abort() withdraw it as they shut it down themselves.
        self._withdraw_cleanup = self.coordinator.add_failure_cleanup(self._stop_on_failure)
        if (self._streams == 1 and self._executor is None) or self._unrecordable():
            # One stream: plain offset writes from one FIFO worker put the same bytes on the wire without the
            # handle's init/shutdown, and each write is durable at once. Where no handle can be recorded (see
            # ``_resume.unrecordable``: a federated zone without a journal in the local home), an unrecorded
            # one a killed worker leaves open never expires: offset writes there too.
            self._go_sequential()
            return
        self._init_handle()

    def _unrecordable(self) -> bool:
        if self._remote is None:
            self._remote = _resume.unrecordable(self._session, self.path)
        return self._remote

    def _init_handle(self) -> None:
        """``parallel_write_init``, then the stream workers.

        The init is resent only while the server provably did not act (busy, never reached, or a dropped
        connection after which the object it creates is not there): after a
        lost reply its handle may be open, unknown to us (handles never expire), and a second init would
        find the object locked. Such an unclear failure is raised as it is; the upload engine goes on
        through a fresh temporary (see ``upload_object``)."""

        create_first = self._target and not _init_honours_resource(self._session)

        def init() -> str:
            if create_first:
                return self._create_then_init()
            return self._api.parallel_write_init(
                self.path, stream_count=self._streams, truncate=self._truncate, retry=False, **self._target
            )

        def never_acted(exc: BaseException) -> bool:
            return did_not_act(exc) or self._never_created(exc)

        try:
            allowed = self._retrier.retry_on
            self._handle = self._retrier.call(init, retry_on=lambda exc: never_acted(exc) and allowed(exc))
        except IrodsServerBusyError as exc:
            # Still busy after every retry: the server-wide stream budget can stay taken for good by
            # handles nobody will shut down (a killed worker's never expire). Offset writes need no stream.
            log.warning(
                "parallel_write_init of %s stayed busy (%s); writing it as one stream of offset writes",
                self.path,
                exc,
            )
            self._go_sequential()
            return
        if self._executor is None:
            workers = self._streams * self._depth
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irods-write")

    def _create_then_init(self) -> str:
        """The object created on the chosen resource by an empty truncating ``write`` (which honours
        ``resource`` on every release), then a handle opened on it without truncating and without
        ``resource``: for releases whose ``parallel_write_init`` ignores ``resource`` (0.4.0, 0.5.0).

        Without ``O_CREAT`` the open resolves the hierarchy for a *write* among the object's existing
        replicas only (irods 4.3.2 server/api/src/rsDataObjOpen.cpp:763-778;
        server/core/src/irods_resource_redirect.cpp:408-426, 175-279), where the server's default resource
        is consulted only with the force flag (:419-422): the one replica just made wins. ``truncate=0``
        opens ``O_RDWR`` (lib/core/include/irods/transport/default_transport.hpp:308-309), whereas a
        truncating open creates on the default resource (:302-303; irods_resource_redirect.cpp:379-405)."""
        self._api.write(self.path, b"", offset=0, truncate=True, retry=False, **self._target)
        return self._api.parallel_write_init(
            self.path, stream_count=self._streams, truncate=False, retry=False
        )

    def _never_created(self, exc: BaseException) -> bool:
        """Whether a truncating init whose connection dropped (not timed out: the server may still be at it)
        left no object behind: the server never read it (a stale keep-alive connection), so it may be
        sent again. An object there may be one it opened: then the failure stays unclear."""
        if not (self._truncate and isinstance(exc, IrodsConnectionError)):
            return False
        try:
            return not self._api.exists(self.path)
        except IrodsError:
            return False

    def _go_sequential(self) -> None:
        """Plain offset writes from one private FIFO worker (the first one truncates, so order matters)."""
        self._sequential = True
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="irods-write")
        self._own_executor = True

    def _dispatch(self, data: bytes) -> None:
        if self._handle is None and not self._sequential:
            self._open_handle()
        if self._ramp:
            self._ramp.pop(0)
            if self._sequential:  # one stream after all (the server was busy): nothing to overlap
                self._ramp.clear()
        pieces = self._tail_pieces(len(data))
        if pieces < 2:
            self._dispatch_one(data)
            return
        step = -(-len(data) // pieces)
        for at in range(0, len(data), step):
            self._dispatch_one(data[at : at + step])

    def _tail_pieces(self, length: int) -> int:
        """Into how many requests the object's last chunk goes: one per stream (pieces of at least
        ``TAIL_PIECE_MIN`` bytes), so the streams, free at different times, finish together instead of
        one stream sending the whole last chunk alone; 1 for any other chunk, or one stream."""
        last = self._size_hint is not None and self._next_offset + length == self._size_hint
        if not last or self._sequential or self._streams < 2:
            return 1
        return min(self._streams, length // TAIL_PIECE_MIN)

    def _dispatch_one(self, data: bytes) -> None:
        limit = self.config.max_in_flight_chunks
        with self._cv:
            self._cv.wait_for(lambda: self._in_flight < limit or self.coordinator.exception is not None)
            self.coordinator.raise_if_failed()
            self._in_flight += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self._in_flight)
        offset = self._next_offset
        self._next_offset += len(data)
        assert self._executor is not None
        try:
            self._executor.submit(self._send, offset, data)
        except BaseException:
            self._chunk_done(offset, 0)
            raise

    def _send(self, offset: int, data: bytes) -> None:
        acked = 0
        try:
            self.coordinator.raise_if_failed()
            index = self._indices.get()
            with self._cv:
                ticket = self._issued[index]
                self._issued[index] += 1
            try:
                handle = self._handle

                def send() -> None:
                    self.coordinator.progress(len(data))
                    if self._sequential:
                        first = offset == self._start and self._truncate
                        self._api.write(
                            self.path, data, offset=offset, truncate=first, retry=False, **self._target
                        )
                        return
                    self._api.write(
                        self.path,
                        data,
                        offset=offset,
                        truncate=False,
                        parallel_write_handle=handle,
                        stream_index=index,
                        retry=False,
                        hold=self._hold(index, ticket),
                    )

                self._retrier.call(send, on_retry=lambda: self.coordinator.progress(-len(data)))
                acked = len(data)
                self._note_ack(index, ticket, offset)
            finally:
                self._answer(index, ticket)
                self._indices.put(index)
        except BaseException as exc:
            if not self._sequential and _bad_stream(exc):
                self._distrust_last_acks()
            if not isinstance(exc, IrodsTransferCancelledError):
                self.coordinator.set_exception(exc)
        finally:
            self._chunk_done(offset, acked)

    def _hold(self, index: int, ticket: int) -> Callable[[], None] | None:
        """What a request on stream ``index`` waits for before its last bytes: None when every earlier
        request on the stream is answered (sent as it is); else, pipelining, its turn (a held form);
        pipelining stopped, the turn is awaited here, before anything is sent."""
        with self._cv:
            if self._turn[index] >= ticket:
                return None
            if self._pipelining:
                limit = self.config.request_timeout_seconds / HOLD_SHARE_OF_REQUEST_TIMEOUT
                return functools.partial(self._await_turn, index, ticket, limit)
        self._await_turn(index, ticket, None)
        return None

    def _await_turn(self, index: int, ticket: int, limit: float | None) -> None:
        with self._cv:
            turned = self._cv.wait_for(
                lambda: self._turn[index] >= ticket or self.coordinator.exception is not None, limit
            )
            self.coordinator.raise_if_failed()
            if turned:
                return
            self._pipelining = False
        log.warning(
            "a write to %s waited %.1f s for the previous write on its stream; one write per stream from now",
            self.path,
            limit,
        )
        raise IrodsTimeoutError(
            f"held write waited {limit:.1f} s for the previous write on stream {index}",
            operation="data_objects.write",
            path=self.path,
        )

    def _answer(self, index: int, ticket: int) -> None:
        """Ticket ``ticket`` of stream ``index`` is done (sent, failed or never sent): move the turn on."""
        with self._cv:
            answered = self._answered[index]
            answered.add(ticket)
            while self._turn[index] in answered:
                answered.discard(self._turn[index])
                self._turn[index] += 1
            self._cv.notify_all()

    def _note_ack(self, index: int, ticket: int, offset: int) -> None:
        with self._cv:
            last = self._last_acked.get(index)
            if last is None or ticket > last[0]:
                self._last_acked[index] = (ticket, offset)

    def _distrust_last_acks(self) -> None:
        """A stream went bad (a full vault, a failing disk): the write that failed may be any stream's last
        acknowledged one, so the committed prefix (where a resume starts) ends before the lowest of them."""
        with self._cv:
            if not self._last_acked:
                return
            cut = min(offset for _, offset in self._last_acked.values())
            self._ceiling = cut if self._ceiling is None else min(self._ceiling, cut)
            self._committed = min(self._committed, cut)
            self._acked = {at: n for at, n in self._acked.items() if at < cut}

    def _chunk_done(self, offset: int, acked: int) -> None:
        grew = None
        with self._cv:
            if acked and (self._ceiling is None or offset < self._ceiling):
                before = self._committed
                self._acked[offset] = acked
                while self._committed in self._acked:
                    self._committed += self._acked.pop(self._committed)
                grew = self._committed if self._committed > before else None
        try:
            if grew is not None and self.on_commit is not None:
                self.on_commit(grew)
        except Exception as exc:
            log.warning("commit callback on %s failed: %s", self.path, exc)
        finally:
            with self._cv:
                self._in_flight -= 1
                self._cv.notify_all()

    def _drain(self) -> None:
        with self._cv:
            self._cv.wait_for(lambda: self._in_flight == 0)

    def _finish(self) -> None:
        self._closed = True
        self._join_opening()  # a handle still being opened is shut down below, never leaked
        handle, self._handle = self._handle, None
        withdraw, self._withdraw_cleanup = self._withdraw_cleanup, None
        if withdraw is not None:
            withdraw()
        try:
            if handle is not None:
                self._api.parallel_write_shutdown(handle)
        finally:
            if self._own_executor and self._executor is not None:
                self._executor.shutdown(wait=True)


def _init_honours_resource(session: SessionLike) -> bool:
    """Whether the server's ``parallel_write_init`` acts on ``resource`` (from 0.6.0 on; a session that
    does not tell its release, e.g. a test double, is taken to be a current one)."""
    api = getattr(session, "api", None)
    honours = getattr(api, "honours", None)
    return True if honours is None else bool(honours("data_objects.parallel_write_init", "resource"))


def open_writer(
    session: SessionLike,
    path: str,
    *,
    config: TransferConfig | None = None,
    streams: int | None = None,
    chunk_size: int | None = None,
    offset: int = 0,
    truncate: bool = True,
    size: int | None = None,
    subscribers: tuple[TransferSubscriber, ...] = (),
    cancel_event: threading.Event | None = None,
    executor: Executor | None = None,
    publish: bool = True,
    guard: bool | None = None,
    **config_overrides: Any,
) -> ParallelWriter:
    """Open a parallel, bounded-memory writer on ``path``; ``write()`` returns once the chunk is queued.

    ``streams`` and ``chunk_size`` override ``config`` and are capped by the server's limits. Close it (or
    use ``with``) to finish the upload. A new content (``truncate`` at offset 0) is written atomically: to a
    temporary sibling whose handle is recorded, renamed onto ``path`` (replacing it) at close, so ``path``
    never holds a partial object, even after ``kill -9`` (see :class:`AtomicWriter`; ``publish=False``
    leaves the rename to the caller's ``writer.publish()``, checked first unless ``guard=False``: see
    :class:`AtomicWriter`). ``offset`` with ``truncate=False`` continues an existing object in place (append,
    resume): that cannot be atomic.
    """
    cfg = _effective_config(session, config, streams=streams, chunk_size=chunk_size, **config_overrides)
    coordinator = TransferCoordinator(path=path, subscribers=subscribers, cancel_event=cancel_event)
    if truncate and offset == 0:
        from ._atomic import AtomicWriter  # it builds on this module

        return AtomicWriter(
            session,
            path,
            config=cfg,
            size=size,
            coordinator=coordinator,
            executor=executor,
            publish=publish,
            guard=guard,
        )
    return ParallelWriter(
        session,
        path,
        config=cfg,
        offset=offset,
        truncate=truncate,
        size=size,
        coordinator=coordinator,
        executor=executor,
    )


def _effective_config(
    session: SessionLike,
    config: TransferConfig | None,
    *,
    streams: int | None = None,
    chunk_size: int | None = None,
    reads: bool = False,
    **overrides: Any,
) -> TransferConfig:
    """Apply per-call overrides, then cap by the server's limits (``reads``: for a download)."""
    from dataclasses import replace

    cfg = config or TransferConfig()
    if streams is not None:
        overrides["streams"] = streams
    if chunk_size is not None:
        overrides["chunk_size"] = chunk_size
        overrides.setdefault("small_file_threshold", min(cfg.small_file_threshold, chunk_size))
    if overrides:
        cfg = replace(cfg, **overrides)
    limits = getattr(session, "limits", None)
    return cfg.for_server(limits, reads=reads)
