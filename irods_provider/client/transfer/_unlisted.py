"""What a tree's plan set aside is reported, never dropped silently.

A directory below a tree's root that cannot be listed (permission denied): with ``continue_on_error`` the
rest of the tree still goes and the directory is one FAILED entry of the report, its typed error naming it
(as rsync goes on and exits 23, "some files could not be transferred"); the run then fails like for any
failed file. A file named like a staging temporary of this provider (``.<name>.irods-part-<hex>``) is never
uploaded (a run would take an in-flight copy for a source): it is SKIPPED with :data:`TEMPORARY_LIKE`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._plan import PlannedFile, Unlisted
from ._report import FileResult, FileStatus, TransferReport

__all__ = ["TEMPORARY_LIKE", "report_temporary_like", "unlistable", "with_unlisted"]

log = logging.getLogger(__name__)

#: The report's reason for a file named like a staging temporary of this provider.
TEMPORARY_LIKE = "looks like a staging temporary of this provider (.<name>.irods-part-<hex>): not uploaded"

SKIPPED = FileStatus.SKIPPED


def unlistable(error: BaseException) -> bool:
    """Whether a directory that could not be listed with ``error`` is a failure of its own (permission
    denied), the rest of the tree going on, rather than the end of the plan (a lost connection, say)."""
    return isinstance(error, PermissionError)


def with_unlisted(
    files: Sequence[PlannedFile], unlisted: Sequence[Unlisted], one: Callable[..., FileResult]
) -> tuple[list[PlannedFile], Callable[..., FileResult]]:
    """``files`` followed by the directories that could not be listed, and ``one`` that raises each one's
    error (a copy per call: threads never share one traceback), so the runner reports it FAILED."""
    if not unlisted:
        return list(files), one
    errors = {u.file.source: u.error for u in unlisted}

    def run(item: PlannedFile, *args: Any) -> FileResult:
        if (error := errors.get(item.source)) is not None:
            raise copy.copy(error)
        return one(item, *args)

    return [*files, *(u.file for u in unlisted)], run


def report_temporary_like(
    report: TransferReport, files: Iterable[PlannedFile], *, logger: logging.Logger | None = None
) -> TransferReport:
    """``report`` with the files named like a staging temporary added as SKIPPED (:data:`TEMPORARY_LIKE`),
    each named in a warning."""
    added = [
        FileResult(source=f.source, destination=f.destination, status=SKIPPED, reason=TEMPORARY_LIKE)
        for f in files
    ]
    for result in added:
        (logger or log).warning("Not uploading %s: it %s", result.source, TEMPORARY_LIKE)
    report.files.extend(added)
    return report
