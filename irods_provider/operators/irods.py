"""Operators for iRODS collections and data objects: create, exists, list, delete, copy, move.

The metadata operators live in :mod:`irods_provider.operators.metadata` and the replica operators in
:mod:`irods_provider.operators.replicas`; both are re-exported here, so
``from irods_provider.operators.irods import ...`` reaches every operator.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from irods_provider._lineage import TransferLineageMixin, irods_dataset
from irods_provider._values import refuse_unaddressable
from irods_provider.client import EntryKind, Kinds, Replica
from irods_provider.exceptions import (
    IrodsNotACollectionError,
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.hooks._checks import KINDS, timestamp_fields
from irods_provider.operators._base import IrodsBaseOperator, check_choice, check_path, check_paths, path_kind
from irods_provider.operators.metadata import (
    IrodsGetMetadataOperator,
    IrodsPutMetadataOperator,
    IrodsRemoveMetadataOperator,
)
from irods_provider.operators.replicas import IrodsReplicateOperator, IrodsTrimOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from irods_provider.client import IrodsSession

__all__ = [
    "IrodsBaseOperator",
    "IrodsCopyOperator",
    "IrodsCreateCollectionOperator",
    "IrodsDeleteOperator",
    "IrodsGetMetadataOperator",
    "IrodsListCollectionOperator",
    "IrodsMoveOperator",
    "IrodsPathExistsOperator",
    "IrodsPutMetadataOperator",
    "IrodsRemoveMetadataOperator",
    "IrodsReplicateOperator",
    "IrodsTrimOperator",
]

_LIST_KINDS = ("both", "collections", "data_objects")


def _replica_item(replica: Replica) -> dict[str, Any]:
    """One replica of a listing entry, JSON-able for XCom."""
    return {
        "number": replica.number,
        "resource": replica.resource,
        "hierarchy": replica.hierarchy,
        "status": replica.status,
        "size": replica.size,
        "checksum": replica.checksum,
    }


class IrodsCreateCollectionOperator(TransferLineageMixin, IrodsBaseOperator):
    """Create a collection (and its missing parents); returns ``{"path", "created"}``.

    :param path: absolute logical path of the collection.
    :param create_intermediates: create missing parent collections too.
    :param exist_ok: when False, fail if the collection already exists.
    """

    template_fields: Sequence[str] = ("path", "irods_conn_id")

    def __init__(
        self, *, path: str, create_intermediates: bool = True, exist_ok: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.create_intermediates = create_intermediates
        self.exist_ok = exist_ok

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = refuse_unaddressable("path", check_path("path", self.path))
        created = session.collections.create(
            path, intermediates=bool(self.create_intermediates), exist_ok=bool(self.exist_ok)
        )
        self.log.info("%s collection %s", "Created" if created else "Found existing", path)
        self.record_lineage(inputs=[], outputs=[irods_dataset(path)], hook=self.hook, context=context)
        return {"path": path, "created": bool(created)}


class IrodsPathExistsOperator(IrodsBaseOperator):
    """Check that a collection or data object exists; returns a bool (XCom).

    :param path: absolute logical path.
    :param kind: ``any``, ``collection`` or ``data_object``.
    :param fail_if_missing: raise :class:`~irods_provider.exceptions.IrodsNotFoundError` instead of False.
    """

    template_fields: Sequence[str] = ("path", "irods_conn_id")

    def __init__(self, *, path: str, kind: str = "any", fail_if_missing: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.kind = kind
        self.fail_if_missing = fail_if_missing

    def run(self, session: IrodsSession, context: Context) -> bool:
        path = check_path("path", self.path)
        kind = check_choice("kind", self.kind, KINDS)
        found = path_kind(session, path)
        exists = found is not None and kind in ("any", found)
        self.log.info("%s %s (%s)", path, "exists" if exists else "does not exist", found or "nothing")
        if not exists and self.fail_if_missing:
            what = "path" if kind == "any" else kind.replace("_", " ")
            raise IrodsNotFoundError(f"no {what} at this path", path=path)
        return exists


class IrodsListCollectionOperator(IrodsBaseOperator):
    """List a collection into XCom: ``{"collection", "count", "entries": [{"path", "kind", ...}]}``.

    :param path: the collection to list.
    :param recursive: include everything below, not only direct children.
    :param pattern: glob on the entry name (``*.csv``), or on the relative path if it contains ``/``.
    :param regex: regular expression searched in the path relative to ``path``.
    :param kind: ``both``, ``collections`` or ``data_objects``.
    :param with_stat: add ``size``, ``modified_at`` (ISO-8601 UTC), ``modified_at_epoch`` (seconds) and
        ``checksum`` to each entry.
    :param max_entries: at most this many entries go to XCom (default 400, under 64 KiB with stat); ``count``
        is always the full number and ``truncated`` says whether entries were left out.
    :param with_replicas: add ``replicas`` to each data object: ``[{"number", "resource", "hierarchy",
        "status", "size", "checksum"}]`` (``status`` ``"1"`` good, ``"0"`` stale); implies ``with_stat``.
    """

    template_fields: Sequence[str] = ("path", "pattern", "regex", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        recursive: bool = False,
        pattern: str | None = None,
        regex: str | None = None,
        kind: str = "both",
        with_stat: bool = False,
        max_entries: int = 400,
        with_replicas: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.max_entries = max_entries
        self.recursive = recursive
        self.pattern = pattern
        self.regex = regex
        self.kind = kind
        self.with_stat = with_stat or with_replicas
        self.with_replicas = with_replicas

    def _matcher(self, base: str) -> Callable[[str], bool]:
        try:
            compiled = re.compile(self.regex) if self.regex else None
        except re.error as error:
            raise IrodsUsageError(
                f"regex {self.regex!r} is not a valid regular expression: {error}"
            ) from None

        def match(path: str) -> bool:
            relative = path[len(base) :].lstrip("/")
            if self.pattern:
                subject = relative if "/" in self.pattern else relative.rsplit("/", 1)[-1]
                if not fnmatch.fnmatchcase(subject, self.pattern):
                    return False
            return compiled is None or compiled.search(relative) is not None

        return match

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = check_path("path", self.path)
        kind = check_choice("kind", self.kind, _LIST_KINDS)
        match = self._matcher(path)
        found = path_kind(session, path)
        if found is None:
            raise IrodsNotFoundError("no collection at this path", operation="list", path=path)
        if found != "collection":
            raise IrodsNotACollectionError("a data object, not a collection", operation="list", path=path)
        entries = session.collections.iterate(
            path, recursive=bool(self.recursive), kinds=Kinds(kind), with_stat=bool(self.with_stat)
        )
        result: list[dict[str, Any]] = []
        for entry in entries:
            entry_kind = entry.kind.value
            if not match(entry.path):
                continue
            item: dict[str, Any] = {"path": entry.path, "kind": entry_kind}
            if self.with_stat:
                item.update(size=entry.size, **timestamp_fields("modified_at", entry.modified_at))
                item["checksum"] = entry.checksum or None
            if self.with_replicas and entry.kind is EntryKind.DATA_OBJECT:
                item["replicas"] = [_replica_item(r) for r in entry.replicas]
            result.append(item)
        result.sort(key=lambda item: str(item["path"]))
        limit = int(self.max_entries)
        self.log.info("Listed %d entries under %s", len(result), path)
        if len(result) > limit:
            self.log.warning("XCom holds the first %d of %d entries (max_entries)", limit, len(result))
        return {
            "collection": path,
            "count": len(result),
            "entries": result[:limit],
            "truncated": len(result) > limit,
        }


class IrodsDeleteOperator(IrodsBaseOperator):
    """Delete data objects and collections; returns ``{"deleted": [...], "missing": [...]}``.

    :param paths: one logical path or a list of them.
    :param recurse: delete non-empty collections with their contents.
    :param no_trash: delete permanently instead of moving to the trash.
    :param ignore_missing: report missing paths instead of failing.
    """

    template_fields: Sequence[str] = ("paths", "irods_conn_id")

    def __init__(
        self,
        *,
        paths: str | Sequence[str],
        recurse: bool = False,
        no_trash: bool = False,
        ignore_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.paths = paths
        self.recurse = recurse
        self.no_trash = no_trash
        self.ignore_missing = ignore_missing

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        paths = check_paths("paths", self.paths)
        deleted: list[str] = []
        missing: list[str] = []
        for path in paths:
            kind = path_kind(session, path)
            if kind is None:
                if not self.ignore_missing:
                    raise IrodsNotFoundError("nothing to delete at this path", path=path)
                missing.append(path)
                continue
            if kind == "collection":
                session.collections.remove(path, recurse=self.recurse, no_trash=self.no_trash)
            else:
                session.data_objects.remove(path, no_trash=self.no_trash)
            self.log.info(
                "Deleted %s %s%s", kind.replace("_", " "), path, " (no trash)" if self.no_trash else ""
            )
            deleted.append(path)
        return {"deleted": deleted, "missing": missing}


class IrodsCopyOperator(TransferLineageMixin, IrodsBaseOperator):
    """Copy a data object (server side); returns ``{"source", "destination"}``.

    :param source_path: the data object to copy.
    :param destination_path: the new data object's path.
    :param overwrite: replace an existing destination.
    :param resource: root resource for the copy (default: the connection's ``default_resource``, else the
        server's default).
    :param destination_resource: the older name of ``resource`` (give one of them).
    """

    template_fields: Sequence[str] = (
        "source_path",
        "destination_path",
        "resource",
        "destination_resource",
        "irods_conn_id",
    )

    def __init__(
        self,
        *,
        source_path: str,
        destination_path: str,
        overwrite: bool = False,
        resource: str | None = None,
        destination_resource: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.destination_path = destination_path
        self.overwrite = overwrite
        self.resource = resource
        self.destination_resource = destination_resource

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        source = check_path("source_path", self.source_path)
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        if source == destination:
            raise IrodsUsageError("source_path and destination_path are the same", path=source)
        if self.resource and self.destination_resource and self.resource != self.destination_resource:
            raise IrodsUsageError("give resource or destination_resource, not two different ones")
        resource = self.write_resource(self.resource or self.destination_resource)
        try:
            session.data_objects.copy(
                source,
                destination,
                overwrite=bool(self.overwrite),
                dst_resource=resource,
            )
        except IrodsNotADataObjectError as error:
            if error.path == source and path_kind(session, source) is None:
                raise IrodsNotFoundError(
                    "nothing to copy at this path", operation="copy", path=source
                ) from error
            raise
        self.log.info("Copied %s to %s%s", source, destination, f" on {resource}" if resource else "")
        self.record_transfer_lineage(
            [(irods_dataset(source), irods_dataset(destination))], hook=self.hook, context=context
        )
        return {"source": source, "destination": destination}


class IrodsMoveOperator(TransferLineageMixin, IrodsBaseOperator):
    """Move or rename a collection or data object; returns ``{"source", "destination", "kind"}``.

    :param source_path: what to move.
    :param destination_path: its new full path (not the parent collection).
    """

    template_fields: Sequence[str] = ("source_path", "destination_path", "irods_conn_id")

    def __init__(self, *, source_path: str, destination_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.destination_path = destination_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        source = check_path("source_path", self.source_path)
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        kind = path_kind(session, source)
        if kind is None:
            raise IrodsNotFoundError("nothing to move at this path", path=source)
        if kind == "collection":
            session.collections.rename(source, destination)
        else:
            session.data_objects.rename(source, destination)
        self.log.info("Moved %s %s to %s", kind.replace("_", " "), source, destination)
        self.record_transfer_lineage(
            [(irods_dataset(source), irods_dataset(destination))], hook=self.hook, context=context
        )
        return {"source": source, "destination": destination, "kind": kind}
