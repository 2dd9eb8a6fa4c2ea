"""Housekeeping of the transfer engine's leftovers: abandoned temporary objects under a collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from irods_provider.exceptions import (
    IrodsError,
    IrodsLockedError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.operators._base import IrodsBaseOperator, check_path, path_kind, refuse_empty_segment
from irods_provider.operators._bounded import (
    MAX_REPORT_BYTES,
    attach_manifest,
    bounded_entries,
    check_budget,
    check_manifest_path,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession, TemporaryCleanup

__all__ = ["IrodsCleanupTemporaryObjectsOperator"]

#: One day: longer than any upload should run (a recorded handle of a running upload would be shut down).
DEFAULT_MIN_AGE_SECONDS = 24 * 3600


class IrodsCleanupTemporaryObjectsOperator(IrodsBaseOperator):
    """Remove abandoned ``.<name>.irods-part-<key>[.<ext>]`` / ``.<name>.irods-old-<key>`` objects under a
    collection.

    Only temporaries whose mtime is at least ``min_age_seconds`` old by the server's clock are touched (a
    worker's clock may be minutes off the server's); younger ones, ones whose writer still renews its lease
    (an upload resuming an old temporary) and all other objects stay. Parallel-write handles recorded on a
    temporary are shut down, then it is removed for good (``no_trash``: quota is freed; its resume and
    handle AVUs go with it). A temporary still locked by a
    handle that was never recorded (a worker killed at that moment; the server holds it until restart) is
    reported under ``locked`` and left in place, as a rename would only hide it; ``fail_on_locked`` fails
    the task then. An old version an overwrite had moved aside (``.irods-old-<key>``, ``<key>`` one writer's
    own, ``<transfer>-<nonce>``, or one per path before) whose final name is empty (a worker killed between
    the overwrite's two renames) is renamed back onto it, reported under ``restored``.
    An overwrite in place's backup (``.irods-keep-``) is removed once its path holds, whole, the content it
    recorded from before or after that overwrite (a worker killed before removing it), or other content in
    a good replica (written since); any other backup may be the only good copy: kept and reported under
    ``failed``, which fails the task for a person to look.
    Returns ``{"path", "dry_run", "removed_count", "bytes_removed", "restored_count", "locked_count",
    "failed_count", "fresh_count", "removed", "restored", "locked", "failed", "truncated"}``; the lists stop
    at ``max_report_bytes`` of JSON (counts are always complete).

    Example:

    ```python
    from irods_provider.operators.cleanup import IrodsCleanupTemporaryObjectsOperator

    sweep = IrodsCleanupTemporaryObjectsOperator(
        task_id="sweep",
        path="/tempZone/home/alice",
        min_age_seconds=2 * 24 * 3600,
    )
    ```

    :param path: the collection to clean (recursively); one with an empty segment (a trailing ``/`` or
        ``//``: a template part that rendered empty, which would clean the parent) is refused.
    :param min_age_seconds: minimum age by modify time (default one day; must exceed the longest upload).
    :param plan_only: a dry run: report what would be removed, remove nothing (named so because
        ``BaseOperator.dry_run()`` is a method).
    :param fail_on_locked: fail when a temporary is locked (default: report it).
    :param max_report_bytes: JSON budget of the per-object lists in XCom (default 48 KiB).
    :param manifest_path: an iRODS path where every temporary (with its ``outcome``) is written as JSON
        lines (atomic, verified, overwritten) when the XCom lists are cut; the result then names it as
        ``manifest``. Templated.
    """

    template_fields: Sequence[str] = ("path", "manifest_path", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        min_age_seconds: float = DEFAULT_MIN_AGE_SECONDS,
        plan_only: bool = False,
        fail_on_locked: bool = False,
        max_report_bytes: int = MAX_REPORT_BYTES,
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.min_age_seconds = min_age_seconds
        self.plan_only = plan_only
        self.fail_on_locked = fail_on_locked
        self.max_report_bytes = max_report_bytes
        self.manifest_path = manifest_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = check_path("path", refuse_empty_segment(self.path, "path"))
        budget = check_budget(self.max_report_bytes)
        manifest = check_manifest_path(self.manifest_path)
        age = self.min_age_seconds
        if isinstance(age, bool) or not isinstance(age, int | float) or age < 0:
            raise IrodsUsageError(f"min_age_seconds must be a number >= 0, got {age!r}", path=path)
        found = path_kind(session, path)
        if found != "collection":
            error = IrodsNotFoundError if found is None else IrodsNotACollectionError
            raise error(f"no collection at this path ({found or 'nothing'} there)", path=path)
        collections = session.collections
        cleanup = collections.remove_temporaries(path, min_age=float(age), dry_run=bool(self.plan_only))
        self.log.info(
            "%s %d abandoned temporaries under %s (%d bytes); %d restored onto their empty final names, "
            "%d locked, %d failed, %d younger than %s s",
            "Would remove" if cleanup.dry_run else "Removed",
            len(cleanup.removed),
            path,
            cleanup.bytes_removed,
            len(cleanup.restored),
            len(cleanup.locked),
            len(cleanup.failed),
            cleanup.fresh,
            age,
        )
        self._raise_for(cleanup)
        result = _report(cleanup, budget)
        entries = (
            {**t.to_dict(), "outcome": name}
            for name in ("locked", "failed", "restored", "removed")
            for t in getattr(cleanup, name)
        )
        return attach_manifest(
            result,
            session=session,
            manifest_path=manifest,
            truncated=bool(result["truncated"]),
            entries=entries,
            log=self.log,
        )

    def _raise_for(self, cleanup: TemporaryCleanup) -> None:
        """Fail on temporaries that could not be removed (and locked ones when ``fail_on_locked``)."""
        if cleanup.failed:
            first = cleanup.failed[0]
            raise IrodsError(
                f"{len(cleanup.failed)} temporar(ies) under {cleanup.path} could not be removed "
                f"(first: {first.path}: {first.error})",
                path=first.path,
            )
        if cleanup.locked and self.fail_on_locked:
            first = cleanup.locked[0]
            raise IrodsLockedError(
                f"{len(cleanup.locked)} temporar(ies) under {cleanup.path} are locked by parallel-write "
                f"handles nobody recorded (first: {first.path}); remove them after the server restarts",
                operation="collections.remove_temporaries",
                path=first.path,
            )


def _report(cleanup: TemporaryCleanup, budget: int) -> dict[str, Any]:
    """The XCom result with per-object lists bounded by ``budget`` bytes of JSON."""
    lists: dict[str, list[dict[str, Any]]] = {}
    truncated = False
    for name in ("locked", "failed", "restored", "removed"):  # the ones that need attention first
        items = [t.to_dict() for t in getattr(cleanup, name)]
        lists[name], budget = bounded_entries(items, budget)
        truncated = truncated or len(lists[name]) < len(items)
    return {
        "path": cleanup.path,
        "dry_run": cleanup.dry_run,
        "removed_count": len(cleanup.removed),
        "bytes_removed": cleanup.bytes_removed,
        "restored_count": len(cleanup.restored),
        "locked_count": len(cleanup.locked),
        "failed_count": len(cleanup.failed),
        "fresh_count": cleanup.fresh,
        **lists,
        "truncated": truncated,
    }
