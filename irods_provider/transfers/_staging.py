"""What both SFTP ↔ iRODS staging operators share: arguments, policies, cancellation and the file runner."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import posixpath
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

from irods_provider._lineage import LineageDataset, irods_dataset, sftp_dataset
from irods_provider.client.transfer import (
    FileResult,
    LoggingProgressSubscriber,
    OverwritePolicy,
    SkipPolicy,
    TransferReport,
)
from irods_provider.client.transfer._config import DEFAULT_READ_STREAMS, TransferConfig
from irods_provider.client.transfer._copy import alongside
from irods_provider.client.transfer._dirs import directory_results, leaf_directories, not_a_collection
from irods_provider.client.transfer._leftout import leaving_out, left_out_hint, report_left_out
from irods_provider.client.transfer._plan import (
    Destination,
    LeftOut,
    Node,
    Plan,
    PlannedDirectory,
    PlannedFile,
    Tree,
    Unlisted,
    check_unique,
    plan_copies,
)
from irods_provider.client.transfer._runner import (
    INITIAL_SMALL_FILES,
    SMALL_LANE_BYTES,
    Lanes,
    plan_lanes,
    run_files,
)
from irods_provider.client.transfer._unlisted import report_temporary_like, unlistable, with_unlisted
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsConnectionError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
    IrodsResponseError,
    IrodsTimeoutError,
    IrodsUsageError,
)
from irods_provider.operators._transfer_base import TransferOperatorBase
from irods_provider.sftp._checksum import hash_sftp_file, sftp_file_has_checksum
from irods_provider.sftp._destination import sftp_is_directory
from irods_provider.sftp._endpoint import CHANNELS_PER_CONNECTION, IO_TIMEOUT
from irods_provider.sftp._home import expand_home, needs_expand_path
from irods_provider.sftp._modes import parse_mode
from irods_provider.sftp._sink import create_sftp_directories, target_root
from irods_provider.sftp._status import is_raw_connection_error
from irods_provider.sftp._tree import SftpTree
from irods_provider.transfers._move import (
    check_removed,
    movable,
    move_skip,
    prune_emptied,
    removal_failure,
    unlisted_directories,
)
from irods_provider.transfers._selection import refuse_unstorable, safe_relative

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession
    from irods_provider.sftp._endpoint import SftpEndpoint
    from irods_provider.sftp._ranged import SftpRangedSource

__all__ = [
    "AutoCount",
    "PlannedCopy",
    "SftpPublishingOperator",
    "SftpStagingOperator",
    "auto_connections",
    "create_collections",
    "hash_sftp_file",
    "irods_requests_in_flight",
    "place_plan",
    "plan_sources",
    "run_plan",
    "sftp_file_has_checksum",
]


#: One file of a staging plan: the one planner's :class:`~irods_provider.client.transfer._plan.PlannedFile`
#: (absolute source and destination, size and mtime when known, the tree or glob base it came from).
PlannedCopy = PlannedFile


T = TypeVar("T")


def plan_sources(tree: Tree, sources: Sequence[str], raw_destination: str, **options: Any) -> Plan:
    """The one planner over ``tree`` with the destination left open: each file's destination is its path
    relative to the source (a single file named alone: ``""``), so the plan (and the sizes that choose the
    SSH connections) needs nothing of the destination side; :func:`place_plan` settles it afterwards."""
    return plan_copies(
        tree,
        sources,
        Destination.of(raw_destination, ""),
        place=lambda relative: relative,
        is_directory=lambda _path: False,  # asked by place_plan, for a single file only
        **options,
    )


def place_plan(
    plan: Plan, target: str, place: Callable[[str], str], is_directory: Callable[[str], bool]
) -> tuple[list[PlannedCopy], bool]:
    """The files of a :func:`plan_sources` plan at their destinations below ``target`` (``place`` of each
    relative path); a single file named alone goes to ``target`` itself unless that is an existing
    directory or collection (asked once), and whether it does."""
    if plan.single:
        (only,) = plan.files
        if not is_directory(target):
            return [dataclasses.replace(only, destination=target)], True
        return [dataclasses.replace(only, destination=place(posixpath.basename(only.source)))], False
    return [dataclasses.replace(p, destination=place(p.destination)) for p in plan.files], False


def place_upload(
    session: IrodsSession,
    found: Plan,
    destination: str,
    *,
    check: Callable[[list[PlannedCopy | PlannedDirectory]], None],
    is_collection: Callable[[str], bool] | None = None,
) -> tuple[list[PlannedCopy], list[PlannedDirectory]]:
    """:func:`place_plan` under the iRODS ``destination``, ``check`` ed (with the tree's directories), and
    the collections it writes into created, a tree's empty ones included; the files and the directories.
    One file named alone: whether its parent exists is asked alongside whether the target is a collection
    (one round trip), so an existing parent is neither created nor asked again.
    ``is_collection``: where those two are asked (default ``session.collections.exists``)."""
    parent = posixpath.dirname(destination)
    exists = is_collection or session.collections.exists

    def into(relative: str) -> str:
        return f"{destination}/{safe_relative(relative, backslash=True)}"  # ordinary in iRODS names

    def placed() -> tuple[list[PlannedCopy], bool]:
        return place_plan(found, destination, into, exists)

    if found.single and parent not in ("/", ""):
        there, (plan, itself) = alongside(lambda: exists(parent), placed, name="irods-parent")
    else:
        there, (plan, itself) = False, placed()
    directories = [dataclasses.replace(d, destination=into(d.destination)) for d in found.directories]
    check([*directories, *plan])
    existing = (parent if there else None) if itself else destination if found.single else None
    tree = [d.destination for d in directories]
    create_collections(session, plan, existing=existing, is_collection=exists, directories=tree)
    return plan, directories


def create_collections(
    session: IrodsSession,
    plan: Sequence[PlannedCopy],
    *,
    existing: str | None,
    is_collection: Callable[[str], bool] | None = None,
    directories: Sequence[str] = (),
) -> None:
    """Create the collections ``plan`` writes into and a tree's ``directories`` (``existing`` is known to be
    one already): only the deepest, with intermediates, so one request per branch instead of one per level,
    each in one round trip (:func:`_ensure_collection`; ``is_collection`` asks there, default
    ``session.collections.exists``), up to 8 at once. A data object where one of ``directories`` goes is
    IrodsNotACollectionError naming it."""
    wanted = {posixpath.dirname(p.destination) for p in plan} | set(directories)
    leaves = leaf_directories(wanted, existing=() if existing is None else (existing,))
    if not leaves:
        return
    tree = set(directories)
    with ThreadPoolExecutor(min(8, 2 * len(leaves)), thread_name_prefix="irods-collections") as pool:
        exists = is_collection or session.collections.exists
        for done in [_ensure_collection(session, leaf, pool, exists, leaf in tree) for leaf in leaves]:
            done()


def _ensure_collection(
    session: IrodsSession,
    collection: str,
    pool: ThreadPoolExecutor,
    exists: Callable[[str], bool],
    of_tree: bool = False,
) -> Callable[[], None]:
    """Start creating ``collection`` (with intermediates) and, alongside, asking whether it is one: the
    create answers ``created: false`` for anything already in place, a data object too, so alone it costs
    a second round trip on the common path (the collection exists). Returns the call that waits for both
    and raises what ``create(..., exist_ok=True)`` would (``of_tree``: a data object in the way of a tree's
    directory is IrodsNotACollectionError)."""
    found = pool.submit(exists, collection)
    creating = pool.submit(session.collections.create, collection, intermediates=True)

    def done() -> None:
        try:
            creating.result()  # created now
        except IrodsAlreadyExistsError:
            if not found.result():  # a data object in the way (or a race): the client's own check says
                _create_again(session, collection, of_tree)
        except (IrodsResponseError, IrodsTimeoutError, IrodsConnectionError):
            # Busy, or unclear whether it was created (a plain create is not resent): asked again the
            # idempotent way, which the session retries; who created it does not matter here.
            session.collections.create(collection, intermediates=True, exist_ok=True)

    return done


def _create_again(session: IrodsSession, collection: str, of_tree: bool) -> None:
    """``create(..., exist_ok=True)``: a data object there raises, typed for a tree's directory."""
    try:
        session.collections.create(collection, intermediates=True, exist_ok=True)
    except IrodsAlreadyExistsError as exc:
        if of_tree:
            raise not_a_collection(collection, "sftp_to_irods", exc) from exc
        raise


