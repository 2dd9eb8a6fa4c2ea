"""Tree and pattern downloads leave out the data objects that cannot be read now, and say so.

An object another client is still writing has no good replica until that write closes (iRODS 4.2.9+ makes
the replica written intermediate and its siblings write-locked), and one whose last write failed has only
stale replicas: neither can be read (the HTTP API's stat answers SYS_NO_GOOD_REPLICA, its read 500). A
download of ``run_*/*.h5`` while the instrument writes the next file copies the complete ones and leaves
that one for the next run: it is reported as skipped with the reason and logged, and the transfer does
not fail. A file named by itself is not left out: its typed error (IrodsLockedError) is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from irods_provider.client._locks import is_no_good_replica
from irods_provider.client._models import LOCKED_STATUSES
from irods_provider.exceptions import IrodsError, IrodsLockedError, IrodsResponseError

from ._api import ReplicaLike, SessionLike
from ._plan import LeftOut, PlannedFile
from ._report import FileResult, FileStatus, TransferReport

__all__ = [
    "BEING_WRITTEN",
    "NO_GOOD_REPLICA",
    "is_left_out",
    "leaving_out",
    "left_out_hint",
    "report_left_out",
    "unreadable_reason",
]

log = logging.getLogger(__name__)

#: The report's reason for an object another client is still writing.
BEING_WRITTEN = (
    "being written by another client (no good replica until that write closes): left for a later run"
)
#: The report's reason for an object whose replicas are all stale.
NO_GOOD_REPLICA = "no good replica (its last write failed): nothing to read"


def unreadable_reason(replicas: Sequence[ReplicaLike]) -> str | None:
    """Why an object with these replicas cannot be read now (None: it has a good one, or none are known)."""
    statuses = {r.status for r in replicas}
    if not statuses or "1" in statuses:
        return None
    return BEING_WRITTEN if statuses & LOCKED_STATUSES else NO_GOOD_REPLICA


def is_left_out(result: FileResult) -> bool:
    """Whether ``result`` reports a file left out because it could not be read."""
    return result.status is FileStatus.SKIPPED and result.reason in (BEING_WRITTEN, NO_GOOD_REPLICA)


def _result(item: PlannedFile, reason: str) -> FileResult:
    return FileResult(
        source=item.source, destination=item.destination, status=FileStatus.SKIPPED, size=None, reason=reason
    )


def leaving_out(
    item: PlannedFile, run: Callable[[], FileResult], *, session: SessionLike | None = None
) -> FileResult:
    """``run()`` the copy of ``item``; a member of a tree or pattern (``item.base``) found without a good
    replica when its copy runs (another client began writing it after the plan) is left out as skipped,
    like the ones the plan left out; a file named by itself raises. A failure that does not say so itself
    (a read answered 500) is checked against the object's replicas when ``session`` is given."""
    try:
        return run()
    except IrodsResponseError as exc:
        reason = None if item.base is None else _reason(exc, item.source, session)
        if reason is None:
            raise
        log.warning("leaving out %s: %s", item.source, reason)
        return _result(item, reason)


def _reason(error: IrodsResponseError, path: str, session: SessionLike | None) -> str | None:
    """Why ``error`` means ``path`` cannot be read now (None: it does not)."""
    if isinstance(error, IrodsLockedError):
        return BEING_WRITTEN
    if is_no_good_replica(error):
        return NO_GOOD_REPLICA
    if session is None:
        return None
    try:
        return unreadable_reason(session.data_objects.replicas(path))
    except IrodsError:
        return None


def report_left_out(
    report: TransferReport, left: Iterable[LeftOut], *, logger: logging.Logger | None = None
) -> TransferReport:
    """``report`` with the files the plan left out added as skipped (each with its reason), logged."""
    added = [_result(x.file, x.reason) for x in left]
    if added:
        names = [
            f"{r.source} ({'being written' if r.reason == BEING_WRITTEN else 'no good replica'})"
            for r in added
        ]
        more = f" and {len(added) - 10} more" if len(added) > 10 else ""
        (logger or log).warning(
            "Left out %d file(s) that cannot be read now: %s%s", len(added), ", ".join(names[:10]), more
        )
        report.files.extend(added)
    return report


def left_out_hint(left: Sequence[LeftOut] | Sequence[FileResult]) -> str:
    """What an empty selection's error adds about the files left out (``""`` when none was)."""
    if not left:
        return ""
    names = [x.file.source if isinstance(x, LeftOut) else x.source for x in left]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return (
        f"; {len(names)} matching data object(s) cannot be read yet (being written by another client, or "
        f"left without a good replica by a failed write): {', '.join(names[:5])}{more}"
    )
