"""The directories of a tree copy: created at the destination before any file, empty ones included.

A tree copy (a directory or collection named without ``pattern=``) reproduces the source's directories as
``sftp -r``, ``iput -r`` and ``rsync -r`` do, so a job's empty ``logs/`` or ``checkpoints/`` is there for the
next step. Each is created idempotently (one already there is fine); a file or data object where one must go
is a typed error naming it, raised before any byte moves. The collection create of the HTTP API answers
``created: false`` for a data object as for a collection (irods_client_http_api 0.7.0
endpoints/collections/src/main.cpp:332-349: ``fs::client::exists``), so that case is told apart by asking.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsNotACollectionError

from ._api import SessionLike
from ._localdir import TargetDir
from ._plan import PlannedDirectory
from ._report import DirectoryResult, DirectoryStatus

__all__ = ["create_irods_directories", "directory_results", "leaf_directories", "make_local_directories"]


def directory_results(directories: Iterable[PlannedDirectory], *, dry_run: bool) -> list[DirectoryResult]:
    """The report's entries of a tree copy's directories: planned in a dry run, else present."""
    status = DirectoryStatus.PLANNED if dry_run else DirectoryStatus.PRESENT
    return [DirectoryResult(source=d.source, destination=d.destination, status=status) for d in directories]


def leaf_directories(paths: Iterable[str], *, existing: Iterable[str] = ()) -> list[str]:
    """The deepest of ``paths`` (sorted): creating each with its parents creates them all, one request per
    branch instead of one per level; ``existing`` (known to be there) is left out."""
    wanted = set(paths) - set(existing)
    above: set[str] = set()
    for path in wanted:
        parent = posixpath.dirname(path)
        while parent not in above and parent not in ("/", ""):
            above.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(wanted - above)


def not_a_collection(
    path: str, operation: str, cause: BaseException | None = None
) -> IrodsNotACollectionError:
    """The error of a data object where a tree copy's collection must go (nothing was copied)."""
    error = IrodsNotACollectionError(
        "a data object is where a collection of the tree must be created; nothing was copied",
        operation=operation,
        path=path,
    )
    error.__cause__ = cause
    return error


def create_irods_directories(session: SessionLike, collections: Iterable[str], *, operation: str) -> None:
    """Create the collections of a tree copy (parents with them), one request per branch; raises
    IrodsNotACollectionError naming a data object in the way (before any file is copied)."""
    for leaf in leaf_directories(collections):
        try:
            session.collections.create(leaf, intermediates=True, exist_ok=True)
        except IrodsAlreadyExistsError as exc:  # created: false, and no collection there
            raise not_a_collection(leaf, operation, exc) from exc


def make_local_directories(
    directories: Sequence[PlannedDirectory], root: str | os.PathLike[str], *, operation: str
) -> None:
    """Create the local directories of a tree copy below ``root``, parents first, never through a symbolic
    link (:class:`~._localdir.TargetDir`); a file in the way is IrodsNotADirectoryError naming it."""
    for leaf in leaf_directories(d.destination for d in directories):
        with TargetDir(Path(leaf) / "-", root, operation=operation) as target:  # opens ``leaf`` itself
            target.open(create=True)
