"""``move=True``: removing sources after verified copies, and the directories or collections they emptied.

A source is removed only if it is still the version that was copied (a changed one is kept, with a warning).
iRODS sources are removed with ``no_trash`` unless ``trash=True`` (so quota is freed). Directories and
collections are removed bottom-up only when empty, and only strictly below the directory or collection a
tree or glob was taken from: that root itself stays (as rsync ``--remove-source-files`` keeps it: a landing
directory the next run may read again). A tree's own directories, empty ones included, are all removed as
``mv`` would (none is left behind at the source), except one still holding something not moved (a file
that appeared during the run, a symlink, a failed or changed file's source) or one that could not be
listed, kept, logged and reported (``TransferReport.kept_directories``, with the reason); a pattern or
glob selects files only, so only the directories its moved files emptied go.

A source that cannot be removed (permission denied, a read-only file system) keeps its file's status (the
copy is verified) with a ``source_error``; the task then fails with :class:`IrodsSourceRemovalError` unless
told otherwise (:func:`check_removed`). A move's destination that already holds the source's bytes (checksum
compared: :func:`move_skip`) is an earlier try's copy: skipped, and its source removed (:func:`movable`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from irods_provider.client._patterns import compile_pattern
from irods_provider.client.transfer import (
    FileStatus,
    KeptDirectory,
    SkipPolicy,
    StreamHasher,
    TransferReport,
    same_stored_checksum,
    scheme_of,
)
from irods_provider.client.transfer._alias import source_stat
from irods_provider.client.transfer._policy import SAME_CHECKSUM
from irods_provider.exceptions import IrodsError, IrodsSourceRemovalError

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession
    from irods_provider.client.transfer import FileResult

__all__ = [
    "NOT_LISTED",
    "STILL_HOLDS",
    "VERIFIED_SKIP",
    "check_removed",
    "irods_source_unchanged",
    "local_file_has_checksum",
    "movable",
    "move_skip",
    "moved_irods_source",
    "prune_emptied",
    "removal_failure",
    "remove_irods_source",
    "tree_base",
    "tree_base_of",
    "unlisted_directories",
]

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024
#: The skip reason of a destination found holding the source's bytes, checksums compared.
VERIFIED_SKIP = SAME_CHECKSUM
#: Why a tree's directory was kept: it still holds what was not moved.
STILL_HOLDS = "still holds what was not moved (a file that appeared, a symlink, a failed file's source)"
#: Why a tree's directory that could not be listed was kept.
NOT_LISTED = "could not be listed: nothing in it was moved"
#: Sources a :class:`IrodsSourceRemovalError`'s message names (all are in its ``paths``).
_NAMED = 5


def move_skip(skip: SkipPolicy, *, move: bool) -> SkipPolicy:
    """The skip policy a run uses: with ``move``, NEVER becomes CHECKSUM, so a destination that holds the
    source's bytes (an earlier try copied it, then could not remove the source) is not copied again."""
    return SkipPolicy.CHECKSUM if move and skip is SkipPolicy.NEVER else skip


def movable(result: FileResult) -> bool:
    """Whether a ``move`` removes ``result``'s source: copied and verified, or found already copied (the
    same checksum at the destination). Sizes or mere existence prove nothing: those sources stay."""
    if result.status is FileStatus.TRANSFERRED:
        return True
    return result.status is FileStatus.SKIPPED and result.reason == VERIFIED_SKIP


def removal_failure(exc: BaseException) -> str:
    """What a file's ``source_error`` says of a failed removal: the error's type and text."""
    return f"{type(exc).__name__}: {exc}"


def check_removed(report: TransferReport, *, fail: bool, log: logging.Logger, operation: str) -> None:
    """Raise :class:`IrodsSourceRemovalError` (carrying ``report``) when sources of verified copies could
    not be removed; with ``fail`` False log it as a warning instead."""
    kept = [f for f in report.files if f.source_error is not None]
    if not kept:
        return
    named = "; ".join(f"{f.source} ({f.source_error})" for f in kept[:_NAMED])
    more = f" and {len(kept) - _NAMED} more" if len(kept) > _NAMED else ""
    error = IrodsSourceRemovalError(
        f"{len(kept)} source(s) copied and verified but not removed: {named}{more}; the destinations are "
        "complete, a retry copies none of them again and only removes the sources",
        paths=tuple(f.source for f in kept),
        causes=tuple(str(f.source_error) for f in kept),
        operation=operation,
    )
    if not fail:
        log.warning("%s", error)
        return
    error.report = report  # type: ignore[attr-defined]
    raise error


def tree_base(source: str, *, is_tree: bool, glob: bool = False) -> str | None:
    """The root a source argument's files are taken from: a pattern's literal base (with ``glob``), a
    directory or collection itself (``is_tree``); None for a single file (whose parent is never removed)."""
    if glob:
        compiled = compile_pattern(source)
        if not compiled.literal:
            return compiled.base.rstrip("/") or "/"
        source = compiled.base
    return source.rstrip("/") or "/" if is_tree else None


