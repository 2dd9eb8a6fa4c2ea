"""SSH connections from an Airflow SFTP connection, shared by the staging workers.

Built on Airflow's :class:`~airflow.providers.sftp.hooks.sftp.SFTPHook`, so users reuse their SFTP connections
(host key checks, keys, proxies). One or more SSH connections (``sftp_connections``: each its own TCP
connection, tuned with TCP_NODELAY from its first packet: :mod:`._tcp`) carry the workers' SFTP channels,
the least busy one lending the next; commands (``sha256sum``) run over ``exec`` channels of the first
connection when allowed.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import posixpath
import queue
import shlex
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self, TypeVar

import paramiko

from irods_provider.exceptions import (
    IrodsError,
    IrodsInvalidPathError,
    IrodsNotADirectoryError,
    IrodsProtocolError,
    IrodsSftpConnectionError,
    IrodsUsageError,
)
from irods_provider.sftp._io import (
    open_sftp_channels,
    tune_transport,
)
from irods_provider.sftp._modes import settle_directory_mode
from irods_provider.sftp._session import eager_sessions
from irods_provider.sftp._status import answer_typed, is_raw_connection_error, sftp_error, sftp_errors
from irods_provider.sftp._tcp import tuned_handshakes

if TYPE_CHECKING:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

__all__ = ["SftpEndpoint", "close_quietly", "is_raw_connection_error", "sftp_error", "sftp_errors"]

_EXEC_TIMEOUT = 600.0
#: Seconds an SFTP request may wait for its answer before the connection counts as stalled and is replaced.
IO_TIMEOUT = 120.0
_NOTICE_DROP_SECONDS = 1.0
_POLL_UP = 0.2  # seconds between looks at a background widen that notifies nothing (it failed)
_MAX_BACKOFF = 10.0
_MAX_ATTEMPTS_PER_RETRY = 10
T = TypeVar("T")
_log = logging.getLogger(__name__)
# A remote command's stdout/stderr beyond this is refused, not buffered (sha256sum prints ~100 bytes).
MAX_COMMAND_OUTPUT = 64 * 1024
#: SFTP channels one SSH connection carries at most for the workers (:meth:`SftpEndpoint.channel`), its own
#: first channel and the range readers' counted: OpenSSH refuses a connection's session beyond
#: ``MaxSessions`` (10 by default), and a command (``sha256sum``) needs an exec session of its own. A
#: server that refuses earlier (a lower ``MaxSessions``) lowers it for that connection.
CHANNELS_PER_CONNECTION = 8
#: RFC 4254 5.1 reasons a server refuses to open a session on a live connection: administratively prohibited,
#: connect failed (what OpenSSH 9 answers past ``MaxSessions``), resource shortage.
_SESSION_REFUSALS = frozenset({1, 2, 4})


class _Link:
    """One SSH connection (its own TCP connection) of an endpoint: its hook, transport, channels and pool.

    ``generation`` grows each time the connection is replaced, so nobody is lent a channel of a dead one.
    """

    def __init__(self, index: int, hook: SFTPHook) -> None:
        self.index = index
        self.hook = hook
        self.generation = 0
        self.main: paramiko.SFTPClient | None = None
        self.transport: paramiko.Transport | None = None
        self.clients: list[paramiko.SFTPClient] = []
        self.pool: queue.SimpleQueue[tuple[int, paramiko.SFTPClient]] = queue.SimpleQueue()
        self.borrowed = 0  # channels lent out now (the least busy connection gets the next worker)
        self.opening = 0  # worker channels being opened now (they count against the connection's budget)
        self.budget: int | None = None  # the server refused a session here at this many channels
        self.reconnecting = threading.Lock()

    def room(self, cap: int) -> bool:
        """Whether a worker may open one more channel here (with the lock held)."""
        return len(self.clients) + self.opening < min(cap, self.budget or cap)


class SftpEndpoint:
    """SFTP channels and commands over one or more SSH connections opened from ``hook``; a context manager.

    ``connections`` SSH connections (each its own TCP connection, so a WAN path's per-connection window
    does not cap the whole task) are opened through the hook: the first by ``hook`` itself, the others by
    copies of it. Workers borrow channels from the least busy connection and :meth:`open_channels` spreads
    range readers and writers over them. A dropped or stalled connection is replaced on its own by
    :meth:`reconnect` (a new SSH connection through its hook, bounded attempts with backoff);
    :meth:`retrying` runs one file's copy again once the connections it used are back. Leaving the ``with``
    block turns a raw paramiko or socket error into :class:`IrodsSftpConnectionError`.

    ``bulk_cipher``: every connection (each carries bulk data) uses AES-GCM when the server offers it and the
    connection names no ``ciphers`` of its own: AES-GCM goes first in its cipher preferences before its
    first key exchange (:func:`.prefer_aead_first`), so it is agreed at once, with no re-key.
    """

    def __init__(
        self,
        hook: SFTPHook,
        *,
        connections: int = 1,
        compress: bool | None = False,
        io_timeout: float | None = IO_TIMEOUT,
        connect_attempts: int = 5,
        backoff: float = 0.5,
        bulk_cipher: bool = True,
        channels_per_connection: int = CHANNELS_PER_CONNECTION,
    ) -> None:
        if connections < 1:
            raise IrodsUsageError(f"sftp_connections must be >= 1, got {connections}")
        if channels_per_connection < 1:
            raise IrodsUsageError(f"channels_per_connection must be >= 1, got {channels_per_connection}")
        self.channels_per_connection = channels_per_connection
        self.hook = hook
        self.compress = compress
        self.io_timeout = io_timeout
        self.connect_attempts = max(1, connect_attempts)
        self.bulk_cipher = bulk_cipher
        self.backoff = backoff
        self._links = [_Link(0, hook)]
        self._wanted = self._requested = connections
        self._lock = threading.Lock()
        self._link_up = threading.Condition(self._lock)  # notified as each connection comes up
        self._channel_back = threading.Condition(self._lock)  # notified as a worker gives its channel back
        # Per thread: the worker channels it holds (a nested borrow never waits for a free one).
        self._holding = threading.local()
        self._ups = 0  # connections opened so far (what a waiter on _link_up compares)
        self._owner: dict[int, _Link] = {}  # id(client) -> the live connection it is a channel of
        self._lent: dict[int, _Link] = {}  # id(client) -> the connection it counts as borrowed on
        self._used = threading.local()  # per thread: {link index: generation} used by the current run
        self._remove_later: list[str] = []
        self._widening: threading.Thread | None = None
        self._widen_more = 0  # connections a widen_in_background asked for while one was running
        self._widen_active = False  # a background widen is opening connections (or about to)
        self._spare_asked = False
        self._opening: threading.Thread | None = None
        self._open_error: BaseException | None = None
        self._started = False  # open() or open_in_background() ran: entering the block does not open again
        self._lent_idle: dict[int, int] = {}  # id(client) -> generation: pooled clients open_channels lent
        self._directories: set[str] = set()  # directories makedirs() created or found (never asked again)
        self._home: str | None = None
        self.reconnects = 0
        self.commands_allowed: bool | None = None
        #: The permission bits a plain create gives a new file on the server (0666 less its umask), learned
        #: once per task by :func:`~._sink.target_root`; None while unknown.
        self.new_file_mode: int | None = None
        #: The server refused to set a file's mode by its handle (staging then leaves modes to the server).
        self.modes_refused = False
        #: The login user's uid on the server (the owner of the directory that probe makes); None: unknown.
        self.login_uid: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """How many SSH connections the endpoint holds (or will hold once opened)."""
        return self._wanted

    @property
    def generation(self) -> int:
        """The first connection's generation (how often it was opened)."""
        return self._links[0].generation

    @property
    def home(self) -> str:
        """The login directory (``realpath .``), asked once on first use: only relative paths need it."""
        if self._home is None:
            home = str(self.main.normalize("."))
            with self._lock:
                self._home = self._home or home
        return self._home

    @home.setter
    def home(self, value: str) -> None:
        self._home = value

    @property
    def home_known(self) -> bool:
        """Whether :attr:`home` was asked already (or set): resolving a relative path costs no round trip."""
        return self._home is not None

    def open(self) -> Self:
        """Connect (through the hook) and open the other connections asked for, all at once: the copies of
        the hook for connections 1.. are made before the first connects, so no handshake waits for another."""
        self._started = True
        if self.compress is not None:
            # SSHHook compresses by default: zlib on bulk, incompressible data caps paramiko at ~30 MB/s.
            self.hook.compress = self.compress
        with self._lock:
            added = [_Link(i, self._sibling_hook()) for i in range(len(self._links), self._requested)]
            self._links.extend(added)
        if not added:
            self._open_link(self._links[0])
            return self
        with ThreadPoolExecutor(len(added), thread_name_prefix="sftp-connect") as pool:
            futures = [pool.submit(self._open_link, link) for link in added]
            first = _outcome_of(self._open_link, self._links[0])
        failure = first or next((f.exception() for f in futures if f.exception() is not None), None)
        if failure is not None:
            raise failure
        return self

    def widen(self, connections: int, *, best_effort: bool = False) -> None:
        """Hold at least ``connections`` SSH connections (the new ones opened in parallel).

        ``best_effort``: a connection that cannot be opened (a server limiting sessions per user) is left
        out with a warning and the work runs on the others; otherwise the first failure is raised.
        """
        with self._lock:
            added = [_Link(i, self._sibling_hook()) for i in range(len(self._links), connections)]
            self._links.extend(added)
        if not added:
            return
        with ThreadPoolExecutor(len(added), thread_name_prefix="sftp-connect") as pool:
            futures = [pool.submit(self._open_link, link) for link in added]
        failures = [f.exception() for f in futures if f.exception() is not None]
        if failures and not best_effort:
            raise failures[0]  # type: ignore[misc]
        if failures:
            _log.warning(
                "Opened %d of %d more SSH connections (%s); continuing with %d",
                len(added) - len(failures),
                len(added),
                failures[0],
                len(self._links) - len(failures),
            )
        with self._lock:
            self._wanted = max(len(self._links) - len(failures), self._widen_more)

    def widen_in_background(self, connections: int, *, spare: bool = False) -> None:
        """Start :meth:`widen` (best effort) in a thread and return at once: the task's other setup (the
        file's first requests, the iRODS side, even the first connection's handshake) overlaps the SSH
        handshakes. :attr:`connections` counts the new connections already; :meth:`open_channels` and
        :meth:`close` wait for them. Asked again for more (a plan finding more bytes), the running widen
        opens those too once its own are up. ``spare``: meanwhile also :meth:`open_spare_channel` once (for
        range readers: the new connections lend their own idle channel, the first one has none left)."""
        with self._lock:
            spare = spare and not self._spare_asked
            self._spare_asked |= spare
            more = connections > max(len(self._links), self._wanted if self._widen_active else 0)
            if not (more or spare):
                return
            if more:
                self._wanted = connections
            if self._widen_active:  # the running one opens them next; a spare opens meanwhile
                self._widen_more = max(self._widen_more, connections)
                if spare:
                    threading.Thread(target=self.open_spare_channel, name="sftp-spare", daemon=True).start()
                return
            self._widen_active = True
            thread = threading.Thread(
                target=self._widen_quietly,
                args=(connections if more else 0, spare),
                name="sftp-widen",
                daemon=True,
            )
            self._widening = thread
        thread.start()

    def _widen_quietly(self, connections: int, spare: bool) -> None:
        side = threading.Thread(target=self.open_spare_channel, name="sftp-spare", daemon=True)
        if spare:
            side.start()
        try:
            while connections:
                self.widen(connections, best_effort=True)
                with self._lock:  # more asked meanwhile: open those too; none: this widen is over
                    connections, self._widen_more = self._widen_more, 0
                    connections = connections if connections > len(self._links) else 0
                    self._widen_active = bool(connections)
        except Exception as exc:  # best effort: the work runs on the connections that are up
            _log.warning("Could not open more SSH connections: %s", exc)
            with self._lock:
                self._wanted = sum(1 for link in self._links if link.transport is not None) or 1
        finally:
            with self._lock:
                self._widen_active, self._widen_more = False, 0
            if spare:
                side.join()

    def wait_widened(self) -> None:
        """Wait until a :meth:`widen_in_background` has opened (or given up on) its connections."""
        thread = self._widening
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._widening = None

    def _sibling_hook(self) -> SFTPHook:
        """A copy of the hook that opens its own SSH connection (its own proxy command too)."""
        hook = copy.copy(self.hook)
        hook.conn = None
        hook.client = None
        command = getattr(hook, "host_proxy_cmd", None)
        if command:
            hook.host_proxy = paramiko.ProxyCommand(command)
        return hook

    def _open_link(self, link: _Link) -> None:
        """Open ``link``'s SSH connection through its hook and tune the transport."""
        if self.compress is not None:
            link.hook.compress = self.compress
        prefer_aead = bool(self.bulk_cipher and not getattr(link.hook, "ciphers", None))
        # TCP_NODELAY from the first packet, quick ACKs until the SFTP session's first data, AES-GCM first
        # if asked; the session's first request leaves with its setup (see _session.py).
        with tuned_handshakes(prefer_aead=prefer_aead, until_session_data=True), eager_sessions():
            main = answer_typed(link.hook.get_conn())
            channel = main.get_channel()
            if channel is None:
                raise OSError("the SFTP client has no channel")
            transport = channel.get_transport()
            tune_transport(transport)
        channel.settimeout(self.io_timeout)
        with self._lock:
            link.main, link.transport = main, transport
            link.generation += 1
            link.clients.append(main)
            self._owner[id(main)] = link
            generation = link.generation
        link.pool.put((generation, main))
        with self._lock:
            self._ups += 1
            self._link_up.notify_all()
            self._channel_back.notify_all()

    def _drop_link(self, link: _Link) -> None:
        """Close every channel and the transport of ``link`` (its hook's cached client with it)."""
        with self._lock:
            clients, link.clients = link.clients, []
            transport, link.transport = link.transport, None
            link.main = None
            link.budget = None  # a new connection may be given more
            for client in clients:
                self._owner.pop(id(client), None)
            self._channel_back.notify_all()
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()
        with contextlib.suppress(Exception):
            link.hook.close_conn()

    def close(self) -> None:
        """Close every channel and transport of every connection (after a background open or widen ends)."""
        opening = self._opening
        if opening is not None and opening is not threading.current_thread():
            opening.join()
        self.wait_widened()
        self._lent_idle.clear()
        for link in list(self._links):
            self._drop_link(link)

    def open_in_background(self) -> Self:
        """Start :meth:`open` in a thread and return at once, so the caller's other setup (the iRODS login
        and plan) overlaps the SSH handshakes. Entering the ``with`` block does not wait: the first call
        that needs a connection does (:meth:`_ready`), and raises what the open raised, typed."""
        with self._lock:
            if self._opening is None and not self._started:
                self._started = True
                self._opening = threading.Thread(target=self._open_quietly, name="sftp-open", daemon=True)
                self._opening.start()
        return self

    def _open_quietly(self) -> None:
        try:
            self.open()
        except BaseException as exc:
            self._open_error = exc

    def _ready(self) -> None:
        """Wait for a background :meth:`open` (no-op once it finished); a failed one raises
        :class:`IrodsSftpConnectionError` (every caller, not only the first)."""
        thread = self._opening
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if self._open_error is not None:
            self._raise_open_error()

    def _raise_open_error(self) -> NoReturn:
        error = self._open_error
        assert error is not None
        typed = _connect_error(error)
        if typed is error:
            raise error
        raise typed from error

    def __enter__(self) -> Self:
        if self._started:  # opening in the background: the first call needing a connection waits
            return self
        try:
            self.open()
            return self
        except Exception as exc:
            self.close()
            if isinstance(exc, IrodsError) or not is_raw_connection_error(exc):
                raise
            raise _connect_error(exc) from exc

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        if exc is None and self._open_error is not None:  # a background open failed, nothing asked
            self._raise_open_error()
        if exc is not None and not isinstance(exc, IrodsError) and is_raw_connection_error(exc):
            error = IrodsSftpConnectionError(
                f"the SSH connection to the SFTP server failed: {type(exc).__name__}: {exc}"
            )
            with contextlib.suppress(AttributeError):
                error.report = exc.report  # type: ignore[attr-defined]
            raise error from exc

    @property
    def transport(self) -> paramiko.Transport:
        """The first connection's transport (commands run there)."""
        self._ready()
        link = self._links[0]
        transport = link.transport
        if transport is None:
            self._not_connected(link)
        self._note(link, link.generation)
        return transport

    @property
    def main(self) -> paramiko.SFTPClient:
        """The first connection's own SFTP channel."""
        self._ready()
        link = self._links[0]
        main = link.main
        if main is None or link.transport is None:
            self._not_connected(link)
        self._note(link, link.generation)
        return main

    def transports(self) -> list[paramiko.Transport]:
        """The transports of the connections open now (one TCP connection each)."""
        self._ready()
        return [link.transport for link in self._links if link.transport is not None]

    def _not_connected(self, link: _Link) -> NoReturn:
        if link.generation:  # between a lost connection and its replacement: retried like a drop
            raise paramiko.SSHException("the SSH connection is being replaced")
        raise RuntimeError("SftpEndpoint is not open")

    # -- surviving dropped connections ----------------------------------------------------------------

    def _note(self, link: _Link, generation: int) -> None:
        """Record that the current thread's run uses ``link`` (at ``generation``), for :meth:`retrying`."""
        used: dict[int, int] | None = getattr(self._used, "links", None)
        if used is not None:
            used.setdefault(link.index, generation)

    def lost_connections(self, exc: BaseException, used: Mapping[int, int]) -> list[tuple[int, int]] | None:
        """Which of the connections ``used`` (index -> generation) to replace after ``exc``, as (index,
        generation); None when ``exc`` is not a connection failure.

        A session the server refused (past its ``MaxSessions``): none (retry on a channel when one is free).
        Replaced already, or no longer active (paramiko notices a drop a moment after its channels fail):
        those. A stall (a read past ``io_timeout``): all of them. A failed channel while every connection
        is still up (the server ended one SFTP session, or paramiko has not noticed the drop yet): those
        whose own channel is closed, else none (an empty list: retry on a fresh channel; closed channels
        are never lent again, and a dead connection is noticed on the next attempt).
        """
        if not is_raw_connection_error(exc) and not _in_chain(exc, (paramiko.SSHException, TimeoutError)):
            return None
        if _chain_has(exc, _refused_session):  # a session past the server's MaxSessions: nothing was lost
            return []
        candidates = dict(used) or {0: self._links[0].generation}
        replaced = [(i, g) for i, g in candidates.items() if self._links[i].generation != g]
        if replaced:
            return replaced
        deadline = time.monotonic() + _NOTICE_DROP_SECONDS
        while True:
            dead = [(i, g) for i, g in candidates.items() if not _active(self._links[i].transport)]
            if dead or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if dead:
            return dead
        if _in_chain(exc, (paramiko.SSHException, TimeoutError)):
            return list(candidates.items())
        return [(i, g) for i, g in candidates.items() if _sftp_closed(self._links[i].main)]

    def reconnect(self, generation: int, index: int = 0) -> None:
        """Replace connection ``index`` at ``generation`` by a new one (a no-op if already replaced).

        Up to ``connect_attempts`` tries, ``backoff`` seconds apart doubling (a server refusing new
        sessions for a while); paths queued with :meth:`remove_later` are removed on the new connection.
        The other connections keep running.
        """
        link = self._links[index]
        with link.reconnecting:
            if generation != link.generation:
                return
            self._drop_link(link)
            if hasattr(link.hook, "conn_retry_attempts"):
                link.hook.conn_retry_attempts = 1  # the attempts and backoff here govern reconnecting
            for attempt in range(self.connect_attempts):
                try:
                    self._open_link(link)
                    break
                except Exception as exc:
                    if not is_raw_connection_error(exc) or attempt + 1 == self.connect_attempts:
                        raise IrodsSftpConnectionError(
                            f"could not reconnect to the SFTP server: {type(exc).__name__}: {exc}",
                            attempts=attempt + 1,
                        ) from exc
                    self._drop_link(link)
                    time.sleep(min(_MAX_BACKOFF, self.backoff * 2**attempt))
            with self._lock:
                self.reconnects += 1
            self._flush_remove_later(link)

    def remove_later(self, path: str) -> None:
        """Remove ``path`` once a new connection is up (a temporary a dropped connection could not)."""
        with self._lock:
            self._remove_later.append(path)

    def discard(self, client: paramiko.SFTPClient, path: str) -> Exception | None:
        """Remove ``path`` (never following a link) if it is there; on a lost connection, once reconnected.
        Returns the server's refusal (a directory made read-only: ``SSH_FX_PERMISSION_DENIED``), else None:
        the caller decides whether a file it cannot remove is worth saying or recording."""
        try:
            client.remove(path)
        except FileNotFoundError:
            pass
        except Exception as exc:
            if not is_raw_connection_error(exc):
                return exc
            self.remove_later(path)
        return None

    def _flush_remove_later(self, link: _Link) -> None:
        with self._lock:
            paths, self._remove_later = self._remove_later, []
        main = link.main
        for path in paths:
            with contextlib.suppress(OSError, paramiko.SSHException, AttributeError):
                main.remove(path)  # type: ignore[union-attr]

    def retrying(
        self,
        run: Callable[[], T],
        *,
        path: str,
        retries: int,
        log: logging.Logger | None = None,
        progress: Callable[[], int] | None = None,
    ) -> T:
        """``run()``; when a connection it used is lost during it, reconnect that one and run it again.

        At most ``retries`` losses in a row without progress (``progress()``: bytes of this file moved so
        far, for runs that resume; without it every loss counts), and ``_MAX_ATTEMPTS_PER_RETRY`` times
        ``retries`` attempts in all; beyond that :class:`IrodsSftpConnectionError` names ``path``. Every
        drop hits every file in flight on that connection, so a large resumed file may see many while it
        advances. Other errors pass. ``run`` must be safe to repeat: the staging operators resume a file
        from its verified prefix.
        """
        attempt = stalled = 0
        moved = progress() if progress is not None else 0
        while True:
            attempt += 1
            outer = getattr(self._used, "links", None)
            used: dict[int, int] = {}
            self._used.links = used
            try:
                return run()
            except Exception as exc:
                lost = self.lost_connections(exc, used)
                if lost is None:
                    typed = sftp_error(exc, path=path, doing="the SFTP server failed a request while copying")
                    if typed is exc:
                        raise
                    raise typed from exc
                now = progress() if progress is not None else moved
                stalled, moved = (1, now) if now > moved else (stalled + 1, moved)
                if stalled > retries or attempt > retries * _MAX_ATTEMPTS_PER_RETRY:
                    raise IrodsSftpConnectionError(
                        f"the SSH connection was lost {attempt} times while copying ({stalled} in a row "
                        f"without progress); giving up ({type(exc).__name__}: {exc})",
                        path=path,
                        attempts=attempt,
                    ) from exc
                if log is not None:
                    log.warning(
                        "SSH %s lost while copying %s (%s: %s); %s",
                        "connection" if lost else "channel",
                        path,
                        type(exc).__name__,
                        exc,
                        "reconnecting" if lost else "retrying on a new channel",
                    )
                for index, generation in lost:
                    self.reconnect(generation, index)
            finally:
                self._used.links = outer

    def this_run(self) -> Callable[[], contextlib.AbstractContextManager[None]]:
        """A context to enter on another thread: the connections used inside it count as used by the
        calling thread's :meth:`retrying` run (so a drop of one of them is reconnected, not another)."""
        used = getattr(self._used, "links", None)

        @contextlib.contextmanager
        def bound() -> Iterator[None]:
            outer = getattr(self._used, "links", None)
            self._used.links = used
            try:
                yield
            finally:
                self._used.links = outer

        return bound

    # -- channels --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def channel(self) -> Iterator[paramiko.SFTPClient]:
        """Borrow an SFTP channel for one worker: an idle one, else a new one where a connection has room
        (:attr:`channels_per_connection`, the least busy connection first), else wait until a channel comes
        back. A thread that holds one already never waits (its nested borrow could wait for itself)."""
        self._ready()
        held = getattr(self._holding, "count", 0)
        link, generation, client = self._borrow(wait=held == 0)
        self._holding.count = held + 1
        try:
            yield client
        finally:
            self._holding.count = held
            with self._lock:
                link.borrowed -= 1
                if generation == link.generation and not _sftp_closed(client):
                    link.pool.put((generation, client))
                self._channel_back.notify_all()

    def _borrow(self, *, wait: bool) -> tuple[_Link, int, paramiko.SFTPClient]:
        """A connection, its generation and a channel on it, counted as borrowed (see :meth:`channel`)."""
        while True:
            with self._lock:
                picked = self._pick(wait=wait)
                if picked is None:
                    self._channel_back.wait(_POLL_UP)
                    continue
                link, client = picked
                link.borrowed += 1
                generation = link.generation
                link.opening += client is None
            if client is None:
                try:
                    client = self._open_on(link, 1)[0]
                except Exception as exc:
                    with self._lock:
                        link.opening -= 1
                        link.borrowed -= 1
                        refused = wait and len(link.clients) > 0 and _refused_on_live(exc, link.transport)
                        if refused:  # a lower MaxSessions than ours: this many, on this connection
                            link.budget = len(link.clients)
                    if not refused:
                        raise
                    _log.info(
                        "The SFTP server refused a session past %d on SSH connection #%d (%s); fewer there",
                        link.budget,
                        link.index,
                        exc,
                    )
                    continue
                with self._lock:
                    link.opening -= 1
                    if link.budget is not None:  # sessions that raced the refusal were granted after all
                        link.budget = max(link.budget, len(link.clients))
            self._note(link, generation)
            return link, generation, client

    def _pick(self, *, wait: bool) -> tuple[_Link, paramiko.SFTPClient | None] | None:
        """With the lock held: the least busy connection with an idle channel (given) or room for a new one
        (None: open it); without ``wait`` the least busy one in any case; None when every one is full."""
        order = sorted(self._links, key=lambda link: (link.transport is None, link.borrowed, link.index))
        if order[0].transport is None:  # none is up (being replaced, or never opened): it raises, retried
            return order[0], None
        for link in order:
            if link.transport is None:  # still opening (a widen) or being replaced: wait for it
                break
            idle = self._pooled(link)
            if idle is not None:
                return link, idle
            if link.room(self.channels_per_connection):
                return link, None
        return (order[0], None) if not wait else None

    def _pooled(self, link: _Link) -> paramiko.SFTPClient | None:
        """With the lock held: an idle channel of ``link``'s current generation (closed ones forgotten)."""
        while True:
            try:
                owner, pooled = link.pool.get_nowait()
            except queue.Empty:
                return None
            if owner == link.generation and not _sftp_closed(pooled):
                return pooled
            if owner == link.generation:
                link.clients = [c for c in link.clients if c is not pooled]
                self._owner.pop(id(pooled), None)

    def open_channels(self, count: int) -> list[paramiko.SFTPClient]:
        """``count`` more SFTP channels spread over the connections, least busy first (so parallel range
        readers and writers run over several TCP connections); give them back with :meth:`release`.

        A connection's idle pooled channel (a fresh connection's own client) is lent as it is, with no
        round trip; the others are opened at once (each costs a few round trips: channel, subsystem,
        version), after any connection :meth:`widen` is still opening in the background is up.
        """
        self._ready()
        self.wait_widened()
        with self._lock:
            live = [link for link in self._links if link.transport is not None] or list(self._links)
        links: list[_Link] = []
        for _ in range(count):
            with self._lock:
                # Each connection once before any twice; a connection being replaced only if none is up.
                fresh = [link for link in live if link not in links] or live
                link = min(fresh, key=lambda link: (link.transport is None, link.borrowed, link.index))
                link.borrowed += 1
            self._note(link, link.generation)  # in the caller's thread: retrying() must know it was used
            links.append(link)
        opened = self._idle_or_new(links)
        clients = [c for c in opened if not isinstance(c, BaseException)]
        with self._lock:
            for link, client in zip(links, opened, strict=True):
                if isinstance(client, BaseException):
                    link.borrowed -= 1
                else:
                    self._lent[id(client)] = link
        failure = next((c for c in opened if isinstance(c, BaseException)), None)
        if failure is not None:
            self.release(clients)
            raise failure
        return clients

    def channels_as_up(self, count: int) -> Iterator[paramiko.SFTPClient]:
        """:meth:`open_channels` one channel at a time, each as soon as it can be had: while
        :meth:`widen_in_background` still opens connections, each new one lends its idle channel the moment
        it is up (not once all are), and one already up that nobody uses lends its channel at once; the rest
        come from :meth:`open_channels` after that. Give each back with :meth:`release`."""
        self._ready()
        with self._lock:
            widening = self._widening
            # Connections still opening, and those up with nothing borrowed: a connection that came up before
            # this call is lent now, not once the slowest of the others is up.
            waiting = {link.index for link in self._links if link.transport is None or not link.borrowed}
            waiting |= set(range(len(self._links), self._wanted))  # not even created by the widen yet
        given = 0
        while given < count and waiting and widening is not None and widening.is_alive():
            with self._lock:
                seen = self._ups
            client = self._lend_fresh(waiting)
            if client is None:
                with self._link_up:
                    if self._ups == seen:  # none came up since the look: wait for the next one
                        self._link_up.wait(_POLL_UP)
                continue
            given += 1
            yield client
        if given < count:
            yield from self.open_channels(count - given)

    def _lend_fresh(self, waiting: set[int]) -> paramiko.SFTPClient | None:
        """The idle channel of a connection in ``waiting`` that is up now (dropped from ``waiting``), lent
        as :meth:`open_channels` lends; None when none is."""
        for index in sorted(waiting):
            link = self._links[index] if index < len(self._links) else None
            if link is None or link.transport is None:
                continue
            client = self._take_idle(link)
            if client is None:
                continue
            waiting.discard(index)
            with self._lock:
                link.borrowed += 1
                self._lent[id(client)] = link
            self._note(link, link.generation)
            return client
        return None

    def _idle_or_new(self, links: list[_Link]) -> list[paramiko.SFTPClient | BaseException]:
        """One channel on each of ``links``: its idle pooled one, else a new one (those opened at once)."""
        opened: list[paramiko.SFTPClient | BaseException | None] = [self._take_idle(link) for link in links]
        missing = [i for i, client in enumerate(opened) if client is None]
        if len(missing) == 1:
            opened[missing[0]] = _outcome(self._open_on, links[missing[0]], 1)
        elif missing:
            with ThreadPoolExecutor(len(missing), thread_name_prefix="sftp-channel") as pool:
                new = pool.map(lambda i: _outcome(self._open_on, links[i], 1), missing)
                for i, client in zip(missing, new, strict=True):
                    opened[i] = client
        return [client for client in opened if client is not None]

    def _take_idle(self, link: _Link) -> paramiko.SFTPClient | None:
        """An idle channel from ``link``'s pool (stale ones dropped), lent until :meth:`release`; or None."""
        generation = link.generation
        while True:
            try:
                owner, pooled = link.pool.get_nowait()
            except queue.Empty:
                return None
            if owner == generation and not _sftp_closed(pooled):
                with self._lock:
                    self._lent_idle[id(pooled)] = owner
                return pooled

    def open_spare_channel(self) -> None:
        """Open one more channel on the first connection into its pool (in the caller's thread; a failure
        is only logged): the range reader there then finds it idle instead of opening it on its path."""
        try:
            self._ready()
            link = self._links[0]
            generation = link.generation
            client = self._open_on(link, 1)[0]
        except Exception as exc:
            _log.debug("No spare SFTP channel: %s", exc)
            return
        link.pool.put((generation, client))

    def link_of(self, client: paramiko.SFTPClient) -> int | None:
        """The index of the connection ``client`` is a channel of (None once that connection was dropped)."""
        link = self._owner.get(id(client))
        return None if link is None else link.index

    def _open_on(self, link: _Link, count: int) -> list[paramiko.SFTPClient]:
        """Open ``count`` SFTP channels on ``link``; they are closed with it."""
        transport, generation = link.transport, link.generation
        if transport is None:
            self._not_connected(link)
        self._note(link, generation)
        clients = open_sftp_channels(transport, count)
        for client in clients:
            channel = client.get_channel()
            if channel is not None:
                channel.settimeout(self.io_timeout)
        with self._lock:
            link.clients.extend(clients)
            for client in clients:
                self._owner[id(client)] = link
        return clients

    def release(self, clients: list[paramiko.SFTPClient]) -> None:
        """Give back channels from :meth:`open_channels`: those it opened are closed, lent idle ones go
        back to their connection's pool (while that connection lives)."""
        with self._lock:
            idle = {id(c): self._lent_idle.pop(id(c)) for c in clients if id(c) in self._lent_idle}
        for client in clients:
            if id(client) not in idle:
                with contextlib.suppress(Exception):
                    client.close()
        with self._lock:
            for client in clients:
                link = self._lent.pop(id(client), None)
                if link is not None:
                    link.borrowed -= 1
                generation = idle.get(id(client))
                if generation is None:
                    self._owner.pop(id(client), None)
                    if link is not None:
                        link.clients = [c for c in link.clients if c is not client]
                elif link is not None and generation == link.generation and not _sftp_closed(client):
                    link.pool.put((generation, client))
            self._channel_back.notify_all()

    # -- paths -----------------------------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """An absolute SFTP path (relative paths start at the login directory)."""
        if "\x00" in path:
            raise IrodsInvalidPathError(f"SFTP path {path!r} holds a NUL byte")
        if path.startswith("/"):  # the login directory (a round trip, once) only for relative paths
            return posixpath.normpath(path)
        return posixpath.normpath(posixpath.join(self.home, path))

    def shell_path(self, path: str) -> str:
        """The same file as a shell on the server names it: relative to the login directory when inside it.

        Relative paths mean the same file for SFTP and commands even on chrooted servers.
        """
        home = self.home.rstrip("/") + "/"
        if path.startswith(home):
            return path[len(home) :]
        return path

    def stat(self, client: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
        """``stat`` (following links), or None when nothing is there."""
        try:
            return client.stat(path)
        except FileNotFoundError:
            return None

    def knows_directory(self, path: str) -> bool:
        """Whether ``path`` is ``/`` or a directory :meth:`makedirs` (or :meth:`note_directory`) settled."""
        return path in ("/", "") or path in self._directories

    def note_directory(self, path: str) -> None:
        """Record ``path`` as a directory settled for the task (found or created): not asked again."""
        self._directories.add(path)

    def makedirs(self, client: paramiko.SFTPClient, path: str, *, mode: int | None = None) -> None:
        """Create ``path`` and its missing parents (an existing directory is fine).

        A directory this endpoint created or found is not asked again (the task's files share their
        directories; where a file lands is still checked per file with ``normalize`` and ``lstat``). A
        missing directory is created with one ``mkdir`` when its parent exists; parents only on failure.
        Those it creates get ``mode`` (:func:`~._modes.settle_directory_mode`; None: the server's default).
        """
        if path in ("/", "") or path in self._directories:
            return
        attrs = self.stat(client, path)
        if attrs is None:
            self._mkdir(client, path, mode)
        elif stat.S_ISDIR(attrs.st_mode or 0):
            self._directories.add(path)
        else:
            raise IrodsNotADirectoryError(
                f"SFTP target directory {path!r} exists and is not a directory", path=path
            )

    def _mkdir(self, client: paramiko.SFTPClient, directory: str, mode: int | None = None) -> None:
        """``mkdir`` the missing ``directory``; when that fails, its missing parents first, then again."""
        made = False
        try:
            client.mkdir(directory, 0o777 if mode is None else mode)
            made = True
        except OSError as exc:
            attrs = self.stat(client, directory)  # created meanwhile by another worker?
            if attrs is None:  # its parent is missing (or was, until another worker created it)
                parent = posixpath.dirname(directory)
                parent_attrs = self.stat(client, parent) if parent not in ("/", "", directory) else None
                if parent_attrs is None and parent not in ("/", "", directory):
                    self._mkdir(client, parent, mode)
                elif parent_attrs is not None and not stat.S_ISDIR(parent_attrs.st_mode or 0):
                    raise IrodsNotADirectoryError(
                        f"could not create SFTP directory {directory!r}: {parent!r} is not a directory",
                        path=parent,
                    ) from None
                with contextlib.suppress(OSError):
                    client.mkdir(directory, 0o777 if mode is None else mode)
                    made = True
                attrs = self.stat(client, directory)
            if attrs is None:  # refused (permissions, a full disk) or removed at once: what the server said
                doing = f"could not create SFTP directory {directory!r}"
                typed = sftp_error(exc, path=directory, doing=doing)
                if typed is exc:
                    typed = IrodsInvalidPathError(f"{doing}: {exc}", path=directory)
                raise typed from exc
            if not stat.S_ISDIR(attrs.st_mode or 0):
                raise IrodsNotADirectoryError(
                    f"could not create SFTP directory {directory!r}: it exists and is not a directory",
                    path=directory,
                ) from None
        if made and mode is not None:
            settle_directory_mode(client, directory, mode)
        self._directories.add(directory)

    # -- commands --------------------------------------------------------------------------------------

    def run(
        self, command: str, *, timeout: float = _EXEC_TIMEOUT, max_output: int = MAX_COMMAND_OUTPUT
    ) -> tuple[int, bytes, bytes] | None:
        """Run ``command`` over an exec channel; None when the server refuses command execution.

        Output beyond ``max_output`` bytes (stdout or stderr) is an IrodsProtocolError naming the command.
        """
        if self.commands_allowed is False:
            return None
        try:
            channel = self.transport.open_session(timeout=30)
        except paramiko.SSHException:
            if not self.transport.is_active():
                raise  # a lost connection, not a server refusing commands
            self.commands_allowed = False
            return None
        with channel:
            channel.settimeout(timeout)
            try:
                # stdin from /dev/null instead of shutdown_write(): a separate EOF can be sent after the
                # CLOSE paramiko's transport thread sends when the command already finished, which
                # asyncssh answers by dropping the whole connection ("Channel not open for sending").
                channel.exec_command(f"{command} </dev/null")
            except paramiko.SSHException:
                self.commands_allowed = False
                return None
            stdout = _read_bounded(channel.makefile("rb"), max_output, command)
            stderr = _read_bounded(channel.makefile_stderr("rb"), max_output, command)
            status = channel.recv_exit_status()
        self.commands_allowed = True
        return status, stdout, stderr

    def sha256sum(self, path: str) -> str | None:
        """The hex SHA-256 of ``path`` computed on the server (``sha256sum``), or None when unavailable."""
        return self._digest("sha256sum", path, 64)

    def md5sum(self, path: str) -> str | None:
        """The hex MD5 of ``path`` computed on the server (``md5sum``, for MD5 zones), or None."""
        return self._digest("md5sum", path, 32)

    def hexdigest(self, tool: str, path: str, width: int) -> str | None:
        """The hex digest of ``path`` by the coreutils ``tool`` on the server (``sha512sum``, ``sha1sum``...),
        ``width`` hex digits long, or None when the server runs no commands or the tool fails."""
        return self._digest(tool, path, width)

    def _digest(self, tool: str, path: str, width: int) -> str | None:
        result = self.run(f"{tool} -- {shlex.quote(self.shell_path(path))}")
        if result is None:
            return None
        status, out, _ = result
        digest = out.split(b" ", 1)[0].decode("ascii", "replace").strip().lstrip("\\")
        if status != 0 or len(digest) != width:
            return None
        return digest


def _read_bounded(stream: paramiko.ChannelFile, limit: int, command: str) -> bytes:
    """Read a command's output stream to its end, refusing more than ``limit`` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        name = command.split(" ", 1)[0]
        raise IrodsProtocolError(f"output of the remote command {name!r} exceeds {limit} bytes; refused")
    return bytes(data)


def _connect_error(exc: BaseException) -> BaseException:
    """What a failed :meth:`SftpEndpoint.open` raises to its caller: typed when it is a raw connection
    error, else ``exc`` itself (a configuration problem, an iRODS error)."""
    if isinstance(exc, IrodsError) or not is_raw_connection_error(exc):
        return exc
    return IrodsSftpConnectionError(f"could not connect to the SFTP server: {type(exc).__name__}: {exc}")


def _outcome_of(run: Callable[[_Link], None], link: _Link) -> BaseException | None:
    """What ``run(link)`` raised, or None."""
    try:
        run(link)
    except BaseException as exc:
        return exc
    return None


def _outcome(
    open_on: Callable[[_Link, int], list[paramiko.SFTPClient]], link: _Link, count: int
) -> paramiko.SFTPClient | BaseException:
    """The one channel ``open_on`` opens on ``link``, or what it raised (so no failure is lost)."""
    try:
        return open_on(link, count)[0]
    except BaseException as exc:
        return exc


def _active(transport: paramiko.Transport | None) -> bool:
    return transport is not None and transport.is_active()


def _refused_session(exc: BaseException) -> bool:
    """Whether the server refused to open a session channel (OpenSSH past ``MaxSessions``): the connection
    itself is fine."""
    return isinstance(exc, paramiko.ChannelException) and exc.code in _SESSION_REFUSALS


def _refused_on_live(exc: BaseException, transport: paramiko.Transport | None) -> bool:
    """Whether opening a channel failed by the server's refusal while the connection lives. paramiko keeps
    one failure per transport, so of several opens refused at once only one sees the ChannelException; the
    others get a bare "Unable to open channel." while the transport is still active."""
    return _refused_session(exc) or (type(exc) is paramiko.SSHException and _active(transport))


def _sftp_closed(client: paramiko.SFTPClient | None) -> bool:
    """Whether ``client``'s SSH channel is closed (or it has none): it can carry no more requests."""
    channel = None if client is None else client.get_channel()
    return channel is None or bool(channel.closed)


def _in_chain(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` or an exception it was raised from (or during) is one of ``types``."""
    return _chain_has(exc, lambda current: isinstance(current, types))


def _chain_has(exc: BaseException, test: Callable[[BaseException], bool]) -> bool:
    """Whether ``test`` holds for ``exc`` or an exception it was raised from (or during)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if test(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def close_quietly(closeable: Any) -> None:
    """``closeable.close()``, ignoring a lost connection (nothing is left to close on a dead channel)."""
    try:
        closeable.close()
    except Exception as exc:
        if not is_raw_connection_error(exc):
            raise