def run_plan(
    plan: Sequence[PlannedCopy],
    one: Callable[[PlannedCopy], FileResult],
    *,
    lanes: Lanes,
    cancel: threading.Event,
    continue_on_error: bool,
) -> TransferReport:
    """Run ``one`` per file within ``lanes`` (see :func:`staging_lanes`) through the engine's one runner: the
    first error lets the running files finish and starts no more (every file runs with
    ``continue_on_error``); a cancel stops the rest.

    Raises the first error after every running file has stopped; the report rides on it as ``error.report``
    (on every exception that takes attributes).
    """
    return run_files(
        plan,
        lambda item, _cancel: one(item),
        lanes=lanes,
        on_error="continue" if continue_on_error else "drain",
        cancel_event=cancel,
        raise_failures=True,
        what="staging",
    )


#: Planned bytes per SSH connection when ``sftp_connections`` is chosen automatically.
AUTO_BYTES_PER_CONNECTION = 32 * 1024 * 1024
#: From this many small files a plan's automatic SSH connections carry channels for twice the small-file
#: lane's first width, so the adaptive lane can grow (over the WAN model 500 files of 4 KiB: 2 connections
#: 37 / 54 files/s down / up, 4 connections 46 / 84).
SMALL_FILES_TO_GROW = 64
#: Automatic SSH connections never exceed this (sshd starts dropping unauthenticated connections beyond
#: ``MaxStartups``, 10 by default, and a login node serves many tasks).
AUTO_MAX_CONNECTIONS = 8