def tree_base_of(path: str, bases: Iterable[str]) -> str | None:
    """The deepest of ``bases`` that ``path`` lies strictly below (None when none)."""
    inside = [b for b in bases if path.startswith(b.rstrip("/") + "/")]
    return max(inside, key=len) if inside else None


def prune_emptied(
    moved: Iterable[tuple[str, str | None]],
    remove_dir: Callable[[str], object],
    *,
    dirname: Callable[[str], str] = posixpath.dirname,
    copied: Iterable[tuple[str, str | None]] = (),
    keep: Mapping[str, str] | None = None,
) -> tuple[list[str], list[KeptDirectory]]:
    """Remove the now-empty directories between each moved file ``(path, base)`` and its ``base`` (not the
    base itself), and each directory a tree copy ``copied`` (``(path, base)``, empty ones included, as
    ``mv`` leaves none), deepest first. ``remove_dir`` must refuse a non-empty directory (rmdir, a
    collection removed without recursion): one still holding something not moved stays. ``keep``: directories
    never removed (path -> why: one that could not be listed). Returns what was removed and the copied
    directories kept, each with the reason (logged)."""
    kept_for = dict(keep or {})
    candidates: set[str] = set()
    trees = [(path, base) for path, base in copied if base is not None]
    for start, base in [*((dirname(p), b) for p, b in moved), *trees]:
        prefix, directory = ("" if base is None else base.rstrip("/") + "/"), start
        while prefix and directory.startswith(prefix) and directory not in candidates:
            candidates.add(directory)
            directory = dirname(directory)
    removed: list[str] = []
    for directory in sorted(candidates - set(kept_for), key=lambda d: (d.count("/"), d), reverse=True):
        try:
            remove_dir(directory)
        except (OSError, IrodsError) as exc:  # not empty (a file kept, another writer), or gone
            log.debug("keeping %s: %s", directory, exc)
            kept_for.setdefault(directory, f"{STILL_HOLDS} ({type(exc).__name__}: {exc})")
            continue
        removed.append(directory)
    kept = [KeptDirectory(path=p, reason=kept_for[p]) for p in sorted({p for p, _ in trees} - set(removed))]
    if kept:
        log.warning(
            "Kept %d copied source director(y/ies): %s",
            len(kept),
            "; ".join(f"{k.path} ({k.reason})" for k in kept[:10]),
        )
    return removed, kept


def unlisted_directories(
    report: TransferReport, directories: Iterable[str], normalize: Callable[[str], str] = str
) -> dict[str, str]:
    """The tree's ``directories`` the report says failed (they could not be listed): never removed."""
    failed = {normalize(f.source) for f in report.files if f.status is FileStatus.FAILED}
    return {d: NOT_LISTED for d in directories if d in failed}


def local_file_has_checksum(path: str, size: int | None, checksum: str | None) -> bool:
    """Whether the local file ``path`` still has the copied ``size`` and the zone's ``checksum``."""
    if checksum is None or size is None:
        return False
    try:
        if os.stat(path).st_size != size:
            return False
        scheme = scheme_of(checksum)
        if scheme is None:
            return False
        hasher = StreamHasher(schemes=(scheme,))
        with open(path, "rb") as fh:
            while data := fh.read(_CHUNK):
                hasher.update(data)
    except (OSError, IrodsError):
        return False
    return same_stored_checksum(checksum, hasher.result().checksum_in(scheme) or "")


def irods_source_unchanged(session: IrodsSession, result: FileResult) -> bool:
    """Whether the data object ``result.source`` is still the version copied: same size and checksum."""
    try:
        st = source_stat(session, result.source)  # the catalog's answer for a '+' path
        checksum = st.checksum or session.data_objects.calculate_checksum(result.source)
    except IrodsError:
        return False
    return st.size == result.size and checksum == result.checksum


def remove_irods_source(session: IrodsSession, result: FileResult, *, trash: bool) -> bool:
    """``move`` of one copied data object: removed only while it is still the version copied (else kept,
    with a warning); whether it was removed."""
    if not irods_source_unchanged(session, result):
        log.warning("Not removing %s after the copy: it changed since", result.source)
        return False
    session.data_objects.remove(result.source, no_trash=not trash)
    return True


def moved_irods_source(session: IrodsSession, result: FileResult, *, trash: bool) -> FileResult:
    """``move`` of one file's data object when it was copied (:func:`movable`, :func:`remove_irods_source`):
    ``result``, with its ``source_error`` when iRODS refused the removal (the copy stands)."""
    if not movable(result):
        return result
    try:
        remove_irods_source(session, result, trash=trash)
    except IrodsError as exc:
        return dataclasses.replace(result, source_error=removal_failure(exc))
    return result
