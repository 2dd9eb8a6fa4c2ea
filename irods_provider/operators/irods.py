"""Operators for iRODS collections and data objects: create, exists, list, delete, copy, move.

The metadata operators live in :mod:`irods_provider.operators.metadata` and the replica operators in
:mod:`irods_provider.operators.replicas`; both are re-exported here, so
``from irods_provider.operators.irods import ...`` reaches every operator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from irods_provider._lineage import TransferLineageMixin, irods_dataset
from irods_provider._values import refuse_empty_segment_in, refuse_unaddressable
from irods_provider.client import EntryKind, Kinds, Replica
from irods_provider.client._locks import unreadable_error
from irods_provider.client._ops_fs import refuse_cross_zone_rename
from irods_provider.client._patterns import compile_filter, compile_pattern, literal_hint
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsError,
    IrodsInvalidPathError,
    IrodsNotACollectionError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.hooks._checks import KINDS, path_matches, run_sync, timestamp_fields
from irods_provider.operators._base import (
    CancellableMixin,
    IrodsBaseOperator,
    check_choice,
    check_path,
    check_paths,
    into_target,
    is_retry,
    path_kind,
    refuse_empty_segment,
)
from irods_provider.operators._bounded import (
    MAX_REPORT_BYTES,
    attach_manifest,
    bounded_entries,
    check_budget,
    check_manifest_path,
    tree_report,
)
from irods_provider.operators._retry import earlier_collection, retry_window_start
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
_NOTHING = "nothing to delete at this path"


def _same(source: str, target: str) -> None:
    if source == target:
        raise IrodsUsageError("source_path and destination_path are the same", path=source)


def _inside_a_zone(destination: str) -> str:
    """``destination`` when it lies inside a zone collection (``/<zone>/...``); refused otherwise.

    iRODS keeps only zone collections at its root: a collection created elsewhere is refused
    (SYS_INVALID_INPUT_PARAM, irods/irods server/core/src/dataObjOpr.cpp:45-70 and
    server/api/src/rsCollCreate.cpp:70-79 @4.3.4), and a copy or move onto a zone collection would replace it.
    """
    if destination.count("/") < 2:
        raise IrodsInvalidPathError(
            "destination_path must lie inside a zone (/<zone>/...): iRODS keeps only zone collections "
            "at its root, and a zone collection cannot be replaced",
            path=destination,
        )
    return destination


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

    Example:

    ```python
    from irods_provider.operators.irods import IrodsCreateCollectionOperator

    make_run_dir = IrodsCreateCollectionOperator(
        task_id="make_run_dir",
        path="/tempZone/home/alice/runs/{{ ds }}",
        irods_conn_id="irods_default",
    )
    ```

    :param path: absolute logical path of the collection.
    :param create_intermediates: create missing parent collections too (default True, like ``mkdir -p``;
        the client's ``collections.create`` defaults to False, like ``mkdir``).
    :param exist_ok: when False, fail if the collection already exists. On a retry, a collection an earlier
        try of this task created is not "already existing": one owned by the connection's user and created
        since the DAG run started (catalog COLL_OWNER_NAME and COLL_CREATE_TIME, less 5 minutes of clock skew)
        is taken as that try's, and the result says ``"created": true, "already_created": true``. Anything
        else there still fails; with no user name on the connection (a static token) the retry fails too.
    """

    template_fields: Sequence[str] = ("path", "irods_conn_id")

    def __init__(
        self, *, path: str, create_intermediates: bool = True, exist_ok: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.create_intermediates = create_intermediates
        self.exist_ok = exist_ok

    def _made_by_earlier_try(self, session: IrodsSession, path: str, context: Context) -> bool:
        """On a retry: whether the existing collection is the one an earlier try created (class docstring)."""
        since = retry_window_start(context) if is_retry(context) else None
        if since is None:
            return False
        return earlier_collection(session, path, user=self.hook.user_name(), since=since)

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = refuse_unaddressable("path", check_path("path", self.path))
        result: dict[str, Any] = {"path": path}
        try:
            created = session.collections.create(
                path, intermediates=bool(self.create_intermediates), exist_ok=bool(self.exist_ok)
            )
        except IrodsAlreadyExistsError:
            if not self._made_by_earlier_try(session, path, context):
                raise
            self.log.info("Found collection %s, created by an earlier try of this task", path)
            created, result["already_created"] = True, True
        else:
            self.log.info("%s collection %s", "Created" if created else "Found existing", path)
        self.record_lineage(inputs=[], outputs=[irods_dataset(path)], hook=self.hook, context=context)
        return {**result, "created": bool(created)}


class IrodsPathExistsOperator(IrodsBaseOperator):
    """Check that a collection or data object exists (or, ``glob=True``, that one matches); returns a bool.

    As for the sensors, a data object exists once it can be read: one another client is still writing (no
    good replica until that write closes) or whose write failed (stale only) does not count.

    Example:

    ```python
    from irods_provider.operators.irods import IrodsPathExistsOperator

    has_manifest = IrodsPathExistsOperator(
        task_id="has_manifest",
        path="/tempZone/home/alice/runs/{{ ds }}/manifest.json",
        kind="data_object",
    )
    ```

    :param path: absolute logical path, literal (``data[1].csv`` is that object) unless ``glob``.
    :param kind: ``any``, ``collection`` or ``data_object``.
    :param fail_if_missing: raise :class:`~irods_provider.exceptions.IrodsNotFoundError` instead of False.
    :param glob: treat ``path`` as a pattern (``*``, ``?``, ``[..]``, ``**``; ``[[]`` for a literal ``[``),
        the same rule as the sensors, transfers and delete.
    """

    template_fields: Sequence[str] = ("path", "irods_conn_id")

    def __init__(
        self,
        *,
        path: str,
        kind: str = "any",
        fail_if_missing: bool = False,
        glob: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.kind = kind
        self.fail_if_missing = fail_if_missing
        self.glob = glob

    def run(self, session: IrodsSession, context: Context) -> bool:
        path = check_path("path", self.path)
        kind = check_choice("kind", self.kind, KINDS)
        if self.glob:
            matches = run_sync(path_matches(path, kind=kind, glob=True), session)
            exists, found = bool(matches), f"{len(matches)} match(es)"
        else:
            at = path_kind(session, path)
            exists, found = at is not None and kind in ("any", at), at or "nothing"
        self.log.info("%s %s (%s)", path, "exists" if exists else "does not exist", found)
        if not exists and self.fail_if_missing:
            what = "path" if kind == "any" else kind.replace("_", " ")
            if self.glob:
                raise IrodsNotFoundError(f"no {what} matches this pattern", path=path)
            raise IrodsNotFoundError(f"no {what} at this path{literal_hint(path)}", path=path)
        return exists


class IrodsListCollectionOperator(IrodsBaseOperator):
    """List a collection into XCom: ``{"collection", "count", "entries": [{"path", "kind", ...}]}``.

    The listing is paged GenQuery1, which has no snapshot: a collection that changes while it is listed
    may be listed incompletely (never with an entry twice).

    Example:

    ```python
    from irods_provider.operators.irods import IrodsListCollectionOperator

    list_csv = IrodsListCollectionOperator(
        task_id="list_csv",
        path="/tempZone/home/alice/incoming",
        recursive=True,
        pattern="*.csv",
        kind="data_objects",
        with_stat=True,
    )
    ```

    :param path: the collection to list.
    :param recursive: include everything below, not only direct children.
    :param pattern: a pattern on the entry name (``*.csv``), or on the relative path if it contains ``/``
        (``**`` for any depth; ``[[]`` for a literal ``[``): the provider's one pattern rule.
    :param regex: regular expression searched in the path relative to ``path``.
    :param kind: ``both``, ``collections`` or ``data_objects``.
    :param with_stat: add ``size``, ``modified_at`` (ISO-8601 UTC), ``modified_at_epoch`` (seconds) and
        ``checksum`` to each entry.
    :param max_entries: at most this many entries go to XCom (default 400, under 64 KiB with stat); ``count``
        is always the full number and ``truncated`` says whether entries were left out.
    :param with_replicas: add ``replicas`` to each data object: ``[{"number", "resource", "hierarchy",
        "status", "size", "checksum"}]`` (``status`` ``"1"`` good, ``"0"`` stale); implies ``with_stat``.
    :param manifest_path: an iRODS path where every entry is written as JSON lines (atomic, verified,
        overwritten) when ``max_entries`` cuts the XCom list; the result then names it as ``manifest``.
        Templated.
    """

    template_fields: Sequence[str] = ("path", "pattern", "regex", "manifest_path", "irods_conn_id")

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
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.manifest_path = manifest_path
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

        selects = compile_filter(self.pattern) if self.pattern else None

        def match(path: str) -> bool:
            relative = path[len(base) :].lstrip("/")
            if selects is not None and not selects(relative):
                return False
            return compiled is None or compiled.search(relative) is not None

        return match

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        path = check_path("path", self.path)
        manifest = check_manifest_path(self.manifest_path)
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
        if len(result) > limit and manifest is None:
            self.log.warning("XCom holds the first %d of %d entries (max_entries)", limit, len(result))
        listing = {
            "collection": path,
            "count": len(result),
            "entries": result[:limit],
            "truncated": len(result) > limit,
        }
        return attach_manifest(
            listing,
            session=session,
            manifest_path=manifest,
            truncated=len(result) > limit,
            entries=result,
            log=self.log,
        )


class IrodsDeleteOperator(IrodsBaseOperator):
    """Delete data objects and collections, named literally or (``glob=True``) by glob patterns.

    A path is literal unless ``glob=True``: ``data[1].csv`` names exactly that object. With ``glob=True``
    each path is a pattern over data objects (``*``, ``?``, ``[..]`` within one segment, a ``**`` segment
    for any depth); the engine's in-flight temporaries never match; collections are deleted only when named
    literally. Every pattern is expanded before anything is deleted; deeper paths go first, and with
    ``recurse`` a path inside a collection also named goes with it (``deleted`` names the collection).
    Returns ``{"deleted", "missing", "deleted_count", "truncated"}``: ``deleted`` lists at most
    ``max_report_bytes`` of JSON (the count is complete).

    Example:

    ```python
    from irods_provider.operators.irods import IrodsDeleteOperator

    drop_scratch = IrodsDeleteOperator(
        task_id="drop_scratch",
        paths="/tempZone/home/alice/scratch/{{ ds }}/*.tmp",
        glob=True,
        ignore_missing=True,
    )
    ```

    :param paths: one logical path or pattern, or a list of them; one with an empty segment (a trailing
        ``/`` or a ``//``: a template part that rendered empty) is refused before anything is deleted.
    :param glob: treat the paths as glob patterns over data objects.
    :param recurse: delete non-empty collections with their contents.
    :param no_trash: delete permanently instead of moving to the trash (quota is freed).
    :param ignore_missing: report missing paths (and patterns matching nothing) instead of failing. A retry
        always does (an earlier try may have deleted them).
    :param max_report_bytes: JSON budget of ``deleted`` in XCom (default 48 KiB).
    :param manifest_path: an iRODS path where the full list is written as JSON lines (atomic, verified,
        overwritten) when the XCom lists are cut; the result then names it as ``manifest``. Templated.
    """

    template_fields: Sequence[str] = ("paths", "manifest_path", "irods_conn_id")

    def __init__(
        self,
        *,
        paths: str | Sequence[str],
        glob: bool = False,
        recurse: bool = False,
        no_trash: bool = False,
        ignore_missing: bool = False,
        max_report_bytes: int = MAX_REPORT_BYTES,
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.paths = paths
        self.glob = glob
        self.recurse = recurse
        self.no_trash = no_trash
        self.ignore_missing = ignore_missing
        self.max_report_bytes = max_report_bytes
        self.manifest_path = manifest_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        paths = check_paths("paths", refuse_empty_segment(self.paths))
        budget = check_budget(self.max_report_bytes)
        manifest = check_manifest_path(self.manifest_path)
        if not isinstance(self.glob, bool):
            raise IrodsUsageError(f"glob must be True or False, got {self.glob!r}")
        missing: list[str] = []
        targets: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for path in paths:
            found = _expand_glob(session, path) if self.glob else _literal(session, path)
            if not found:
                if not self.ignore_missing and not is_retry(context):  # a retry: an earlier try deleted it
                    what = (
                        "no data object matches this pattern" if self.glob else _NOTHING + literal_hint(path)
                    )
                    raise IrodsNotFoundError(what, operation="delete", path=path)
                missing.append(path)
            targets += [t for t in found if t not in seen]
            seen.update(found)
        targets = _outermost(targets) if self.recurse else targets
        for path, kind in _children_first(targets):
            if kind == "collection":
                session.collections.remove(path, recurse=bool(self.recurse), no_trash=bool(self.no_trash))
            else:
                session.data_objects.remove(path, no_trash=bool(self.no_trash))
            self.log.info(
                "Deleted %s %s%s", kind.replace("_", " "), path, " (no trash)" if self.no_trash else ""
            )
        deleted = [path for path, _ in targets]
        kept, _ = bounded_entries(({"path": p} for p in deleted), budget)
        result = {
            "deleted": [e["path"] for e in kept],
            "missing": missing,
            "deleted_count": len(deleted),
            "truncated": len(kept) < len(deleted),
        }
        entries = ({"path": p, "kind": k} for p, k in targets)
        return attach_manifest(
            result,
            session=session,
            manifest_path=manifest,
            truncated=bool(result["truncated"]),
            entries=entries,
            log=self.log,
        )


def _outermost(targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``targets`` without those inside a collection target: its recursive removal takes them already."""
    collections = [path.rstrip("/") + "/" for path, kind in targets if kind == "collection"]
    return [t for t in targets if not any(t[0].startswith(c) for c in collections)]


def _children_first(targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Deepest paths first, so a collection named with its contents is empty when its turn comes."""
    return sorted(targets, key=lambda target: -target[0].count("/"))


def _literal(session: IrodsSession, path: str) -> list[tuple[str, str]]:
    """``[(path, kind)]`` for what is at ``path`` (never a pattern), or ``[]``."""
    kind = path_kind(session, path)
    return [] if kind is None else [(path, kind)]


def _expand_glob(session: IrodsSession, pattern: str) -> list[tuple[str, str]]:
    """The data objects matching ``pattern`` (sorted); a missing root collection matches nothing; a
    pattern without a wildcard (``run[[]7].h5``) is the literal path it names."""
    compiled = compile_pattern(pattern)
    if compiled.literal:
        return _literal(session, compiled.base)
    if path_kind(session, compiled.base) != "collection":
        return []
    entries = session.collections.iterate(
        compiled.base, recursive=compiled.max_depth != 1, kinds=Kinds.DATA_OBJECTS
    )
    return sorted((e.path, "data_object") for e in entries if compiled.matches_path(e.path))


class IrodsCopyOperator(CancellableMixin, TransferLineageMixin, IrodsBaseOperator):
    """Copy a data object, or a whole collection recursively (``icp -r``), on the server.

    A data object returns ``{"source", "destination"}``. A collection is copied to ``destination_path`` (the
    new collection itself, created with every sub-collection), object by object with server-side copies, at
    most ``max_concurrent_files`` at once; ``skip`` (``never``/``exists``/``size``/``checksum``) decides when
    an existing destination object counts as done, ``overwrite`` the rest (checked for every object before
    anything is copied). It returns ``{"source", "destination", "kind": "collection", "transferred",
    "skipped", "failed", "bytes", "seconds", "dry_run", "file_count", "files", "files_truncated"}`` with
    ``files`` bounded by ``max_report_bytes`` of JSON. The engine's in-flight temporaries are not copied.

    Example:

    ```python
    from irods_provider.operators.irods import IrodsCopyOperator

    snapshot = IrodsCopyOperator(
        task_id="snapshot",
        source_path="/tempZone/home/alice/project",
        destination_path="/tempZone/home/alice/snapshots/{{ ds }}",
        skip="checksum",
    )
    ```

    :param source_path: the data object or collection to copy.
    :param destination_path: the new data object's or collection's path; ending in ``/``, the collection to
        copy into (created if missing): ``.../archive/`` copies ``a.csv`` to ``.../archive/a.csv``.
    :param overwrite: replace existing destination objects (then a ``destination_path`` with an empty
        segment, a ``//`` or a second trailing ``/``, is refused before anything is copied).
    :param resource: root resource for the copies (default: the connection's ``default_resource``, else the
        server's default).
    :param destination_resource: the older name of ``resource`` (give one of them).
    :param skip: collections: when an existing destination object counts as done.
    :param max_concurrent_files: collections: objects copied at once.
    :param continue_on_error: collections: copy the others after one fails (the task still fails).
    :param plan_only: report what would be copied (a data object: ``{"source", "destination",
        "dry_run": true}``); change nothing.
    :param max_report_bytes: collections: JSON budget of ``files`` in XCom (default 48 KiB).
    :param manifest_path: an iRODS path where the full list is written as JSON lines (atomic, verified,
        overwritten) when the XCom lists are cut; the result then names it as ``manifest``. Templated.
    """

    template_fields: Sequence[str] = (
        "source_path",
        "destination_path",
        "resource",
        "destination_resource",
        "manifest_path",
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
        skip: str = "never",
        max_concurrent_files: int = 4,
        continue_on_error: bool = False,
        plan_only: bool = False,
        max_report_bytes: int = MAX_REPORT_BYTES,
        manifest_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.destination_path = destination_path
        self.overwrite = overwrite
        self.resource = resource
        self.destination_resource = destination_resource
        self.skip = skip
        self.max_concurrent_files = max_concurrent_files
        self.continue_on_error = continue_on_error
        self.plan_only = plan_only
        self.max_report_bytes = max_report_bytes
        self.manifest_path = manifest_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        source = check_path("source_path", self.source_path)
        if self.overwrite and isinstance(self.destination_path, str):  # what it replaces must be what it says
            refuse_empty_segment_in("destination_path", self.destination_path, into=True)
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        _same(source, destination)
        destination, into = into_target(self.destination_path, source, destination)
        _same(source, _inside_a_zone(destination))
        if self.resource and self.destination_resource and self.resource != self.destination_resource:
            raise IrodsUsageError("give resource or destination_resource, not two different ones")
        resource = self.write_resource(self.resource or self.destination_resource)
        kind = path_kind(session, source)
        if kind is None:
            raise _unreadable_or_missing(session, source)
        if into is not None and not self.plan_only:
            session.collections.create(into, intermediates=True, exist_ok=True)
        if kind == "collection":
            result = self._copy_collection(session, source, destination, resource)
        elif self.plan_only:
            self.log.info("Would copy %s to %s (plan only)", source, destination)
            return {"source": source, "destination": destination, "dry_run": True}
        else:
            session.data_objects.copy(
                source, destination, overwrite=bool(self.overwrite), dst_resource=resource
            )
            self.log.info("Copied %s to %s%s", source, destination, f" on {resource}" if resource else "")
            result = {"source": source, "destination": destination}
        self.record_transfer_lineage(
            [(irods_dataset(source), irods_dataset(destination))], hook=self.hook, context=context
        )
        return result

    def _copy_collection(
        self, session: IrodsSession, source: str, destination: str, resource: str | None
    ) -> dict[str, Any]:
        """Copy the tree; fail when any object failed; the bounded report."""
        from irods_provider.client.transfer import OverwritePolicy, SkipPolicy, TransferConfig
        from irods_provider.client.transfer._tree import copy_collection
        from irods_provider.exceptions import IrodsError

        budget = check_budget(self.max_report_bytes)
        manifest = check_manifest_path(self.manifest_path)
        skip = SkipPolicy(check_choice("skip", self.skip, tuple(p.value for p in SkipPolicy)))
        workers = self.max_concurrent_files
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise IrodsUsageError(f"max_concurrent_files must be a positive integer, got {workers!r}")
        report = copy_collection(
            session,
            source,
            destination,
            config=TransferConfig(max_concurrent_files=workers, resource=resource),
            overwrite=OverwritePolicy.OVERWRITE if self.overwrite else OverwritePolicy.REFUSE,
            skip=skip,
            continue_on_error=bool(self.continue_on_error),
            dry_run=bool(self.plan_only),
            cancel_event=self.cancel_event,
        )
        self.log.info(
            "Copied collection %s to %s: %d copied, %d skipped, %d failed, %d bytes%s",
            source,
            destination,
            report.transferred,
            report.skipped,
            report.failed,
            report.bytes,
            " (plan only)" if report.dry_run else "",
        )
        if report.failed:
            first = next(f for f in report.files if f.status.value == "failed")
            raise IrodsError(
                f"{report.failed} of {len(report.files)} objects failed to copy (first: {first.source}: "
                f"{first.error})",
                path=first.source,
            )
        result = {
            "source": source,
            "destination": destination,
            "kind": "collection",
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


class IrodsMoveOperator(TransferLineageMixin, IrodsBaseOperator):
    """Move or rename a collection or data object; returns ``{"source", "destination", "kind"}``.

    A retry whose earlier try's rename was applied (its reply lost) finds no source but the destination: it
    succeeds and adds ``"already_moved": True`` (a first try with no source still fails). A move into another
    zone of a federation is refused before anything changes (IrodsUsageError): iRODS renames within a zone
    only; copy with :class:`IrodsCopyOperator`, then delete.

    Example:

    ```python
    from irods_provider.operators.irods import IrodsMoveOperator

    archive = IrodsMoveOperator(
        task_id="archive",
        source_path="/tempZone/home/alice/incoming/{{ ds }}",
        destination_path="/tempZone/home/alice/archive/{{ ds }}",
    )
    ```

    :param source_path: what to move (one with an empty segment, a trailing ``/`` or ``//``, is refused).
    :param destination_path: its new full path; ending in ``/``, the collection to move it into (created
        if missing).
    """

    template_fields: Sequence[str] = ("source_path", "destination_path", "irods_conn_id")

    def __init__(self, *, source_path: str, destination_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.destination_path = destination_path

    def run(self, session: IrodsSession, context: Context) -> dict[str, Any]:
        source = check_path("source_path", refuse_empty_segment(self.source_path, "source_path"))
        destination = refuse_unaddressable(
            "destination_path", check_path("destination_path", self.destination_path)
        )
        destination, into = into_target(self.destination_path, source, destination)
        _same(source, _inside_a_zone(destination))
        refuse_cross_zone_rename(source, destination, "move")  # before a collection is made for it
        kind = path_kind(session, source)
        if kind is None:
            return self._moved_by_an_earlier_try(session, source, destination, context)
        if into is not None:
            session.collections.create(into, intermediates=True, exist_ok=True)
        if kind == "collection":
            session.collections.rename(source, destination)
        else:
            session.data_objects.rename(source, destination)
        self.log.info("Moved %s %s to %s", kind.replace("_", " "), source, destination)
        self.record_transfer_lineage(
            [(irods_dataset(source), irods_dataset(destination))], hook=self.hook, context=context
        )
        return {"source": source, "destination": destination, "kind": kind}

    def _moved_by_an_earlier_try(
        self, session: IrodsSession, source: str, destination: str, context: Context
    ) -> dict[str, Any]:
        """No source: a retry whose earlier try's rename was applied (its reply lost) finds the destination
        and reports the move; a first try, or a retry without a destination, fails as before."""
        kind = path_kind(session, destination) if is_retry(context) else None
        if kind is None:
            raise IrodsNotFoundError("nothing to move at this path", path=source)
        self.log.warning(
            "Nothing at %s but a %s at %s: an earlier try moved it",
            source,
            kind.replace("_", " "),
            destination,
        )
        return {"source": source, "destination": destination, "kind": kind, "already_moved": True}


def _unreadable_or_missing(session: IrodsSession, source: str) -> IrodsError:
    """Why there is nothing to copy at ``source``: a data object without a good replica (being written:
    IrodsLockedError; its write failed: SYS_NO_GOOD_REPLICA), else nothing is there (IrodsNotFoundError)."""
    try:
        error = unreadable_error(source, session.data_objects.replicas(source), operation="copy")
    except IrodsError:
        error = None
    return error or IrodsNotFoundError("nothing to copy at this path", operation="copy", path=source)
