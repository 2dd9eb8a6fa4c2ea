"""Pure request builders and decoders for the ``/collections`` and ``/data-objects`` endpoints."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from irods_provider._error_codes import error_code
from irods_provider.client._errors import irods_status
from irods_provider.client._models import (
    ChecksumReport,
    CollectionStat,
    DataObjectStat,
    MetadataOperation,
    Permission,
    PermissionOperation,
)
from irods_provider.client._operation import Body, Operation
from irods_provider.client._paths import atomic_lookup_may_miss, check_query_value, path_zone, validate_path
from irods_provider.client._replies import ReplyShapeError, integer, objects, strings, text
from irods_provider.exceptions import IrodsResponseError, IrodsUsageError

__all__ = [
    "TOUCH_LOOKUP_MISSED",
    "atomic_lookup_missed",
    "coll_create",
    "coll_list",
    "coll_modify_permissions",
    "coll_remove",
    "coll_rename",
    "coll_set_inheritance",
    "coll_set_permission",
    "coll_stat",
    "coll_touch",
    "do_calculate_checksum",
    "do_copy",
    "do_modify_permissions",
    "do_modify_replica",
    "do_parallel_write_init",
    "do_parallel_write_shutdown",
    "do_read",
    "do_register",
    "do_remove",
    "do_rename",
    "do_replicate",
    "do_set_permission",
    "do_stat",
    "do_touch",
    "do_trim",
    "do_truncate",
    "do_verify_checksum",
    "do_write",
    "modify_metadata",
    "remote_atomic_refusal",
    "touch_lookup_missed",
]

CHECK_VERIFICATION_RESULTS = -407000
#: The names set_permission and the atomic modify_permissions both accept: iRODS 4.3's access levels and
#: the read/write aliases (acl_to_id, plugins/api/src/atomic_apply_acl_operations.cpp:66-77 at 4.3.4).
PERMISSIONS = frozenset(
    [
        "own",
        "delete_object",
        "modify_object",
        "write",
        "create_object",
        "delete_metadata",
        "modify_metadata",
        "create_metadata",
        "read_object",
        "read",
        "read_metadata",
        "null",
    ]
)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _none(data: dict[str, Any]) -> None:
    return None


def _fields(**values: str | int | bool | None) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        text = _flag(value) if isinstance(value, bool) else str(value)
        out.append((key.replace("_", "-"), text))
    return tuple(out)


def target_fields(
    operation: str, *, resource: str | None = None, replica_number: int | None = None
) -> dict[str, str | int | None]:
    """The replica/resource targeting parameters of ``operation`` (the one place they are built).

    Every request that names a resource or a replica number goes through here, so a rule about
    targeting (e.g. servers that silently ignore it) can be enforced in one spot.
    """
    if replica_number is not None and replica_number < 0:
        raise IrodsUsageError(f"replica_number must be >= 0, got {replica_number}", operation=operation)
    if resource is not None and (not resource or any(c in resource for c in ";/")):
        raise IrodsUsageError(f"invalid resource name {resource!r}", operation=operation)
    return {"resource": resource, "replica_number": replica_number}


def _get(
    name: str, endpoint: str, op: str, path: str, decode: Any, **params: str | int | bool | None
) -> Operation[Any]:
    validate_path(path, operation=name)
    fields = (("op", op), ("lpath", path), *_fields(**params))
    for key, value in fields:
        check_query_value(value, name=key, operation=name, path=path)
    return Operation(name=name, method="GET", endpoint=endpoint, fields=fields, path=path, decode=decode)


def _post(
    name: str,
    endpoint: str,
    op: str,
    path: str | None,
    *,
    idempotent: bool,
    decode: Any = _none,
    fields: tuple[tuple[str, str], ...] = (),
    destination: str | None = None,
    resend_lost_reply: bool = True,
) -> Operation[Any]:
    return Operation(
        name=name,
        method="POST",
        endpoint=endpoint,
        fields=(("op", op), *fields),
        path=path,
        destination=destination,
        idempotent=idempotent,
        decode=decode,
        resend_lost_reply=resend_lost_reply,
    )


def _permissions(data: dict[str, Any]) -> tuple[Permission, ...]:
    return tuple(
        Permission(
            name=text(p, "name", default=""),
            zone=text(p, "zone", default=""),
            type=text(p, "type", default=""),
            perm=text(p, "perm", default=""),
        )
        for p in objects(data, "permissions")
    )


def _check_stat_type(data: dict[str, Any], expected: str) -> None:
    """A stat reply names what it stat'ed: every release's success carries ``type`` with ``modified_at``
    (collections/src/main.cpp:258-265, data_objects/src/main.cpp:2021-2028 at 0.7.0), so a 200 without them
    (a proxy's ``{}``, the envelope alone) is no stat, never "there, modified in 1970"."""
    found = text(data, "type")
    if found != expected:
        raise ReplyShapeError(f"'type' is not {expected!r}")


def _check_permission(permission: str, name: str, path: str) -> None:
    if permission not in PERMISSIONS:
        raise IrodsUsageError(
            f"unknown permission {permission!r}; expected one of {sorted(PERMISSIONS)}",
            operation=name,
            path=path,
        )


# ---- collections -----------------------------------------------------------------------------------------


def coll_stat(path: str, *, ticket: str | None = None) -> Operation[CollectionStat]:
    """GET collections stat; a non-collection arrives as HTTP 200 + NOT_A_COLLECTION (raised)."""

    def decode(data: dict[str, Any]) -> CollectionStat:
        _check_stat_type(data, "collection")
        return CollectionStat(
            path=path,
            inheritance_enabled=bool(data.get("inheritance_enabled", False)),
            permissions=_permissions(data),
            registered=bool(data.get("registered", True)),
            modified_at=integer(data, "modified_at"),
        )

    return _get("collections.stat", "collections", "stat", path, decode, ticket=ticket)


def coll_list(path: str, *, recurse: bool = False, ticket: str | None = None) -> Operation[list[str]]:
    """GET collections list: absolute paths (``entries: null`` for an empty collection → ``[]``)."""

    def decode(data: dict[str, Any]) -> list[str]:
        return strings(data, "entries")

    return _get(
        "collections.list",
        "collections",
        "list",
        path,
        decode,
        recurse=True if recurse else None,
        ticket=ticket,
    )


def coll_create(path: str, *, intermediates: bool = False, exist_ok: bool = False) -> Operation[bool]:
    """POST collections create; the result is the server's ``created`` flag.

    Resent after an unclear failure only with ``exist_ok``: otherwise a resent create whose first copy was
    applied would report the collection this very call created as already existing."""
    validate_path(path, operation="collections.create")

    def decode(data: dict[str, Any]) -> bool:
        return bool(data.get("created", False))

    return _post(
        "collections.create",
        "collections",
        "create",
        path,
        idempotent=exist_ok,
        decode=decode,
        fields=(("lpath", path), *_fields(create_intermediates=intermediates or None)),
    )


def coll_remove(path: str, *, recurse: bool = False, no_trash: bool = False) -> Operation[None]:
    """POST collections remove (moved to trash unless ``no_trash``)."""
    validate_path(path, operation="collections.remove")
    fields = (("lpath", path), *_fields(recurse=recurse or None, no_trash=no_trash or None))
    return _post("collections.remove", "collections", "remove", path, idempotent=False, fields=fields)


def refuse_cross_zone_rename(old: str, new: str, operation: str) -> None:
    """IrodsUsageError for a rename from one zone into another, before it is sent: iRODS refuses it
    (SYS_CROSS_ZONE_MV_NOT_SUPPORTED, irods 4.3.4 server/api/src/rsDataObjRename.cpp:365-366), and the
    HTTP API's own checks before that may name the destination's parent as missing instead."""
    if (source := path_zone(old)) != (target := path_zone(new)):
        raise IrodsUsageError(
            f"a rename cannot move {old} from zone {source!r} into zone {target!r} (iRODS answers "
            "SYS_CROSS_ZONE_MV_NOT_SUPPORTED): copy it there, then remove the original",
            operation=operation,
            path=old,
        )


def coll_rename(old: str, new: str) -> Operation[None]:
    """POST collections rename."""
    validate_path(old, operation="collections.rename")
    validate_path(new, operation="collections.rename")
    refuse_cross_zone_rename(old, new, "collections.rename")
    fields = (("old-lpath", old), ("new-lpath", new))
    return _post(
        "collections.rename", "collections", "rename", old, idempotent=False, fields=fields, destination=new
    )


def coll_touch(
    path: str, *, seconds_since_epoch: int | None = None, reference: str | None = None
) -> Operation[None]:
    """POST collections touch (never creates anything)."""
    validate_path(path, operation="collections.touch")
    if reference is not None:
        validate_path(reference, operation="collections.touch")
    fields = (("lpath", path), *_fields(seconds_since_epoch=seconds_since_epoch, reference=reference))
    return _post("collections.touch", "collections", "touch", path, idempotent=True, fields=fields)


def _set_permission(
    *, kind: str, endpoint: str, path: str, entity: str, permission: str, admin: bool
) -> Operation[None]:
    name = f"{kind}.set_permission"
    validate_path(path, operation=name)
    _check_permission(permission, name, path)
    fields = (
        ("lpath", path),
        ("entity-name", entity),
        ("permission", permission),
        *_fields(admin=admin or None),
    )
    return _post(name, endpoint, "set_permission", path, idempotent=True, fields=fields)


def coll_set_permission(path: str, entity: str, permission: str, *, admin: bool = False) -> Operation[None]:
    """POST collections set_permission (``null`` removes the entry)."""
    return _set_permission(
        kind="collections",
        endpoint="collections",
        path=path,
        entity=entity,
        permission=permission,
        admin=admin,
    )


def coll_set_inheritance(path: str, enable: bool, *, admin: bool = False) -> Operation[None]:
    """POST collections set_inheritance."""
    validate_path(path, operation="collections.set_inheritance")
    fields = (("lpath", path), ("enable", _flag(enable)), *_fields(admin=admin or None))
    return _post(
        "collections.set_inheritance", "collections", "set_inheritance", path, idempotent=True, fields=fields
    )


def _modify_permissions(
    kind: str, endpoint: str, path: str, operations: Iterable[PermissionOperation], admin: bool
) -> Operation[None]:
    name = f"{kind}.modify_permissions"
    validate_path(path, operation=name)
    operations = list(operations)
    for o in operations:  # the atomic call takes the same 4.3 names as set_permission (acl_to_id)
        _check_permission(o.acl, name, path)
    payload = json.dumps([o.to_json() for o in operations], ensure_ascii=False)
    fields = (("lpath", path), ("operations", payload), *_fields(admin=admin or None))
    return _post(name, endpoint, "modify_permissions", path, idempotent=True, fields=fields)


def coll_modify_permissions(
    path: str, operations: Iterable[PermissionOperation], *, admin: bool = False
) -> Operation[None]:
    """POST collections modify_permissions: all ACL changes applied atomically."""
    return _modify_permissions("collections", "collections", path, operations, admin)


def remote_atomic_refusal(operation: str, path: str, zone: str) -> IrodsUsageError:
    """The error for an atomic metadata or ACL call on ``path`` in the federated zone ``zone``.

    iRODS runs both atomic APIs on the LOCAL zone's catalog provider: the object's id comes from a GenQuery
    that rsGenQuery routes to the path's zone, but rights are checked and AVUs/ACLs written in the local
    database by that id (irods 4.3.4 atomic_apply_metadata_operations.cpp:151-194, :445-558;
    atomic_apply_acl_operations.cpp:170-203, :437-575; rsGenQuery.cpp:667-690; the same at 5.0.2). The
    remote object never changes: the call is refused, or changes a local object that has the same id.
    """
    return IrodsUsageError(
        f"atomic metadata and permission changes cannot reach zone {zone!r}: iRODS applies them in the "
        "local zone's catalog, by the remote object's id, where they are refused or change an unrelated "
        "local object with that id; set AVUs from a client of that zone, grant with set_permission",
        operation=operation,
        path=path,
    )


#: What the atomic APIs answer when their own lookup finds no object (metadata, ACLs).
_LOOKUP_MISSED = frozenset(
    error_code(name)
    for name in ("SYS_INVALID_INPUT_PARAM", "SYS_UNKNOWN_ERROR", "INPUT_ARG_NOT_WELL_FORMED_ERR")
)


def atomic_lookup_missed(
    exc: IrodsResponseError, path: str, *, collection: bool, server_version: str | None
) -> IrodsResponseError | None:
    """``exc`` explained when it is iRODS's atomic metadata/ACL API missing ``path`` through its own lookup
    (see :func:`~irods_provider.client._paths.atomic_lookup_may_miss`), else None."""
    if exc.irods_code not in _LOOKUP_MISSED or not atomic_lookup_may_miss(
        path, collection=collection, server_version=server_version
    ):
        return None
    return exc.retold(
        f"iRODS cannot find {path} for an atomic metadata or permission change: it looks the object up "
        "with a GenQuery1 string holding the path unescaped, which it reads otherwise (iRODS 4.3: a quote in "
        "the collection's name; 5.0: a \\xHH sequence), so no atomic call can reach this object; rename "
        "it, or grant with set_permission",
        path=path,
    )


#: What rs_touch answers when its own query finds no replica (the newest good one, or the one numbered).
TOUCH_LOOKUP_MISSED = frozenset({error_code("SYS_NO_GOOD_REPLICA"), error_code("SYS_REPLICA_DOES_NOT_EXIST")})


def touch_lookup_missed(exc: IrodsResponseError, path: str) -> IrodsResponseError:
    """``exc`` explained: rs_touch missed a good replica of ``path`` through its own GenQuery string, which
    holds the path unescaped (plugins/api/src/touch.cpp:366-398, lib/core/include/irods/replica.hpp:827-850
    at irods 4.3.4: a quote anywhere in the path on 4.3; a ``\\xHH`` sequence on 5.0)."""
    return exc.retold(
        f"iRODS cannot find a replica of {path} to touch: it looks it up with a GenQuery1 string holding the "
        "path unescaped, which it reads otherwise (iRODS 4.3: a quote in the path; 5.0: a \\xHH sequence), "
        "although the catalog lists a good replica",
        path=path,
    )


def modify_metadata(
    endpoint: str, path: str, operations: Sequence[MetadataOperation], *, admin: bool = False
) -> Operation[None]:
    """POST ``endpoint`` modify_metadata: every AVU change applied atomically (one call)."""
    name = f"{endpoint.replace('-', '_')}.modify_metadata"
    validate_path(path, operation=name)
    payload = json.dumps([o.to_json() for o in operations], ensure_ascii=False)
    fields = (("lpath", path), ("operations", payload), *_fields(admin=admin or None))
    return _post(name, endpoint, "modify_metadata", path, idempotent=True, fields=fields)


# ---- data objects ----------------------------------------------------------------------------------------


def do_stat(path: str, *, ticket: str | None = None) -> Operation[DataObjectStat]:
    """GET data-objects stat; a non-data-object arrives as HTTP 200 + NOT_A_DATA_OBJECT (raised)."""

    def decode(data: dict[str, Any]) -> DataObjectStat:
        _check_stat_type(data, "data_object")
        return DataObjectStat(
            path=path,
            # std::uintmax_t: fs::client::data_object_size (irods 4.3.5 lib/filesystem/include/irods/
            # filesystem/filesystem.hpp:131), sent as is (endpoints/data_objects/src/main.cpp:2025 at 0.7.0).
            size=integer(data, "size", unsigned=True),
            checksum=text(data, "checksum", default="") or None,
            modified_at=integer(data, "modified_at"),
            permissions=_permissions(data),
        )

    return _get("data_objects.stat", "data-objects", "stat", path, decode, ticket=ticket)


def do_read(
    path: str,
    *,
    offset: int = 0,
    count: int | None = None,
    resource: str | None = None,
    replica_number: int | None = None,
    ticket: str | None = None,
) -> Operation[bytes]:
    """GET data-objects read of ``count`` bytes at ``offset`` (whole object from offset when None)."""
    op = _get(
        "data_objects.read",
        "data-objects",
        "read",
        path,
        bytes,
        offset=offset or None,
        count=count,
        **target_fields("data_objects.read", resource=resource, replica_number=replica_number),
        ticket=ticket,
    )
    # A server sending more than the ``count`` asked for is refused, not buffered.
    return dataclasses.replace(op, body=Body.BYTES, max_reply_bytes=count)


# What h11 (and RFC 9110's field-value) accepts: visible ASCII, inner spaces, no space at either end.
_HEADER_VALUE = re.compile(r"(?:[!-~](?:[ !-~]*[!-~])?)?")


def _header_safe(value: str) -> bool:
    """``value`` can travel as an HTTP header value unchanged (``report `` cannot: h11 refuses it)."""
    return _HEADER_VALUE.fullmatch(value) is not None


def do_write(
    path: str | None,
    data: bytes,
    *,
    offset: int = 0,
    truncate: bool = True,
    append: bool = False,
    resource: str | None = None,
    replica_number: int | None = None,
    parallel_write_handle: str | None = None,
    stream_index: int | None = None,
    ticket: str | None = None,
    header_form: bool = True,
    hold: Callable[[], None] | None = None,
) -> Operation[None]:
    """POST data-objects write, header form (raw body), or multipart when a value cannot be a header value
    (not ASCII, or with a space at either end, as a name ``report `` has).

    ``header_form=False`` (servers before 0.6.0, per the version table) always sends multipart, and so does
    ``hold`` (called before the body's last bytes go out): the server streams a header-form body into the
    replica as it arrives, but reads a form whole before it writes.
    Idempotent unless ``append``: the same bytes at the same offset give the same object.
    """
    if path is None and parallel_write_handle is None:
        raise IrodsUsageError("write needs a path or a parallel_write_handle", operation="data_objects.write")
    if path is not None:
        validate_path(path, operation="data_objects.write")
    params = _fields(
        lpath=path if parallel_write_handle is None else None,
        **target_fields("data_objects.write", resource=resource, replica_number=replica_number),
        offset=offset if offset or parallel_write_handle else None,
        truncate=None if truncate else False,
        append=append or None,
        parallel_write_handle=parallel_write_handle,
        stream_index=stream_index,
        ticket=ticket,
    )
    name, idempotent = "data_objects.write", not append
    if header_form and hold is None and all(_header_safe(value) for _, value in params):
        headers = (
            ("irods-api-request-op", "write"),
            *((f"irods-api-request-{key}", value) for key, value in params),
            ("Content-Type", "application/octet-stream"),
        )
        return Operation(
            name=name,
            method="POST",
            endpoint="data-objects",
            headers=headers,
            content=bytes(data),
            path=path,
            idempotent=idempotent,
            decode=_none,
        )
    # Header values must be visible ASCII without edge spaces: other paths go as multipart (binary-safe,
    # never urlencoded), which carries any value exactly.
    return Operation(
        name=name,
        method="POST",
        endpoint="data-objects",
        fields=(("op", "write"), *params, ("bytes", bytes(data))),
        path=path,
        idempotent=idempotent,
        decode=_none,
        hold=hold,
    )


def do_parallel_write_init(
    path: str,
    *,
    stream_count: int,
    truncate: bool = True,
    append: bool = False,
    resource: str | None = None,
    replica_number: int | None = None,
    ticket: str | None = None,
) -> Operation[str]:
    """POST data-objects parallel_write_init → handle (not retried: a second init would lock the object)."""
    validate_path(path, operation="data_objects.parallel_write_init")
    fields = (
        ("lpath", path),
        ("stream-count", str(stream_count)),
        *_fields(
            truncate=None if truncate else False,
            append=append or None,
            **target_fields(
                "data_objects.parallel_write_init", resource=resource, replica_number=replica_number
            ),
            ticket=ticket,
        ),
    )

    def decode(data: dict[str, Any]) -> str:
        return text(data, "parallel_write_handle", empty=False)

    return _post(
        "data_objects.parallel_write_init",
        "data-objects",
        "parallel_write_init",
        path,
        idempotent=False,
        decode=decode,
        fields=fields,
    )


def do_parallel_write_shutdown(handle: str) -> Operation[None]:
    """POST data-objects parallel_write_shutdown (the server accepts unknown handles)."""
    return _post(
        "data_objects.parallel_write_shutdown",
        "data-objects",
        "parallel_write_shutdown",
        None,
        idempotent=True,
        fields=(("parallel-write-handle", handle),),
    )


def do_remove(
    path: str, *, catalog_only: bool = False, no_trash: bool = False, admin: bool = False
) -> Operation[None]:
    """POST data-objects remove (to trash unless ``no_trash``)."""
    validate_path(path, operation="data_objects.remove")
    fields = (
        ("lpath", path),
        ("catalog-only", _flag(catalog_only)),
        *_fields(no_trash=no_trash or None, admin=admin or None),
    )
    return _post("data_objects.remove", "data-objects", "remove", path, idempotent=False, fields=fields)


def do_rename(old: str, new: str) -> Operation[None]:
    """POST data-objects rename."""
    validate_path(old, operation="data_objects.rename")
    validate_path(new, operation="data_objects.rename")
    refuse_cross_zone_rename(old, new, "data_objects.rename")
    fields = (("old-lpath", old), ("new-lpath", new))
    return _post(
        "data_objects.rename", "data-objects", "rename", old, idempotent=False, fields=fields, destination=new
    )


def do_copy(
    src: str,
    dst: str,
    *,
    overwrite: bool = False,
    src_resource: str | None = None,
    dst_resource: str | None = None,
) -> Operation[None]:
    """POST data-objects copy (idempotent only with ``overwrite``; a lost reply is never resent: the copy of
    a large object outlasts the server's request deadline, ``data_objects.copy`` reads its outcome back)."""
    validate_path(src, operation="data_objects.copy")
    validate_path(dst, operation="data_objects.copy")
    fields = (
        ("src-lpath", src),
        ("dst-lpath", dst),
        *_fields(src_resource=src_resource, dst_resource=dst_resource, overwrite=overwrite or None),
    )
    return _post(
        "data_objects.copy",
        "data-objects",
        "copy",
        src,
        idempotent=overwrite,
        fields=fields,
        destination=dst,
        resend_lost_reply=False,
    )


def do_touch(
    path: str,
    *,
    no_create: bool = False,
    replica_number: int | None = None,
    leaf_resource: str | None = None,
    seconds_since_epoch: int | None = None,
    reference: str | None = None,
) -> Operation[None]:
    """POST data-objects touch (creates an empty object unless ``no_create``)."""
    validate_path(path, operation="data_objects.touch")
    fields = (
        ("lpath", path),
        *_fields(
            no_create=no_create or None,
            replica_number=replica_number,
            leaf_resource=leaf_resource,
            seconds_since_epoch=seconds_since_epoch,
            reference=reference,
        ),
    )
    return _post("data_objects.touch", "data-objects", "touch", path, idempotent=True, fields=fields)


def do_truncate(
    path: str,
    size: int,
    *,
    resource: str | None = None,
    replica_number: int | None = None,
    admin: bool = False,
) -> Operation[None]:
    """POST data-objects truncate to ``size`` bytes."""
    validate_path(path, operation="data_objects.truncate")
    fields = (
        ("lpath", path),
        ("size", str(size)),
        *_fields(
            **target_fields("data_objects.truncate", resource=resource, replica_number=replica_number),
            admin=admin or None,
        ),
    )
    return _post("data_objects.truncate", "data-objects", "truncate", path, idempotent=True, fields=fields)


def do_calculate_checksum(
    path: str,
    *,
    force: bool = False,
    all_replicas: bool = False,
    resource: str | None = None,
    replica_number: int | None = None,
    admin: bool = False,
) -> Operation[str]:
    """POST data-objects calculate_checksum → ``sha2:<base64>``. A lost reply of one replica's checksum is
    never resent (a resend hashes from the start again): ``data_objects.calculate_checksum`` reads it back."""
    validate_path(path, operation="data_objects.calculate_checksum")
    fields = (
        ("lpath", path),
        *_fields(
            **target_fields(
                "data_objects.calculate_checksum", resource=resource, replica_number=replica_number
            ),
            force=force or None,
            all=all_replicas or None,
            admin=admin or None,
        ),
    )

    def decode(data: dict[str, Any]) -> str:
        return text(data, "checksum")

    return _post(
        "data_objects.calculate_checksum",
        "data-objects",
        "calculate_checksum",
        path,
        idempotent=True,
        decode=decode,
        fields=fields,
        resend_lost_reply=all_replicas,
    )


def do_verify_checksum(
    path: str,
    *,
    resource: str | None = None,
    replica_number: int | None = None,
    compute_checksums: bool = True,
    admin: bool = False,
) -> Operation[ChecksumReport]:
    """GET data-objects verify_checksum; findings (CHECK_VERIFICATION_RESULTS) are a result, not an error.

    Only ``warning`` and ``error`` findings make the report not ``ok``: the server adds an ``info`` result
    (error code 0) counting the stale replicas it skipped, and any result makes its answer
    CHECK_VERIFICATION_RESULTS (irods 4.3.4 rsDataObjChksum.cpp:164-176, 377-380).
    """

    def decode(data: dict[str, Any]) -> ChecksumReport:
        code = irods_status(data)[0] or 0
        results = tuple(objects(data, "results"))
        findings = [r for r in results if not (r.get("severity") == "info" and r.get("error_code") == 0)]
        noted = code == 0 or (code == CHECK_VERIFICATION_RESULTS and bool(results))  # never sent empty
        return ChecksumReport(ok=noted and not findings, results=results)

    op = _get(
        "data_objects.verify_checksum",
        "data-objects",
        "verify_checksum",
        path,
        decode,
        **target_fields("data_objects.verify_checksum", resource=resource, replica_number=replica_number),
        compute_checksums=None if compute_checksums else False,
        admin=admin or None,
    )
    # A lost reply is judged by the caller: a verification the deadline cut off would only be cut off again.
    return dataclasses.replace(
        op, accept_codes=frozenset({CHECK_VERIFICATION_RESULTS}), resend_lost_reply=False
    )


def do_set_permission(path: str, entity: str, permission: str, *, admin: bool = False) -> Operation[None]:
    """POST data-objects set_permission."""
    return _set_permission(
        kind="data_objects",
        endpoint="data-objects",
        path=path,
        entity=entity,
        permission=permission,
        admin=admin,
    )


def do_modify_permissions(
    path: str, operations: Iterable[PermissionOperation], *, admin: bool = False
) -> Operation[None]:
    """POST data-objects modify_permissions (atomic)."""
    return _modify_permissions("data_objects", "data-objects", path, operations, admin)


# ---- replicas --------------------------------------------------------------------------------------------

# modify_replica properties the 0.7.0 server maps to catalog keywords (``new-data-<name>``).
REPLICA_PROPERTIES = frozenset(
    [
        "checksum",
        "comments",
        "create-time",
        "expiry-time",
        "mode",
        "modify-time",
        "path",
        "replica-number",
        "replica-status",
        "resource-id",
        "size",
        "status",
        "type-name",
        "version",
        "access-time",
    ]
)


def do_replicate(
    path: str,
    dst_resource: str,
    *,
    src_resource: str | None = None,
    src_replica_number: int | None = None,
    admin: bool = False,
) -> Operation[None]:
    """POST data-objects replicate: a good copy on ``dst_resource`` (new, or a stale one refreshed); a lost
    reply is read back by ``data_objects.replicate``, not resent."""
    name = "data_objects.replicate"
    validate_path(path, operation=name)
    target_fields(name, resource=dst_resource)
    source = target_fields(name, resource=src_resource, replica_number=src_replica_number)
    fields = (
        ("lpath", path),
        ("dst-resource", dst_resource),
        *_fields(
            src_resource=source["resource"],
            src_replica_number=source["replica_number"],
            admin=admin or None,
        ),
    )
    return _post(
        name, "data-objects", "replicate", path, idempotent=True, fields=fields, resend_lost_reply=False
    )


def do_trim(
    path: str, replica_number: int, *, catalog_only: bool = False, admin: bool = False
) -> Operation[None]:
    """POST data-objects trim of one replica (``catalog_only`` unregisters it, leaving the file)."""
    name = "data_objects.trim"
    validate_path(path, operation=name)
    target = target_fields(name, replica_number=replica_number)
    fields = (
        ("lpath", path),
        *_fields(**target, catalog_only=catalog_only or None, admin=admin or None),
    )
    return _post(name, "data-objects", "trim", path, idempotent=False, fields=fields)


def do_modify_replica(
    path: str,
    changes: dict[str, str | int],
    *,
    replica_number: int | None = None,
    resource_hierarchy: str | None = None,
    expiry_param: str = "new-data-expiry-time",
) -> Operation[None]:
    """POST data-objects modify_replica (rodsadmin): catalog properties of one replica.

    ``changes`` maps property names (``replica-status``, ``size``, ``checksum``, ... with ``-`` or
    ``_``) to values; the replica is chosen by number or by its full resource hierarchy.
    ``expiry_param`` is the server release's name for the expiry (``ApiVersion.modify_replica_expiry_param``:
    ``new-data-expiry`` before 0.7.0, which ignores or refuses the 0.7.0 name).
    """
    name = "data_objects.modify_replica"
    validate_path(path, operation=name)
    if (replica_number is None) == (resource_hierarchy is None):
        raise IrodsUsageError(
            "give exactly one of replica_number or resource_hierarchy", operation=name, path=path
        )
    props = {key.replace("_", "-"): value for key, value in changes.items()}
    unknown = sorted(set(props) - REPLICA_PROPERTIES)
    if unknown or not props:
        raise IrodsUsageError(
            f"unknown or no replica properties {unknown}; expected some of {sorted(REPLICA_PROPERTIES)}",
            operation=name,
            path=path,
        )
    target = target_fields(name, replica_number=replica_number)
    fields = (
        ("lpath", path),
        *_fields(replica_number=target["replica_number"], resource_hierarchy=resource_hierarchy),
        *(
            (expiry_param if key == "expiry-time" else f"new-data-{key}", str(value))
            for key, value in sorted(props.items())
        ),
    )
    return _post(name, "data-objects", "modify_replica", path, idempotent=True, fields=fields)


def do_register(
    path: str,
    physical_path: str,
    resource: str,
    *,
    as_additional_replica: bool = False,
    data_size: int | None = None,
    checksum: bool = False,
    force: bool = False,
) -> Operation[None]:
    """POST data-objects register: catalog a file already on ``resource``'s host (rodsadmin as a rule)."""
    name = "data_objects.register"
    validate_path(path, operation=name)
    if not physical_path.startswith("/"):
        raise IrodsUsageError(f"physical_path must be absolute: {physical_path!r}", operation=name, path=path)
    target = target_fields(name, resource=resource)
    fields = (
        ("lpath", path),
        ("ppath", physical_path),
        *_fields(
            resource=target["resource"],
            as_additional_replica=as_additional_replica or None,
            data_size=data_size,
            checksum=checksum or None,
            force=force or None,
        ),
    )
    return _post(name, "data-objects", "register", path, idempotent=False, fields=fields)