def irods_requests_in_flight(config: TransferConfig, *, upload: bool) -> int:
    """Requests the iRODS side of one file keeps in flight with ``config``: an upload's parallel-write
    streams times the requests per stream, a download's ranged reads (before the server's caps, which only
    lower them)."""
    if upload:
        return config.stream_count * config.write_requests_per_stream
    return DEFAULT_READ_STREAMS if config.streams is None else config.streams


def auto_connections(
    sizes: Iterable[int],
    *,
    irods_connections: int = DEFAULT_READ_STREAMS,
    large_files: int = TransferConfig.max_concurrent_files,
) -> int:
    """SSH connections for a plan of files of ``sizes`` bytes: one per 32 MiB in all, at most as many as
    the iRODS side keeps requests in flight (``irods_connections``, each its own TCP connection) and 8;
    and enough channels for the files that start at once (:func:`staging_lanes`).

    Below 64 MiB one connection: a second SSH handshake (several round trips and a key exchange) costs
    more than it saves on small totals. Above, the SFTP side gets up to as many TCP windows as the iRODS
    side fills: an upload's parallel-write streams times the requests each keeps in flight (3 x 2 by
    default), a download's ranged reads (6 by default). Over a long fat link the window caps each
    connection, so fewer would starve the other leg.

    Many small files: they wait on round trips, not bytes, so they run many at once (the small-file lane,
    16 at first), each on a channel of its own, and a connection carries at most
    :data:`~irods_provider.sftp._endpoint.CHANNELS_PER_CONNECTION` (OpenSSH's ``MaxSessions`` is 10):
    beside ``large_files`` (the large lane's width), channels for 16 small files, for 32 from
    :data:`SMALL_FILES_TO_GROW` on (room for the adaptive lane to grow). 20 small files open 2 connections,
    100 open 4.
    """
    count = AutoCount(irods_connections=irods_connections, large_files=large_files)
    for size in sizes:
        count.add(size)
    return count.connections


