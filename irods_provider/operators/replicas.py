"""Operators for storage resources: replicate data objects to a resource, trim replicas from one.

Both act on one data object or on every data object below a collection. They plan from the catalog
first (one GenQuery listing with replicas) and refuse bad input before changing anything: an unknown
resource, a replica number that is not a number, or a trim that would leave some object without a
good replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from irods_provider._error_codes import error_code
from irods_provider.client import Kinds, Replica
from irods_provider.client._genquery import match_condition
from irods_provider.exceptions import IrodsNotFoundError, IrodsUsageError
from irods_provider.operators._base import (
    IrodsBaseOperator,
    check_path,
    check_replica_number,
    check_resource,
    path_kind,
    refuse_empty_segment,
)
from irods_provider.operators._bounded import MAX_REPORT_BYTES, bounded_entries, check_budget

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = ["IrodsReplicateOperator", "IrodsTrimOperator", "ReplicateResult", "TrimResult"]


class ReplicateResult(TypedDict):
    """What :class:`IrodsReplicateOperator` returns (XCom)."""

    path: str
    resource: str
    replicated: list[str]
    """Objects that got a new or refreshed good replica on ``resource``."""
    already_good: list[str]
    """Objects whose replicas on ``resource`` were all good already (no request sent)."""
    replicated_count: int
    already_good_count: int
    truncated: bool
    """Whether the lists were cut to ``max_report_bytes`` (the counts are complete)."""


class TrimmedReplica(TypedDict):
    """One replica removed (or unregistered) by :class:`IrodsTrimOperator`."""

    path: str
    replica_number: int
    hierarchy: str


class TrimResult(TypedDict):
    """What :class:`IrodsTrimOperator` returns (XCom)."""

    path: str
    resource: str | None
    replica_number: int | None
    trimmed: list[TrimmedReplica]
    untouched: list[str]
    """Objects with no replica matching the selection."""
    trimmed_count: int
    untouched_count: int
    truncated: bool
    """Whether the lists were cut to ``max_report_bytes`` (the counts are complete)."""


def _refuse_losing_last_good(plan: dict[str, list[Replica]], objects: dict[str, tuple[Replica, ...]]) -> None:
    """Raise IrodsUsageError (before anything is trimmed) if a trim would leave an object no good replica."""
    orphaned = [
        obj for obj, chosen in plan.items() if not any(r.good and r not in chosen for r in objects[obj])
    ]
    if orphaned:
        shown = ", ".join(orphaned[:5]) + (f" and {len(orphaned) - 5} more" if len(orphaned) > 5 else "")
        raise IrodsUsageError(
            f"refusing to trim: {len(orphaned)} object(s) would keep no good replica: {shown}; "
            "replicate them elsewhere first"
        )


def _bound_lists(result: Any, keys: Sequence[str], budget: int) -> None:
    """Cut the lists of ``result`` named by ``keys`` to their leading entries within ``budget`` bytes of
    JSON (one budget, in order), setting ``<key>_count`` (complete) and ``truncated``."""
    truncated = False
    for key in keys:
        entries = result[key]
        kept, budget = bounded_entries(entries, budget)
        result[f"{key}_count"] = len(entries)
        truncated = truncated or len(kept) < len(entries)
        result[key] = kept
    result["truncated"] = truncated


class _ReplicaOperatorBase(IrodsBaseOperator):
    """Path resolution shared by both operators: one object, or every object below a collection; the XCom
    result's lists bounded by ``max_report_bytes`` of JSON (default 48 KiB; counts complete)."""

    def __init__(
        self,
        *,
        path: str,
        recursive: bool = True,
        admin: bool = False,
        max_report_bytes: int = MAX_REPORT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.recursive = recursive
        self.admin = admin
        self.max_report_bytes = max_report_bytes

    def objects(self, session: IrodsSession, path: str) -> dict[str, tuple[Replica, ...]]:
        """Every data object the operator acts on, with its replicas (IrodsNotFoundError if none)."""
        kind = path_kind(session, path)
        if kind is None:
            raise IrodsNotFoundError(
                "no collection or data object at this path", operation="replicas", path=path
            )
        if kind == "data_object":
            return {path: tuple(session.data_objects.replicas(path))}
        entries = session.collections.iterate(
            path, recursive=bool(self.recursive), kinds=Kinds.DATA_OBJECTS, with_stat=True
        )
        return {entry.path: entry.replicas for entry in entries}

    @staticmethod
    def require_resource(session: IrodsSession, resource: str, *, operation: str, path: str) -> None:
        """Raise IrodsNotFoundError (SYS_RESC_DOES_NOT_EXIST, naming ``path``, the operation's target) unless
        the catalog of the zone owning ``path`` knows ``resource``. No HTTP status: the catalog query
        answered, no request was refused.

        Each zone of a federation has its own resources and the server replicates an object of zone B onto
        zone B's resources, so the question goes to zone B's catalog (the ``zone`` hint, as for listings).
        """
        query = f"select RESC_NAME where {match_condition('RESC_NAME', resource)[0]}"
        zone = session.query.zone_for(path)
        if not any(row[0] == resource for row in session.query.genquery(query, zone=zone)):
            where = f"zone {zone!r}" if zone else "the local zone"
            raise IrodsNotFoundError(
                f"resource {resource!r} does not exist in {where} (no RESC_NAME row in its catalog)",
                irods_code=error_code("SYS_RESC_DOES_NOT_EXIST"),
                operation=operation,
                path=path,
            )


class IrodsReplicateOperator(_ReplicaOperatorBase):
    """Make a good replica of a data object (or of every object below a collection) on a resource.

    Objects whose replicas on ``resource`` are all good already are left alone, so re-runs are cheap.
    An unknown resource fails before any object is touched (SYS_RESC_DOES_NOT_EXIST); a child resource
    of a hierarchy is refused by the server (DIRECT_CHILD_ACCESS). Returns a :class:`ReplicateResult`.

    Example:

    ```python
    from irods_provider.operators.replicas import IrodsReplicateOperator

    to_archive = IrodsReplicateOperator(
        task_id="to_archive",
        path="/tempZone/home/alice/runs/{{ ds }}",
        resource="archiveResc",
    )
    ```

    :param path: a data object or a collection.
    :param resource: the root resource to replicate to (e.g. an archive or a replication resource).
    :param source_resource: replicate from the replica on this root resource (default: the newest good).
    :param source_replica_number: or from this replica number.
    :param recursive: for a collection, include sub-collections (default) or only its direct objects.
    :param admin: act as rodsadmin on objects the connection's user has no permission on.
    :param max_report_bytes: at most this many bytes of JSON of paths go to XCom (the leading ones; default
        48 KiB); the ``*_count`` fields are always complete and ``truncated`` says whether paths were cut.
    """

    template_fields: Sequence[str] = (
        "path",
        "resource",
        "source_resource",
        "source_replica_number",
        "irods_conn_id",
    )
    ui_color = "#5b8c5a"

    def __init__(
        self,
        *,
        resource: str,
        source_resource: str | None = None,
        source_replica_number: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.source_resource = source_resource
        self.source_replica_number = source_replica_number

    def run(self, session: IrodsSession, context: Context) -> ReplicateResult:
        path = check_path("path", self.path)
        budget = check_budget(self.max_report_bytes)
        resource = check_resource("resource", self.resource)
        if resource is None:
            raise IrodsUsageError("resource is required: the root resource to replicate to")
        source = check_resource("source_resource", self.source_resource)
        number = check_replica_number("source_replica_number", self.source_replica_number)
        if source is not None and number is not None:
            raise IrodsUsageError("give source_resource or source_replica_number, not both")
        self.require_resource(session, resource, operation="data_objects.replicate", path=path)
        result = ReplicateResult(
            path=path,
            resource=resource,
            replicated=[],
            already_good=[],
            replicated_count=0,
            already_good_count=0,
            truncated=False,
        )
        for obj, replicas in sorted(self.objects(session, path).items()):
            on_target = [r for r in replicas if r.root == resource]
            if on_target and all(r.good for r in on_target):
                result["already_good"].append(obj)
                continue
            session.data_objects.replicate(
                obj, resource, src_resource=source, src_replica_number=number, admin=bool(self.admin)
            )
            result["replicated"].append(obj)
        self.log.info(
            "Replicated %d object(s) to %s (%d already good there)",
            len(result["replicated"]),
            resource,
            len(result["already_good"]),
        )
        _bound_lists(result, ("replicated", "already_good"), budget)
        return result


class IrodsTrimOperator(_ReplicaOperatorBase):
    """Remove replicas of a data object (or of every object below a collection) by resource or number.

    ``resource`` selects every replica whose hierarchy contains that resource (a root such as a
    replication resource, or one leaf); ``replica_number`` selects that replica. The whole plan is
    checked first: if any object would be left without a good replica, nothing is trimmed and
    IrodsUsageError names those objects. Returns a :class:`TrimResult`.

    Example:

    ```python
    from irods_provider.operators.replicas import IrodsTrimOperator

    free_fast_disk = IrodsTrimOperator(
        task_id="free_fast_disk",
        path="/tempZone/home/alice/runs/{{ ds }}",
        resource="fastResc",
    )
    ```

    :param path: a data object or a collection; one with an empty segment (a trailing ``/`` or ``//``: a
        template part that rendered empty, which would trim the parent collection) is refused.
    :param resource: trim the replicas on this resource ...
    :param replica_number: ... or the replica with this number (give exactly one of the two).
    :param catalog_only: unregister the replicas, leaving their files on the storage.
    :param recursive: for a collection, include sub-collections (default) or only its direct objects.
    :param admin: act as rodsadmin on objects the connection's user has no permission on.
    :param max_report_bytes: at most this many bytes of JSON of paths go to XCom (the leading ones; default
        48 KiB); the ``*_count`` fields are always complete and ``truncated`` says whether paths were cut.
    """

    template_fields: Sequence[str] = ("path", "resource", "replica_number", "irods_conn_id")
    ui_color = "#8c5a5a"

    def __init__(
        self,
        *,
        resource: str | None = None,
        replica_number: int | str | None = None,
        catalog_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.replica_number = replica_number
        self.catalog_only = catalog_only

    def _selector(self) -> tuple[str | None, int | None]:
        resource = check_resource("resource", self.resource)
        number = check_replica_number("replica_number", self.replica_number)
        if (resource is None) == (number is None):
            raise IrodsUsageError("give exactly one of resource or replica_number")
        return resource, number

    def run(self, session: IrodsSession, context: Context) -> TrimResult:
        path = check_path("path", refuse_empty_segment(self.path, "path"))
        budget = check_budget(self.max_report_bytes)
        resource, number = self._selector()
        if resource is not None:
            self.require_resource(session, resource, operation="data_objects.trim", path=path)
        objects = self.objects(session, path)
        plan: dict[str, list[Replica]] = {}
        untouched: list[str] = []
        for obj, replicas in sorted(objects.items()):
            chosen = [
                r
                for r in replicas
                if (resource is not None and resource in r.hierarchy.split(";")) or r.number == number
            ]
            if chosen:
                plan[obj] = chosen
            else:
                untouched.append(obj)
        _refuse_losing_last_good(plan, objects)
        result = TrimResult(
            path=path,
            resource=resource,
            replica_number=number,
            trimmed=[],
            untouched=untouched,
            trimmed_count=0,
            untouched_count=0,
            truncated=False,
        )
        for obj, chosen in plan.items():
            for replica in chosen:
                session.data_objects.trim(
                    obj, replica.number, catalog_only=bool(self.catalog_only), admin=bool(self.admin)
                )
                result["trimmed"].append(
                    TrimmedReplica(path=obj, replica_number=replica.number, hierarchy=replica.hierarchy)
                )
        self.log.info("Trimmed %d replica(s) of %d object(s)", len(result["trimmed"]), len(plan))
        _bound_lists(result, ("trimmed", "untouched"), budget)
        return result
