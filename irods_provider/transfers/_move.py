"""``move=True``: removing sources after verified copies, and the directories or collections they emptied.

A source is removed only if it is still the version that was copied (a changed one is kept, with a warning).
iRODS sources are removed with ``no_trash`` unless ``trash=True`` (so quota is freed). Directories and
collections are removed bottom-up only when empty, and only strictly below the directory or collection a
tree or glob was taken from: that root itself stays (a landing directory the next run may read again).
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from irods_provider.client._patterns import compile_pattern
from irods_provider.client.transfer import StreamHasher, same_stored_checksum, scheme_of
from irods_provider.client.transfer._alias import source_stat
from irods_provider.exceptions import IrodsError

if TYPE_CHECKING:
    from irods_provider.client import IrodsSession
    from irods_provider.client.transfer import FileResult

__all__ = [
    "irods_source_unchanged",
    "local_file_has_checksum",
    "prune_emptied",
    "remove_irods_source",
    "tree_base",
    "tree_base_of",
]

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


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
) -> list[str]:
    """Remove the now-empty directories between each moved file ``(path, base)`` and its ``base`` (not the
    base itself), deepest first. ``remove_dir`` must refuse a non-empty directory (rmdir, a collection
    removed without recursion): such a branch stays. Returns what was removed."""
    candidates: set[str] = set()
    for path, base in moved:
        if base is None:
            continue
        prefix = base.rstrip("/") + "/"
        directory = dirname(path)
        while directory.startswith(prefix) and directory not in candidates:
            candidates.add(directory)
            directory = dirname(directory)
    removed: list[str] = []
    for directory in sorted(candidates, key=lambda d: (d.count("/"), d), reverse=True):
        try:
            remove_dir(directory)
        except (OSError, IrodsError) as exc:  # not empty (a file kept, another writer), or gone
            log.debug("keeping %s: %s", directory, exc)
            continue
        removed.append(directory)
    return removed


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
