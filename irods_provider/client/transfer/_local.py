"""Planning and running many-file transfers: single file, list, directory tree or glob, with path safety.

Planning is :func:`~._plan.plan_copies` (the one planner) over :class:`~._trees.LocalTree` or
:class:`~._trees.IrodsTree`; running is :func:`~._runner.run_files` (the one runner).
"""

from __future__ import annotations

import copy
import logging
import os
import posixpath
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from irods_provider.client._patterns import literal_hint
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsError,
    IrodsInvalidPathError,
    IrodsNotFoundError,
)

from ._api import SessionLike
from ._config import OverwritePolicy, SkipPolicy, TransferConfig
from ._coordinator import TransferSubscriber
from ._copy import alongside
from ._dirs import directory_results, make_local_directories, not_a_collection
from ._download import download_object
from ._leftout import leaving_out, report_left_out
from ._plan import Destination, Plan, PlannedFile, plan_copies
from ._progress import LoggingProgressSubscriber
from ._report import FileResult, TransferReport
from ._runner import Lanes, plan_lanes, run_files
from ._trees import IrodsTree, LocalTree
from ._unlisted import report_temporary_like, unlistable, with_unlisted
from ._upload import parked_among, upload_object
from ._writer import _effective_config

log = logging.getLogger(__name__)

#: GenQuery pages in flight while a plan lists a collection (whole listings are wanted, so no waste). The
#: server caps a page at 15 rows, so over a 30 ms round trip 8 pages in flight list at most 4,000 objects/s
#: (100,000 in 25 s); 16 halve that and stay below httpx's 20 kept-alive connections. The real server runs
#: 6 iRODS calls at once (background_io.threads, connection_pool.size): the rest wait there, not on the wire.
PLAN_READ_AHEAD = 16