@dataclasses.dataclass
class AutoCount:
    """:func:`auto_connections` of the files added so far, kept as they come (a planner's files as it finds
    them). Adding a file never lowers it, so a partial count is never more than the whole plan's."""

    irods_connections: int = DEFAULT_READ_STREAMS
    large_files: int = TransferConfig.max_concurrent_files
    total: int = 0
    files: int = 0
    small: int = 0

    def add(self, size: int) -> int:
        """Count a file of ``size`` bytes; the connections for the files so far."""
        self.total += size
        self.files += 1
        self.small += size <= SMALL_LANE_BYTES
        return self.connections

    @property
    def connections(self) -> int:
        cap = max(1, min(AUTO_MAX_CONNECTIONS, self.irods_connections))
        by_bytes = max(1, min(cap, self.total // AUTO_BYTES_PER_CONNECTION))
        lane = INITIAL_SMALL_FILES * (2 if self.small >= SMALL_FILES_TO_GROW else 1)
        at_once = min(self.large_files, self.files - self.small) + min(lane, self.small)
        by_files = min(AUTO_MAX_CONNECTIONS, at_once // CHANNELS_PER_CONNECTION)
        return max(by_bytes, by_files)


def staging_lanes(plan: Sequence[PlannedCopy], config: TransferConfig, sftp: SftpEndpoint) -> Lanes:
    """The runner's lanes for a staging plan (:func:`~irods_provider.client.transfer._runner.plan_lanes`):
    ``max_concurrent_files`` large files beside a wider, adaptive lane of small ones, as many as the SSH
    connections carry channels (each file borrows one) beside the large files and their range readers."""
    sizes = [p.size for p in plan]
    small = sum(1 for size in sizes if size is not None and size <= SMALL_LANE_BYTES)
    large = min(config.max_concurrent_files, len(sizes) - small)
    # A large file's range readers or writers take a channel on every other connection too.
    capacity = sftp.connections * sftp.channels_per_connection - large * (sftp.connections - 1)
    return plan_lanes(sizes, config, capacity=max(1, capacity))


class _PerFileTally:
    """Bytes moved per path (progress events), thread-safe."""

    def __init__(self) -> None:
        self._bytes: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, path: str, amount: int) -> None:
        with self._lock:
            self._bytes[path] = self._bytes.get(path, 0) + amount

    def get(self, path: str) -> int:
        with self._lock:
            return self._bytes.get(path, 0)


class _TalliedProgress(LoggingProgressSubscriber):
    """The task's progress logger, also tallying each file's bytes."""

    def __init__(self, logger: logging.Logger, *, tally: _PerFileTally, **kwargs: Any) -> None:
        super().__init__(logger, **kwargs)
        self._tally = tally

    def on_progress(self, *, path: str, bytes_transferred: int, **kwargs: Any) -> None:
        self._tally.add(path, bytes_transferred)
        super().on_progress(path=path, bytes_transferred=bytes_transferred, **kwargs)


class SftpStagingOperator(TransferOperatorBase):
    """Arguments and machinery common to :class:`SFTPToIrodsOperator` and :class:`IrodsToSFTPOperator`.

    Lineage: each run reports the files it copied (or found already identical and skipped), SFTP files as
    namespace ``file://<host>:<port>`` and iRODS objects as namespace ``irods://<zone>``, both to OpenLineage
    (``get_openlineage_facets_on_complete``) and to Airflow's hook lineage collector. To schedule downstream
    DAGs on the result, declare the outputs on the task, e.g. ``outlets=[Asset("irods://<zone>/<path>")]``:
    Airflow records asset events only for declared outlets. For destinations known only at run time, declare
    ``outlets=[AssetAlias("name")]``: each run adds an event per written file's asset to the alias.

    The arguments of :class:`~irods_provider.operators._transfer_base.TransferOperatorBase` (each file
    copied at once has its own SFTP channel), and:

    :param sftp_conn_id: an Airflow SFTP (or SSH) connection.
    :param move: delete each source after its copy is verified, unless it changed since (then it is kept,
        with a warning); a tree's directories or collections (empty ones too) and those the moved files
        emptied below a glob's base are removed unless they still hold something not moved (the source
        root itself stays). See :mod:`._move`. A data object left out (being written by another client,
        or without a good replica) is never removed: it was not copied.
        With ``move``, a destination that already holds the source's bytes (checksum compared: an earlier
        try's copy) is skipped, not refused or copied again, and its source removed.
    :param fail_on_source_removal_error: with ``move``, fail the task (``IrodsSourceRemovalError`` naming
        the sources and why) when sources of verified copies could not be removed (permission denied, a
        read-only directory or collection); the report lists those files as transferred (or skipped on a
        retry) with their ``source_error``. False: succeed with a warning (the report says the same).
    :param trash: with ``move``, send removed iRODS sources (and emptied collections) to the trash;
        default False removes them with ``no_trash`` so quota is freed.
    :param resume: continue interrupted copies from their committed bytes.
    :param ssh_compression: SSH-level zlib compression (Airflow's SSHHook default is on; measured ~30 MB/s
        vs ~50-80 MB/s without on loopback for incompressible data); None keeps the connection's setting.
    :param sftp_retries: how many times in a row one file is tried again after its SSH connection dropped
        (or stalled past ``sftp_io_timeout``) without having advanced (with ``resume``; without it every
        drop counts; ten times as many attempts in all at most): the endpoint reconnects through the hook
        (bounded attempts, backoff from ``sftp_retry_backoff`` seconds, doubling) and the file resumes from
        its verified prefix (``resume=True``) or starts over. Beyond that the file fails with
        ``IrodsSftpConnectionError`` naming it; the other files go on as ``continue_on_error`` says. Raw
        paramiko and socket errors never leave the operator.
    :param sftp_retry_backoff: seconds before the first reconnect attempt (doubling after each).
    :param sftp_io_timeout: seconds an SFTP request may wait for its answer before the connection counts as
        stalled.
    :param sftp_connections: SSH connections (each its own TCP connection) opened through the hook; file
        workers take the least busy one, and one file's range readers (upload) or range writers (download)
        are spread over them, so a WAN path's per-connection TCP window no longer caps the task. Each
        connection is reconnected on its own when it drops. Default None chooses from the planned bytes
        (:func:`auto_connections`): 1 below 64 MiB in all, then one per 32 MiB, at most as many as the
        iRODS side keeps requests in flight (uploads: 3 streams x 2 requests, downloads: 6 ranged reads, by
        default) and at most 8.
    """

    template_fields: Sequence[str] = (
        "source_path",
        "destination_path",
        "sftp_conn_id",
        "manifest_path",
        "irods_conn_id",
    )
    ui_color = "#3d8f6f"
    direction = "staging"
    #: The files the plan left out (no good replica), at their destinations: reported as skipped.
    left_out: Sequence[LeftOut] = ()
    left_out_session: IrodsSession | None = None
    #: A tree's directories at their destinations (empty ones included), and the SFTP target they go below.
    directories: Sequence[PlannedDirectory] = ()
    directory_target: str | None = None
    #: An upload tree's directories that could not be listed (FAILED) and files named like a temporary
    #: (SKIPPED), at their destinations.
    unlisted: Sequence[Unlisted] = ()
    temporary_like: Sequence[PlannedCopy] = ()

    def __init__(
        self,
        *,
        sftp_conn_id: str = "sftp_default",
        move: bool = False,
        trash: bool = False,
        fail_on_source_removal_error: bool = True,
        resume: bool = True,
        ssh_compression: bool | None = False,
        sftp_retries: int = 5,
        sftp_retry_backoff: float = 0.5,
        sftp_io_timeout: float = IO_TIMEOUT,
        sftp_connections: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sftp_conn_id = sftp_conn_id
        self.move = move
        self.trash = trash
        self.fail_on_source_removal_error = fail_on_source_removal_error
        self.resume = resume
        self.ssh_compression = ssh_compression
        if sftp_retries < 0:
            raise IrodsUsageError(f"sftp_retries must be >= 0, got {sftp_retries}")
        self.sftp_retries = sftp_retries
        self.sftp_retry_backoff = sftp_retry_backoff
        self.sftp_io_timeout = sftp_io_timeout
        if sftp_connections is not None and sftp_connections < 1:
            raise IrodsUsageError(f"sftp_connections must be >= 1, got {sftp_connections}")
        self.sftp_connections = sftp_connections
        self._tally = _PerFileTally()
        self._early_endpoint: SftpEndpoint | None = None

    def execute(self, context: Context) -> Any:
        """Start connecting to the SFTP server while the iRODS session opens (see :meth:`endpoint`), and
        resolving the lineage collector while the files move (:meth:`warm_lineage`)."""
        self._early_endpoint = self.endpoint().open_in_background()
        self.warm_lineage()
        try:
            return super().execute(context)
        finally:
            early, self._early_endpoint = self._early_endpoint, None
            if early is not None:  # never used (the task failed before): do not leak its connection
                early.close()

    def policies(self) -> tuple[OverwritePolicy, SkipPolicy]:
        """The engine policies; with ``move`` a destination holding the source's bytes is skipped
        (:func:`~irods_provider.transfers._move.move_skip`)."""
        overwrite, skip = super().policies()
        return overwrite, move_skip(skip, move=bool(self.move))

    def metrics_sftp_conn_id(self) -> str:
        """The cluster's SFTP connection: the ``sftp_conn_id`` tag of this staging's transfer metrics."""
        return str(self.sftp_conn_id)

    def endpoint(self) -> SftpEndpoint:
        """The SFTP side of the copy, on the task's connection (the one :meth:`execute` started opening)."""
        early, self._early_endpoint = self._early_endpoint, None
        if early is not None:
            return early
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        from irods_provider.sftp._endpoint import SftpEndpoint

        return SftpEndpoint(
            SFTPHook(ssh_conn_id=self.sftp_conn_id),
            connections=int(self.sftp_connections or 1),  # auto: one to plan, more once sizes are known
            compress=self.ssh_compression,
            io_timeout=float(self.sftp_io_timeout),
            backoff=float(self.sftp_retry_backoff),
        )

    @staticmethod
    @contextlib.contextmanager
    def logging_in(session: IrodsSession) -> Iterator[None]:
        """Log in to iRODS in a thread during the block (waited for at its end), so the login overlaps the SSH
        handshake instead of following the first SFTP request; the token provider logs in once for both,
        and a failed login shows again, typed, on the first request that needs it."""

        def log_in() -> None:
            try:
                if session.auth is not None:
                    session.auth.get_token()
            except Exception as exc:  # the first request logs in again and raises
                logging.getLogger(__name__).debug("iRODS login ahead of the plan failed: %s", exc)

        thread = threading.Thread(target=log_in, name="irods-login", daemon=True)
        thread.start()
        try:
            yield
        finally:
            thread.join()

    def surviving_sftp(self, sftp: SftpEndpoint, run: Callable[[], T], *, path: str) -> T:
        """``run()``, a step before any file moves (the plan's lookups and listings, the target directory),
        reconnected and run again when its SSH connection drops or stalls, as each file's copy is
        (``sftp_retries``); ``run`` must be safe to repeat."""
        log = cast("logging.Logger", self.log)
        return sftp.retrying(run, path=path, retries=int(self.sftp_retries), log=log)

    def is_sftp_directory(self, sftp: SftpEndpoint) -> Callable[[str], bool]:
        """Whether a path is a directory on the SFTP server, asked again after a drop (a plan's question)."""
        return lambda path: self.surviving_sftp(sftp, lambda: sftp_is_directory(sftp, path), path=path)

    def plan_sftp(self, sftp: SftpEndpoint, sources: list[str], **options: Any) -> Plan:
        """:meth:`plan_from` over the SFTP server, on a channel of its own, planned again on a new
        connection when its SSH connection drops or stalls (:meth:`surviving_sftp`); the SSH connections
        the files found ask for start opening as they are found (:meth:`widening_ahead`)."""

        def plan() -> Plan:
            found = self.widening_ahead(sftp, upload=True)  # counted afresh when planned again
            with sftp.channel() as client:
                return self.plan_from(SftpTree(sftp, client), expanded, on_found=found, **options)

        expanded = [self.sftp_path(sftp, source) for source in sources]
        return self.surviving_sftp(sftp, plan, path=", ".join(sources))

    def sftp_path(self, sftp: SftpEndpoint, path: str, *, name: str = "an SFTP path") -> str:
        """``path`` with a leading ``~`` read as OpenSSH's client reads it (:func:`~irods_provider.sftp.
        _home.expand_home`): ``~/x`` relative to the login directory, ``~user`` asked of the server. An
        empty ``path`` (a template of a missing value) is refused: the login directory is ``.`` or ``~``."""
        if not path.strip():
            raise IrodsInvalidPathError(
                f"{name} must be an SFTP path ('.' or '~' for the login directory), got {path!r}"
            )
        if not needs_expand_path(path):
            return expand_home(path)

        def ask() -> str:
            with sftp.channel() as client:
                return expand_home(path, client)

        return self.surviving_sftp(sftp, ask, path=path)

    def plan_from(self, tree: Tree, sources: list[str], *, what: str, operation: str, **options: Any) -> Plan:
        """:func:`plan_sources` with this task's ``recursive`` and ``glob``; a literal source that is not
        there fails with ``IrodsNotFoundError`` naming ``what`` (e.g. "SFTP source") and the path."""
        return plan_sources(
            tree,
            sources,
            str(self.destination_path),
            missing=lambda raw, path: IrodsNotFoundError(
                self.missing_source(what, raw), operation=operation, path=path
            ),
            recursive=bool(self.recursive),
            glob=bool(self.glob),
            operation=operation,
            unlistable=unlistable if self.continue_on_error else None,
            **options,
        )

    def widening_ahead(self, sftp: SftpEndpoint, *, upload: bool) -> Callable[[Node], None] | None:
        """With automatic ``sftp_connections``: what the planner tells of each file as it finds it
        (``on_found``), starting to open the SSH connections the sizes found so far ask for
        (:class:`AutoCount`: never more than the whole plan asks) while the listing goes on, so a large
        file early in a tree does not wait for the whole plan; :meth:`widen_for` settles the count after."""
        if self.sftp_connections is not None:
            return None
        config = self.transfer_config()
        count = AutoCount(irods_requests_in_flight(config, upload=upload), config.max_concurrent_files)

        def found(node: Node) -> None:
            connections = count.add(node.size or 0)
            if connections > 1:
                sftp.widen_in_background(connections)

        return found

    def widen_for(
        self,
        sftp: SftpEndpoint,
        plan: Sequence[PlannedCopy],
        *,
        upload: bool,
        range_readers: int | None = None,
    ) -> None:
        """Start opening the automatic count of SSH connections (:func:`auto_connections`) as soon as the
        plan's sizes are known, while the rest of the setup runs (explicit ``sftp_connections`` open with
        the first). ``range_readers``: an upload's ``sftp_range_readers`` (0: one per connection); when
        more than connections, a spare channel opens on connection #0 meanwhile (the new connections lend
        their own, the file's own handle reads on #0)."""
        auto = self.sftp_connections is None
        if auto:
            config = self.transfer_config()
            count = auto_connections(
                (p.size or 0 for p in plan),
                irods_connections=irods_requests_in_flight(config, upload=upload),
                large_files=config.max_concurrent_files,
            )
        else:
            count = int(self.sftp_connections or 1)
        spare = range_readers is not None and (range_readers or count) > count
        sftp.widen_in_background(count if auto else 1, spare=spare)

    def moved_sftp_source(self, source: SftpRangedSource, result: FileResult) -> FileResult:
        """``move`` of one copied SFTP file: removed while unchanged; a refused removal is ``result``'s
        ``source_error`` (a dropped connection is raised: the file's retry finds its copy and removes it)."""
        try:
            change = source.remove_if_unchanged()
        except Exception as exc:
            if is_raw_connection_error(exc):
                raise
            return dataclasses.replace(result, source_error=removal_failure(exc))
        if change:
            self.log.warning("Not removing %s after the copy: it changed (%s)", result.source, change)
        return result

    def pruning_sftp(
        self, sftp: SftpEndpoint, plan: Sequence[PlannedCopy]
    ) -> Callable[[TransferReport], object] | None:
        """With ``move``: what removes the SFTP source directories a report's moved files left empty."""
        if not self.move:
            return None

        def prune(report: TransferReport) -> None:
            with sftp.channel() as client:
                self.prune_moved(report, plan, client.rmdir)

        return prune

    def pruning_irods(
        self, session: IrodsSession, plan: Sequence[PlannedCopy]
    ) -> Callable[[TransferReport], object] | None:
        """With ``move``: what removes the collections a report's moved data objects left empty."""
        if not self.move:
            return None
        remove = functools.partial(session.collections.remove, no_trash=not self.trash)
        return lambda report: self.prune_moved(report, plan, remove)

    def prune_moved(
        self, report: TransferReport, plan: Sequence[PlannedCopy], remove_dir: Callable[[str], object]
    ) -> list[str]:
        """With ``move``: remove the directories or collections the moved files left empty (see
        :func:`~irods_provider.transfers._move.prune_emptied`)."""
        if not self.move:
            return []
        done = {f.source for f in report.files if movable(f) and f.source_error is None}
        moved = [(p.source, p.base) for p in plan if p.source in done]
        copied = [(d.source, d.base) for d in self.directories]  # a tree's directories, empty ones too
        keep = unlisted_directories(report, [d.source for d in self.directories])
        removed, report.kept_directories = prune_emptied(moved, remove_dir, copied=copied, keep=keep)
        if removed:
            self.log.info("Removed %d emptied source director(y/ies): %s", len(removed), removed[:10])
        return removed

    def plan_progress(self, plan: Sequence[PlannedCopy]) -> LoggingProgressSubscriber:
        """One progress logger over the whole plan; it also tallies bytes per file (for ``sftp_retries``)."""
        self._tally = _PerFileTally()
        return _TalliedProgress(
            cast("logging.Logger", self.log),
            total=sum(p.size or 0 for p in plan),
            interval=float(self.progress_interval_seconds),
            tally=self._tally,
        )

    def place_upload(
        self, session: IrodsSession, found: Plan, destination: str, *, is_collection: Callable[[str], bool]
    ) -> list[PlannedCopy]:
        """:func:`place_upload` checked by :meth:`check_unique`; the tree's directories kept (report)."""
        plan, self.directories = place_upload(
            session, found, destination, check=self.check_unique, is_collection=is_collection
        )

        def placed(item: PlannedCopy) -> PlannedCopy:
            return dataclasses.replace(item, destination=f"{destination}/{item.destination}")

        self.unlisted = [dataclasses.replace(u, file=placed(u.file)) for u in found.unlisted]
        self.temporary_like = [placed(t) for t in found.temporary_like]
        return plan

    def check_unique(self, plan: Sequence[PlannedCopy | PlannedDirectory]) -> None:
        """Two sources must never land on one destination (the planner's check); into iRODS, no destination
        the HTTP API cannot address."""
        check_unique(plan)
        if self.writes_to_irods:
            refuse_unstorable(plan)

    def run_recorded(
        self,
        plan: Sequence[PlannedCopy],
        one: Callable[[PlannedCopy], FileResult],
        *,
        sftp: SftpEndpoint,
        upload: bool,
        context: Mapping[str, Any],
        prune: Callable[[TransferReport], object] | None = None,
    ) -> TransferReport:
        """:func:`run_plan`, each file retried on a new connection when its SSH connection drops (see
        ``sftp_retries``), then record the lineage of the files copied and ``prune`` (``move``: the source
        directories they emptied), also when part of it failed (then its report is logged first)."""
        retries, log, tally = int(self.sftp_retries), cast("logging.Logger", self.log), self._tally
        self.widen_for(sftp, plan, upload=upload)  # a no-op when the plan already did

        def surviving(item: PlannedCopy) -> FileResult:
            # Progress counts only where the next attempt continues from it (resume); events name either end.
            moved = (lambda: tally.get(item.source) + tally.get(item.destination)) if self.resume else None
            run = functools.partial(
                sftp.retrying, lambda: one(item), path=item.source, retries=retries, log=log
            )
            if upload:
                return run(progress=moved)
            return leaving_out(item, lambda: run(progress=moved), session=self.left_out_session)

        plan, surviving = with_unlisted(plan, self.unlisted, surviving)
        try:
            report = run_plan(
                plan,
                surviving,
                lanes=staging_lanes(plan, self.transfer_config(), sftp),
                cancel=self.cancel_event,
                continue_on_error=self.continue_on_error,
            )
        except BaseException as exc:
            partial = getattr(exc, "report", None)
            if isinstance(partial, TransferReport):  # what landed, in the task log (as the local operators)
                report_left_out(partial, self.left_out, logger=log)
                report_temporary_like(partial, self.temporary_like, logger=log)
                self.log_report(partial, direction="SFTP -> iRODS" if upload else "iRODS -> SFTP")
                self.record_staging_lineage(partial, sftp, upload=upload, context=context)
                if prune is not None:
                    try:
                        prune(partial)
                    except Exception as error:  # the transfer's own failure is what the task reports
                        self.log.warning("Could not remove the source directories emptied: %s", error)
            raise
        report_left_out(report, self.left_out, logger=log)
        report_temporary_like(report, self.temporary_like, logger=log)
        report.directories = directory_results(self.directories, dry_run=False)
        self.record_staging_lineage(report, sftp, upload=upload, context=context)
        if prune is not None:
            prune(report)
        return report

    def place_rest(self, plan: Plan, place: Callable[[str], str], session: IrodsSession, target: str) -> None:
        """Keep the files ``plan`` left out (no good replica: being written, or their write failed), each at
        ``place`` of its relative path, for :meth:`run_recorded` to report as skipped (``session`` tells it
        which files became unreadable after the plan), and the tree's directories, placed likewise, for it to
        create below the SFTP directory ``target`` before any file."""
        placed = [dataclasses.replace(d, destination=place(d.destination)) for d in plan.directories]
        self.directories, self.directory_target = placed, target
        self.left_out_session = session
        self.left_out = [
            dataclasses.replace(x, file=dataclasses.replace(x.file, destination=place(x.file.destination)))
            for x in plan.left_out
        ]

    def make_directories(self, sftp: SftpEndpoint, *, mode: int | None = None) -> None:
        """Create the tree's directories :meth:`place_rest` placed below its SFTP target (those created get
        ``mode``; None: the server's default): a file or link in the way is refused here, before any byte
        of the run is read."""
        if self.directories and self.directory_target is not None:
            target, paths = self.directory_target, [d.destination for d in self.directories]
            make = functools.partial(create_sftp_directories, sftp, target, paths, mode=mode)
            self.surviving_sftp(sftp, make, path=target)

    def nothing_matches(self, sources: Sequence[str], *, operation: str) -> IrodsNotFoundError:
        """The error of a selection with no file to copy, naming what was left out."""
        hint = left_out_hint(self.left_out)
        return IrodsNotFoundError(f"no data object matches {list(sources)}{hint}", operation=operation)

    def record_staging_lineage(
        self, report: TransferReport, sftp: SftpEndpoint, *, upload: bool, context: Mapping[str, Any]
    ) -> None:
        """Lineage of the report's copied files; the SFTP side is named by the connection's host and port."""
        host, port = str(sftp.hook.remote_host or ""), int(sftp.hook.port or 22)

        def remote(path: str) -> LineageDataset:
            return sftp_dataset(host=host, port=port, path=path)

        def datasets(f: FileResult) -> tuple[LineageDataset, LineageDataset]:
            if upload:
                return remote(f.source), irods_dataset(f.destination)
            return irods_dataset(f.source), remote(f.destination)

        self.record_done(report.files, datasets, context=context)

    def finish(
        self,
        report: TransferReport,
        *,
        direction: str,
        name: str,
        destination: str,
        session: IrodsSession | None = None,
    ) -> dict[str, Any]:
        """Log the report; the XCom value (per-file entries bounded, see ``max_report_entries``); with
        ``move``, sources not removed fail the task (see ``fail_on_source_removal_error``)."""
        self.log_report(report, direction=direction)
        log = cast("logging.Logger", self.log)
        check_removed(report, fail=bool(self.fail_on_source_removal_error), log=log, operation=name)
        return {
            **self.xcom_report(report, session),
            "direction": name,
            "sftp_conn_id": self.sftp_conn_id,
            "destination": destination,
            "verified": report.transferred,
        }


class PublishedModes(TypedDict):
    """The permission bits of what an SFTP download publishes (:class:`~irods_provider.sftp._sink.
    SftpStagingSink`'s arguments); None: the server's default."""

    file_mode: int | None
    directory_mode: int | None


class SftpPublishingOperator(SftpStagingOperator):
    """:class:`SftpStagingOperator` writing onto the SFTP server: the modes of what it publishes there.

    :param file_mode: permission bits of every file published, new or overwritten alike (templated; ``0o640``,
        ``"0640"`` or ``"640"``), as ``install -m`` sets them: through the file's open handle in its close's
        round trip (no round trip of its own, and not masked by the server's umask); the temporary stays
        ``0600`` until then. Only bits within ``0o777``: setuid, setgid and sticky are refused (a data file
        is no program to run as its owner). A server refusing to set it fails that file, unpublished
        (``IrodsSftpFileError``). None (default): a new file gets what a plain create gives on the server
        (0666 less its umask, learned in the target directory), an overwrite keeps the replaced file's mode.
    :param directory_mode: permission bits of the directories the run creates (``destination_path`` and its
        missing parents, a tree's directories; existing ones are left as they are), e.g. ``0o750``: sent
        with each ``mkdir``, then set by one ``lsetstat@openssh.com`` (no link followed) when the server's
        umask masked it; a server without that extension (OpenSSH < 8.0) fails the run there with
        ``IrodsConfigurationError``, the directory keeping the umask's narrower mode. Within
        ``0o3777`` (setgid and sticky allowed); a setgid bit inherited from the parent stays unless asked
        for, as with GNU ``mkdir -m``. None (default): the server's default (0777 less its umask).
    """

    template_fields: Sequence[str] = (*SftpStagingOperator.template_fields, "file_mode", "directory_mode")

    def __init__(
        self, *, file_mode: int | str | None = None, directory_mode: int | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.file_mode = file_mode
        self.directory_mode = directory_mode
        for name, value in (("file_mode", file_mode), ("directory_mode", directory_mode)):
            if not (isinstance(value, str) and "{" in value):  # a literal: a mistake fails the DAG's parse
                parse_mode(value, name=name, directory=name == "directory_mode")

    def published_modes(self) -> PublishedModes:
        """The rendered ``file_mode`` and ``directory_mode`` as permission bits (the sink's arguments)."""
        return {
            "file_mode": parse_mode(self.file_mode, name="file_mode"),
            "directory_mode": parse_mode(self.directory_mode, name="directory_mode", directory=True),
        }

    def target_root(self, sftp: SftpEndpoint, path: str) -> str:
        """:func:`~irods_provider.sftp._sink.target_root` creating directories with ``directory_mode``."""
        return target_root(sftp, path, directory_mode=self.published_modes()["directory_mode"])

    def make_directories(self, sftp: SftpEndpoint, *, mode: int | None = None) -> None:
        """:meth:`SftpStagingOperator.make_directories`, those created getting ``directory_mode``."""
        chosen = self.published_modes()["directory_mode"] if mode is None else mode
        super().make_directories(sftp, mode=chosen)
