"""Publishing a dataset: a collection copied or moved into a target scope, with AVUs and ACLs per object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from irods_provider._lineage import TransferLineageMixin, irods_dataset
from irods_provider._values import parse_avus, refuse_unaddressable, rendered_mapping
from irods_provider.client import AVU, EntryKind, Kinds, MetadataOperation, PermissionOperation
from irods_provider.client._locks import unreadable_error
from irods_provider.client._ops_fs import remote_atomic_refusal
from irods_provider.client.transfer import FileResult, FileStatus, TransferReport
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.operators._base import (
    CancellableMixin,
    IrodsBaseOperator,
    check_choice,
    check_path,
    into_target,
    is_retry,
    path_kind,
    refuse_empty_segment,
)
from irods_provider.operators._bounded import (
    MAX_REPORT_BYTES,
    attach_manifest,
    check_budget,
    check_manifest_path,
    tree_report,
)
from irods_provider.operators.catalog import PERMISSIONS

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import Entry, IrodsSession

__all__ = ["IrodsPublishOperator"]


def _acls(value: Any) -> list[PermissionOperation]:
    """``{"user_or_group": <an iRODS 4.3 permission name>}``: ``read_object``, ``modify_object``, ``own``,
    ``null`` (remove), the finer levels such as ``modify_metadata``, or the ``read``/``write`` aliases."""
    value = rendered_mapping("permissions", value)
    if value is None or value == {}:
        return []
    if not isinstance(value, dict):
        raise IrodsUsageError(f"permissions must be a mapping user/group -> permission, got {value!r}")
    acls = []
    for entity, permission in value.items():
        if not isinstance(entity, str) or not entity.strip():
            raise IrodsUsageError(f"permissions: {entity!r} is not a user or group name")
        acl = check_choice(f"permissions[{entity!r}]", permission, PERMISSIONS)
        acls.append(PermissionOperation(entity.strip(), acl))
    return acls


class IrodsPublishOperator(CancellableMixin, TransferLineageMixin, IrodsBaseOperator):
    """Copy (server side) or move a collection into a target scope and give every object AVUs and ACLs.

    ``mode="copy"`` copies the tree to ``destination_path`` (skip/overwrite as :class:`IrodsCopyOperator`);
    ``mode="move"`` renames the collection there in one call (the destination must not exist). Either mode
    publishes a dataset whole: a member without a good replica (being written, or its write failed) refuses
    it before anything changes (IrodsLockedError, or SYS_NO_GOOD_REPLICA, naming the member). Then every
    published data object gets ``metadata`` in ONE atomic ``modify_metadata`` call (AVUs it already carries
    are not added twice) and ``permissions`` in ONE atomic ``modify_permissions`` call; the collections of
    the tree get the permissions too, so the audience can browse them. In copy mode each object is copied
    under a hidden temporary name, gets its AVUs and ACLs there and is then renamed into place, so it appears
    complete; objects skipped as already there, and moved ones, get them in place. The ACLs are set before
    the rename, so do not take ``own`` away from the publishing user itself (the rename needs it).
    Every argument is checked before anything changes; ``metadata`` or ``permissions`` for a destination in
    a federated zone are refused then (IrodsUsageError), as iRODS applies atomic calls to the local catalog.
    Returns ``{"source", "destination", "mode",
    "published", "collections", "transferred", "skipped", "failed", "bytes", "seconds", "dry_run",
    "file_count", "files", "files_truncated"}`` with ``files`` bounded by ``max_report_bytes`` of JSON.

    Example:

    ```python
    from irods_provider.operators.publish import IrodsPublishOperator

    publish = IrodsPublishOperator(
        task_id="publish",
        source_path="/tempZone/home/alice/results/{{ ds }}",
        destination_path="/tempZone/public/results/{{ ds }}",
        metadata={"published": "{{ ds }}"},
        permissions={"public": "read_object"},
    )
    ```

    :param source_path: the collection to publish (one with an empty segment, a trailing ``/`` or ``//``:
        a template part that rendered empty, is refused).
    :param destination_path: the published collection's path (e.g. under a project or public scope);
        ending in ``/``, the scope to publish into: ``.../public/`` publishes ``results/run1`` as
        ``.../public/run1``.
    :param mode: ``copy`` (default) or ``move``. A retried move whose earlier try renamed the collection
        (source gone, destination there) finishes its AVUs and ACLs instead of failing.
    :param metadata: AVUs for every object, as :class:`IrodsPutMetadataOperator` takes them.
    :param permissions: ``{"public": "read_object", "curators": "modify_object"}`` (``own``, ``null`` and
        the finer 4.3 levels such as ``modify_metadata`` too).
    :param overwrite: copy mode: replace existing destination objects.
    :param skip: copy mode: ``never``, ``exists``, ``size`` or ``checksum``.
    :param max_concurrent_files: objects copied and published at once.
    :param max_report_bytes: JSON budget of ``files`` in XCom (default 48 KiB).
    :param manifest_path: an iRODS path where the full list is written as JSON lines (atomic, verified,
        overwritten) when the XCom lists are cut; the result then names it as ``manifest``. Templated.
    """

    template_fields: Sequence[str] = (
        "source_path",
        "destination_path",
        "metadata",
        "permissions",
        "manifest_path",
        "irods_conn_id",
    )
    template_fields_renderers = {"metadata": "json", "permissions": "json"}

    def __init__(
        self,
        *,
        source_path: str,
        destination_path: str,
        mode: str = "copy",
        metadata: Any = None,
        permissions: dict[str, str] | None = None,
        overwrite: bool = False,
        skip: str = "never",
        max_concurrent_files: int = 4,
        max_report_bytes: int = MAX_REPORT_BYTES,
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.destination_path = destination_path
        self.mode = mode
        self.metadata = metadata
        self.permissions = permissions
        self.overwrite = overwrite
        self.skip = skip
        self.max_concurrent_files = max_concurrent_files
        self.max_report_bytes = max_report_bytes
        self.manifest_path = manifest_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        source = check_path("source_path", refuse_empty_segment(self.source_path, "source_path"))
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        destination = into_target(self.destination_path, source, destination)[0]
        mode = check_choice("mode", self.mode, ("copy", "move"))
        avus = [AVU(a, v, u) for a, v, u in parse_avus(self.metadata, allow_empty=True)]
        acls = _acls(self.permissions)
        if (avus or acls) and (zone := session.query.zone_for(destination)) is not None:
            raise remote_atomic_refusal("publish", destination, zone)  # atomic calls: before any change
        budget = check_budget(self.max_report_bytes)
        manifest = check_manifest_path(self.manifest_path)
        workers = self.max_concurrent_files
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise IrodsUsageError(f"max_concurrent_files must be a positive integer, got {workers!r}")
        moved = self._moved_by_an_earlier_try(session, source, destination, mode, context)

        def finish(path: str) -> None:
            _publish_object(session, path, avus, acls)

        if mode == "move":
            report = self._move(session, source, destination, moved=moved)
            later = [f.destination for f in report.files]
        else:
            report = self._copy(session, source, destination, workers, finish)
            later = [f.destination for f in report.files if f.status is FileStatus.SKIPPED]
        published = [
            f.destination for f in report.files if f.status in (FileStatus.TRANSFERRED, FileStatus.SKIPPED)
        ]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irods-publish") as pool:
            list(pool.map(finish, later))  # copied objects got theirs before they appeared
        collections = _grant_collections(session, destination, acls)
        self.log.info("Published %d object(s) from %s to %s (%s)", len(published), source, destination, mode)
        self.record_transfer_lineage(
            [(irods_dataset(source), irods_dataset(destination))], hook=self.hook, context=context
        )
        result = {
            "source": source,
            "destination": destination,
            "mode": mode,
            "published": len(published),
            "collections": collections,
            **tree_report(report, budget),
        }
        return attach_manifest(
            result,
            session=session,
            manifest_path=manifest,
            truncated=bool(result["files_truncated"]),
            entries=(f.to_dict() for f in report.files),
            log=self.log,
        )

    def _copy(
        self,
        session: IrodsSession,
        source: str,
        destination: str,
        workers: int,
        finish: Callable[[str], None],
    ) -> TransferReport:
        """The server-side tree copy; each object is finished under a hidden name, then renamed into place."""
        from irods_provider.client.transfer import OverwritePolicy, SkipPolicy, TransferConfig
        from irods_provider.client.transfer._tree import copy_collection

        skip = SkipPolicy(check_choice("skip", self.skip, tuple(p.value for p in SkipPolicy)))
        return copy_collection(
            session,
            source,
            destination,
            config=TransferConfig(max_concurrent_files=workers, resource=self.write_resource()),
            overwrite=OverwritePolicy.OVERWRITE if self.overwrite else OverwritePolicy.REFUSE,
            skip=skip,
            after_copy=finish,
            cancel_event=self.cancel_event,
            leave_out=False,  # a dataset is published whole: a member without a good replica refuses it
        )

    def _moved_by_an_earlier_try(
        self, session: IrodsSession, source: str, destination: str, mode: str, context: Context
    ) -> bool:
        """Whether the source collection is there (False), or gone because an earlier try of this move
        renamed it onto ``destination`` (True: this retry finishes its AVUs and ACLs); otherwise raise."""
        found = path_kind(session, source)
        if found == "collection":
            return False
        retried_move = found is None and mode == "move" and is_retry(context)
        if retried_move and path_kind(session, destination) == "collection":
            self.log.warning("%s is gone and %s there: an earlier try moved it", source, destination)
            return True
        error = IrodsNotFoundError if found is None else IrodsNotACollectionError
        raise error("no collection to publish at this path", operation="publish", path=source)

    def _move(
        self, session: IrodsSession, source: str, destination: str, *, moved: bool = False
    ) -> TransferReport:
        """One rename of the whole collection (none when an earlier try ``moved`` it); the report lists its
        objects at their new paths."""
        if self.overwrite or self.skip != "never":
            raise IrodsUsageError('overwrite and skip apply to mode="copy" only')
        if destination.startswith(source.rstrip("/") + "/"):
            raise IrodsUsageError("cannot move a collection into itself", path=destination)
        if not moved and path_kind(session, destination) is not None:
            raise IrodsAlreadyExistsError(
                "the destination of a move exists", operation="publish", path=destination
            )
        if not moved:
            for member in _members(session, source):  # published whole, as in copy mode: checked first
                if (error := unreadable_error(member.path, member.replicas, operation="publish")) is not None:
                    raise error
            parent = destination.rsplit("/", 1)[0] or "/"
            session.collections.create(parent, intermediates=True, exist_ok=True)
            session.collections.rename(source, destination)
        prefix = destination.rstrip("/") + "/"
        files = [  # listed after the rename: a member added since the check still gets its AVUs and ACLs
            FileResult(
                source=source.rstrip("/") + "/" + e.path[len(prefix) :],
                destination=e.path,
                status=FileStatus.TRANSFERRED,
                size=e.size,
                checksum=e.checksum,
            )
            for e in _members(session, destination)
        ]
        return TransferReport(files=files)


def _members(session: IrodsSession, collection: str) -> list[Entry]:
    """The data objects under ``collection`` with their replicas (one listing)."""
    found = session.collections.iterate(collection, recursive=True, kinds=Kinds.DATA_OBJECTS, with_stat=True)
    return list(found)


def _grant_collections(session: IrodsSession, destination: str, acls: list[PermissionOperation]) -> int:
    """Give the published collection and every sub-collection ``acls`` (one atomic call each); their count."""
    found = session.collections.iterate(destination, recursive=True, kinds=Kinds.COLLECTIONS)
    collections = [destination, *(e.path for e in found)]
    for collection in collections if acls else ():
        session.collections.modify_permissions(collection, acls)
    return len(collections)


def _publish_object(
    session: IrodsSession, path: str, avus: list[AVU], acls: list[PermissionOperation]
) -> None:
    """The object's missing AVUs in one atomic call, then its ACLs in one atomic call."""
    if avus:
        have = set(session.metadata.list(path, kind=EntryKind.DATA_OBJECT))
        ops = [MetadataOperation("add", a) for a in avus if a not in have]
        session.metadata.apply(path, ops, kind=EntryKind.DATA_OBJECT)
    if acls:
        session.data_objects.modify_permissions(path, acls)