def _as_list(sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(sources, str | os.PathLike):
        return [os.fspath(sources)]
    return [os.fspath(s) for s in sources]


def plan_local_sources(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    destination: str,
    *,
    pattern: str | None = None,
    recursive: bool = True,
    follow_symlinks: bool = False,
    glob: bool = False,
) -> list[PlannedFile]:
    """:func:`plan_local_tree`'s files."""
    return plan_local_tree(
        sources, destination, pattern=pattern, recursive=recursive, follow_symlinks=follow_symlinks, glob=glob
    ).files


def plan_local_tree(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    destination: str,
    *,
    pattern: str | None = None,
    recursive: bool = True,
    follow_symlinks: bool = False,
    glob: bool = False,
    continue_on_error: bool = False,
) -> Plan:
    """Expand local files, directories (trees) and, with ``glob``, patterns into (file → logical path) pairs,
    and the trees' directories (empty ones included) into the collections to create.

    The one planner (:func:`~._plan.plan_copies`) over the local disk: a source is literal unless ``glob``
    (``data[1].csv`` is that file); with ``glob`` it follows the provider's one pattern rule
    (:mod:`irods_provider.client._patterns`: ``**`` for any depth, ``[[]`` for a literal ``[``). A file keeps
    its name under ``destination``; a directory or pattern keeps paths relative to its root. ``pattern``
    filters relative paths (or names). Symlinks inside trees and patterns are skipped unless
    ``follow_symlinks`` (then loops are detected by device and inode); a source named explicitly that is a
    symlink to a file is refused (:class:`IrodsSymlinkError`) unless ``follow_symlinks``. A directory below
    a tree's root that cannot be listed raises IrodsPermissionError, or with ``continue_on_error`` is kept
    in :attr:`Plan.unlisted` (reported FAILED) while the rest is planned.
    """
    dest = destination.rstrip("/")

    def missing(raw: str, path: str) -> IrodsInvalidPathError:
        hint = "" if glob else literal_hint(path)
        return IrodsInvalidPathError(
            f"local source does not exist{hint}", operation="upload_files", path=path
        )

    return plan_copies(
        LocalTree(),
        _as_list(sources),
        Destination(dest, into=True),
        place=lambda relative: f"{dest}/{Path(relative).as_posix()}",
        missing=missing,
        pattern=pattern,
        recursive=recursive,
        follow_symlinks=follow_symlinks,
        glob=glob,
        operation="upload_files",
        unlistable=unlistable if continue_on_error else None,
    )


def safe_local_path(root: str | os.PathLike[str], relative: str) -> Path:
    """``root/relative``, refusing anything that could land outside ``root`` (IrodsInvalidPathError).

    Rejected: empty names, absolute names, ``..``/``.``/empty components, backslashes, NUL, and any existing
    symlink on the way (a directory symlink could point anywhere; a file symlink would be written through).
    """
    return Path(_safe_under(os.path.realpath(root), relative))


def _safe_under(base: str, relative: str, missing: set[str] | None = None) -> str:
    """:func:`safe_local_path` below ``base``, already resolved (a plan resolves its target once).

    ``missing`` (kept by one plan) remembers directories found missing, so the files of a tree not yet
    downloaded cost one lstat per directory instead of one per file.
    """
    if not relative or relative.startswith(("/", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        raise _unsafe(relative, "empty or absolute")
    if "\\" in relative or "\x00" in relative:
        raise _unsafe(relative, "backslash or NUL")
    parts = relative.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise _unsafe(relative, "'..', '.' or empty component")
    # The name is lexically inside ``base``, so only a symlink on the way could lead out: one lstat per
    # existing component (planning 100,000 objects resolved every path twice before), none below the first
    # missing one (nothing exists under it).
    current = base
    for depth, part in enumerate(parts, start=1):
        current = os.path.join(current, part)
        if missing is not None and current in missing:
            break
        try:
            mode = os.lstat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if missing is not None and depth < len(parts):
                missing.add(current)
            break
        if stat.S_ISLNK(mode):
            raise _unsafe(relative, "a symlink on the way")
    return os.path.join(base, relative)


def _unsafe(relative: str, reason: str) -> IrodsInvalidPathError:
    return IrodsInvalidPathError(f"unsafe download name: {reason}", operation="download_files", path=relative)


def plan_irods_sources(
    session: SessionLike,
    sources: str | Iterable[str],
    local_dir: str | os.PathLike[str],
    *,
    pattern: str | None = None,
    recursive: bool = True,
    glob: bool = False,
) -> list[PlannedFile]:
    """Expand logical data objects, collections and, with ``glob``, patterns into (logical path → safe local
    path) pairs: the one planner (:func:`~._plan.plan_copies`) over the zone. Sources are literal unless
    ``glob`` (the provider's one pattern rule, ``**`` included).

    A literal path that is neither a data object nor a collection raises IrodsNotFoundError naming it.
    An object of a collection or pattern that cannot be read now (another client is writing it, or its
    write failed) is left out (see :func:`download_files`).
    """
    return _plan_irods(session, sources, local_dir, pattern=pattern, recursive=recursive, glob=glob).files


def _plan_irods(
    session: SessionLike,
    sources: str | Iterable[str],
    local_dir: str | os.PathLike[str],
    *,
    pattern: str | None,
    recursive: bool,
    glob: bool,
) -> Plan:
    """:func:`plan_irods_sources`, with the files it left out."""

    def missing(raw: str, path: str) -> IrodsNotFoundError:
        hint = "" if glob else literal_hint(path)
        return IrodsNotFoundError(
            f"no file matches {path!r}: no data object or collection at that path{hint}",
            operation="download",
            path=path,
        )

    # The target resolved once and missing directories remembered: a plan of 100,000 objects otherwise
    # resolved every path twice.
    base, absent = os.path.realpath(local_dir), set[str]()
    return plan_copies(
        IrodsTree(session, read_ahead=PLAN_READ_AHEAD),
        [sources] if isinstance(sources, str) else list(sources),
        Destination(os.fspath(local_dir), into=True),
        place=lambda relative: _safe_under(base, relative, absent),
        missing=missing,
        pattern=pattern,
        recursive=recursive,
        glob=glob,
        operation="download",
    )


def _run(
    plan: Sequence[PlannedFile],
    one: Callable[[PlannedFile, threading.Event], FileResult],
    *,
    config: TransferConfig,
    continue_on_error: bool,
    dry_run: bool,
    cancel_event: threading.Event | None = None,
    session: SessionLike | None = None,
) -> TransferReport:
    """Run ``one`` per planned file, at most ``max_concurrent_files`` large ones and the small-file lane
    (:func:`_lanes`) at once; the first error (or setting ``cancel_event``) stops the rest. A cancellation
    raises IrodsTransferCancelledError.
    """
    return run_files(
        plan,
        one,
        lanes=_lanes(plan, config, session),
        on_error="continue" if continue_on_error else "stop",
        cancel_event=cancel_event,
        dry_run=dry_run,
        what="irods-files",
    )


def _lanes(plan: Sequence[PlannedFile], config: TransferConfig, session: SessionLike | None) -> Lanes:
    """The plan's lanes (:func:`plan_lanes`)."""
    return plan_lanes([p.size for p in plan], config, session)


def _subscribers(
    plan: Sequence[PlannedFile],
    cfg: TransferConfig,
    logger: logging.Logger | None,
    subscribers: Sequence[TransferSubscriber],
) -> tuple[TransferSubscriber, ...]:
    subs = list(subscribers)
    if logger is not None:
        total = sum(p.size or 0 for p in plan)
        subs.append(LoggingProgressSubscriber(logger, total=total, interval=cfg.progress_interval_seconds))
    return tuple(subs)


def upload_files(
    session: SessionLike,
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    destination: str,
    *,
    pattern: str | None = None,
    recursive: bool = True,
    config: TransferConfig | None = None,
    overwrite: OverwritePolicy = OverwritePolicy.REFUSE,
    skip: SkipPolicy = SkipPolicy.NEVER,
    metadata: Sequence[Any] | Mapping[str, str] = (),
    dry_run: bool = False,
    resume: bool = True,
    continue_on_error: bool = False,
    logger: logging.Logger | None = None,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
    follow_symlinks: bool = False,
    wait_stable_seconds: float | None = None,
    glob: bool = False,
    check_plan: Callable[[Plan], None] | None = None,
) -> TransferReport:
    """Upload local files, trees or (``glob=True``) patterns under the collection ``destination``; returns a
    TransferReport. Sources are literal unless ``glob`` (see :func:`plan_local_sources`). ``check_plan`` sees
    the one plan before anything is created (it raises to refuse it): the tree is listed once.

    Parent collections are created as needed, and a tree's every sub-collection, empty ones included
    (listed in the report's ``directories``; a data object in the way is IrodsNotACollectionError before any
    file moves; ``pattern`` and globs select files only); each file goes through :func:`upload_object`
    (atomic, verified, resumable), at most ``config.max_concurrent_files`` at once. Setting ``cancel_event``
    stops every file (handles shut down, nothing published) and raises IrodsTransferCancelledError. Symlinks
    are skipped in trees and globs and refused as sources unless ``follow_symlinks``; a file that changes
    while it is uploaded fails with IrodsSourceChangedError (``wait_stable_seconds``: wait till it is quiet).
    """
    cfg = _effective_config(session, config)
    selection: dict[str, Any] = {"pattern": pattern, "recursive": recursive, "glob": glob}
    selection |= {"follow_symlinks": follow_symlinks, "continue_on_error": continue_on_error}
    tree = plan_local_tree(sources, destination, **selection)
    if check_plan is not None:
        check_plan(tree)
    subs = _subscribers(tree.files, cfg, logger, subscribers)
    listing = overwrite is OverwritePolicy.OVERWRITE  # one listing of what killed overwrites moved aside
    unusable, parked = _prepare(session, tree, listing=listing, dry_run=dry_run)

    def one(item: PlannedFile, cancel: threading.Event) -> FileResult:
        if (error := unusable.get(posixpath.dirname(item.destination))) is not None:
            raise copy.copy(error)  # one error per file: threads never share (and extend) one traceback
        return upload_object(
            session,
            item.source,
            item.destination,
            config=cfg,
            overwrite=overwrite,
            skip=skip,
            metadata=metadata,
            dry_run=dry_run,
            resume=resume,
            subscribers=subs,
            cancel_event=cancel,
            follow_symlinks=follow_symlinks,
            wait_stable_seconds=wait_stable_seconds,
            parked=None if parked is None else item.destination in parked,
        )

    plan, run = with_unlisted(tree.files, tree.unlisted, one)  # a directory not listed: FAILED
    options: dict[str, Any] = {"continue_on_error": continue_on_error, "dry_run": dry_run}
    report = _run(plan, run, config=cfg, session=session, cancel_event=cancel_event, **options)
    report_temporary_like(report, tree.temporary_like, logger=logger)
    report.directories = directory_results(tree.directories, dry_run=dry_run)
    return report


def _prepare(
    session: SessionLike, plan: Plan, *, listing: bool, dry_run: bool
) -> tuple[dict[str, IrodsError], frozenset[str] | None]:
    """The collections that could not be created (none in a dry run) and, with ``listing`` (OVERWRITE), the
    destinations killed overwrites left objects moved aside from (:func:`parked_among`, asked beside the
    creation: one GenQuery for the run, not one per skipped or published file; None: each file asks)."""
    if dry_run:
        return {}, frozenset()
    if not listing:
        return _create_collections(session, plan), None
    return alongside(
        lambda: _create_collections(session, plan),
        lambda: parked_among(session, [p.destination for p in plan.files]),
        name="parked-among",
    )


def _create_collections(session: SessionLike, plan: Plan) -> dict[str, IrodsError]:
    """Create the plan's destination collections up front, a tree's empty ones included; the ones that
    could not be created, each with its typed error, so only the files bound for them fail (the others
    still go). A data object where a tree's collection must go, or a tree's collection no file is bound
    for that cannot be created (nothing else would tell it is missing), fails the whole upload first."""
    unusable: dict[str, IrodsError] = {}
    tree, parents = (
        {d.destination for d in plan.directories},
        {posixpath.dirname(p.destination) for p in plan.files},
    )
    for collection in sorted(parents | tree):
        try:
            session.collections.create(collection, intermediates=True, exist_ok=True)
        except IrodsAlreadyExistsError as exc:  # created: false, and no collection: a data object there
            if collection in tree:
                raise not_a_collection(collection, "upload_files", exc) from exc
            log.warning("cannot create the collection %s: %s", collection, exc)
            unusable[collection] = exc
        except IrodsError as exc:
            if collection not in parents:
                raise
            log.warning("cannot create the collection %s: %s", collection, exc)
            unusable[collection] = exc
    return unusable


def download_files(
    session: SessionLike,
    sources: str | Iterable[str],
    local_dir: str | os.PathLike[str],
    *,
    pattern: str | None = None,
    recursive: bool = True,
    config: TransferConfig | None = None,
    overwrite: OverwritePolicy = OverwritePolicy.REFUSE,
    skip: SkipPolicy = SkipPolicy.NEVER,
    dry_run: bool = False,
    continue_on_error: bool = False,
    logger: logging.Logger | None = None,
    subscribers: Sequence[TransferSubscriber] = (),
    cancel_event: threading.Event | None = None,
    glob: bool = False,
) -> TransferReport:
    """Download data objects, collections (trees) or (``glob=True``) logical patterns into ``local_dir``;
    never writes outside it. Setting ``cancel_event`` stops every file and raises
    IrodsTransferCancelledError. Directories below ``local_dir`` are opened without following links when
    each file is written: one swapped for a symlink after the plan fails that file (IrodsSymlinkError).

    An object of a collection or pattern that cannot be read now (another client is still writing it, or
    its last write failed: no good replica) is left out, reported as skipped with the reason and logged
    (also when another client starts writing it after the plan); a data object named by itself raises
    IrodsLockedError instead."""
    cfg = _effective_config(session, config, reads=True)
    found = _plan_irods(session, sources, local_dir, pattern=pattern, recursive=recursive, glob=glob)
    plan = found.files
    subs = _subscribers(plan, cfg, logger, subscribers)
    root = os.path.realpath(local_dir)  # as the plan placed its files; below it nothing is followed
    if found.directories and not dry_run:  # a collection's sub-collections, empty ones included
        make_local_directories(found.directories, root, operation="download")

    def one(item: PlannedFile, cancel: threading.Event) -> FileResult:
        return leaving_out(
            item,
            lambda: download_object(
                session,
                item.source,
                item.destination,
                config=cfg,
                overwrite=overwrite,
                skip=skip,
                dry_run=dry_run,
                subscribers=subs,
                cancel_event=cancel,
                local_root=root,
            ),
            session=session,
        )

    report = _run(
        plan,
        one,
        config=cfg,
        continue_on_error=continue_on_error,
        dry_run=dry_run,
        cancel_event=cancel_event,
        session=session,
    )
    report.directories = directory_results(found.directories, dry_run=dry_run)
    return report_left_out(report, found.left_out, logger=logger)
