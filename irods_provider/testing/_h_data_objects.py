"""Handlers of ``/data-objects`` (writes live in ``_h_write``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

from starlette.responses import JSONResponse, Response, StreamingResponse

from irods_provider.testing._deadline import server_unlink, server_work
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._fslib import asks_catalog, library_stat
from irods_provider.testing._h_common import (
    atomic,
    enable_ticket,
    kind_precheck,
    permission_param,
    permission_params_valid,
    stoi_param,
    touch_error,
)
from irods_provider.testing._h_write import form_write, parallel_write_init, parallel_write_shutdown
from irods_provider.testing._http import Ctx, Handler, HttpError, call, empty, irods_error, ok, render
from irods_provider.testing._params import to_int
from irods_provider.testing._replicas import OTHER_PROPERTIES, REPLICA_PROPERTIES

OPEN_400 = frozenset({"SYS_REPLICA_DOES_NOT_EXIST", "SYS_RESC_DOES_NOT_EXIST", "SYS_NO_GOOD_REPLICA"})


def rc_error(err: IrodsModelError) -> Response:
    """An error of an op that sends the rc* API's int alone: ``{"status_code": ec}``, no message.

    data_objects/src/main.cpp (0.7.0): replicate :1700-1707, trim :1783, register :2119-2121, remove :2208,
    copy :2370 (after its 400 pre-check), calculate_checksum :2664-2666, verify_checksum :2749-2759,
    modify_replica :2929. Only a thrown irods::exception carries a ``status_message``.
    """
    if err.name in ("NOT_A_COLLECTION", "NOT_A_DATA_OBJECT"):
        return irods_error(err, status=400, message=False)
    return irods_error(err, message=False)


async def stat(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    if (failed := enable_ticket(ctx, ctx.get("ticket"))) is not None:
        return failed
    try:
        body = ctx.model.stat_data_object(ctx.user, lpath, ticket=ctx.get("ticket"))
        if asks_catalog(lpath) and ctx.get("ticket") is None:  # the library's own queries (_fslib)
            body.update(library_stat(ctx.model, ctx.user, lpath, ctx.config.irods_release))
    except IrodsModelError as e:
        return irods_error(e, message=e.name != "NOT_A_DATA_OBJECT")
    return ok(**body)


def _read_file(path: Path, offset: int, count: int, chunk: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(min(count, chunk))


async def _chunks(path: Path, offset: int, count: int, chunk: int) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        f.seek(offset)
        remaining = count
        while remaining > 0:
            data = f.read(min(chunk, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


def _keyword_replica(ctx: Ctx) -> int | None:
    """``replica-number`` of ops that pass it to iRODS as the REPL_NUM_KW string without converting it
    (truncate, trim, calculate/verify_checksum: data_objects/src/main.cpp:1762,2563,2642,2730 at 0.7.0), so a
    non-integer is iRODS's error at HTTP 200, not a 400. The code is the one iRODS gives replicate for the
    same keyword (USER_INVALID_REPLICA_INPUT, pinned by the upstream suite); unverified for these ops."""
    text = ctx.get("replica-number")
    if text is None:
        return None
    number = to_int(text, bits=32)
    if number is None:
        raise IrodsModelError("USER_INVALID_REPLICA_INPUT", f"Invalid replica number [{text}].")
    return number


def _read_int(ctx: Ctx, name: str, *, bits: int = 64) -> int | None:
    """A read parameter: not an integer, or negative, → 400 (data_objects/src/main.cpp:738-783)."""
    value = ctx.get(name)
    if value is None:
        return None
    number = to_int(value, bits=bits)
    if number is None or number < 0:
        raise HttpError(400)
    return number


async def read(ctx: Ctx) -> Response:
    """data_objects/src/main.cpp:681-1030 (0.7.0) in its order: lpath, ticket, 404 unless a readable data
    object, offset, the size of its newest good replica (none, as while it is written: 500), count, then
    replica-number (only when no resource is given), then the open (400)."""
    lpath = ctx.require("lpath")
    ticket = ctx.get("ticket")
    if (failed := enable_ticket(ctx, ticket)) is not None:
        return failed
    no_good_replica = False
    try:
        ctx.model.open_read(ctx.user, lpath, ticket=ticket)
    except IrodsModelError as e:
        if e.name == "NOT_A_DATA_OBJECT":
            return empty(404)
        no_good_replica = e.name == "SYS_NO_GOOD_REPLICA"
    offset = _read_int(ctx, "offset")
    if not no_good_replica and asks_catalog(lpath) and ticket is None:
        try:  # data_object_size's own query (_fslib): on 4.3 a quote in the path can make it find nothing
            library_stat(ctx.model, ctx.user, lpath, ctx.config.irods_release)
        except IrodsModelError:
            no_good_replica = True
    if no_good_replica:  # data_object_size (:762) throws; its filesystem_error is answered 500 (:1013-1016)
        return empty(500)
    count = _read_int(ctx, "count")
    targeting = ctx.config.profile.replica_targeting  # 0.5.0 ignores resource / replica-number
    resource = ctx.get("resource") if targeting else None
    replica = None
    if targeting and resource is None and (text := ctx.get("replica-number")) is not None:
        replica = to_int(text, bits=32)
        if replica is None:
            raise HttpError(400)
    try:
        spool_file, size = ctx.model.open_read(
            ctx.user, lpath, resource=resource, replica_number=replica, ticket=ticket
        )
    except IrodsModelError as e:
        return empty(ctx.config.profile.read_open_failure_status if e.name in OPEN_400 else 404)
    offset = offset or 0
    available = size - offset
    if available < 0:
        raise HttpError(500)
    count = available if count is None else min(count, available)
    buffer = ctx.config.read_buffer_bytes
    if count <= buffer:
        return Response(_read_file(spool_file, offset, count, buffer), media_type="application/json")
    if ticket is not None and not _opens_without_ticket(ctx, lpath, resource, replica):
        return empty(ctx.config.profile.read_open_failure_status)
    return StreamingResponse(
        _chunks(spool_file, offset, count, buffer), media_type="application/octet-stream"
    )


def _opens_without_ticket(ctx: Ctx, lpath: str, resource: str | None, replica: int | None) -> bool:
    """Whether the caller can open ``lpath`` on its own. A read over the read buffer opens the object on a
    dedicated connection on which the ticket was never enabled (data_objects/src/main.cpp:804-909 at 0.7.0,
    :605-670 at 0.4.0 and 0.5.0: the ticket goes to the pooled connection only, :711-722 / :512-523), so a
    caller who can read only through the ticket fails there: 400 from 0.6.0 on, 500 before. (With
    ``enable_4_2_compatibility`` the pooled connection is reused; the emulator models the default, off.)"""
    try:
        ctx.model.open_read(ctx.user, lpath, resource=resource, replica_number=replica)
    except IrodsModelError:
        return False
    return True


async def touch(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    replica, seconds = stoi_param(ctx, "replica-number"), stoi_param(ctx, "seconds-since-epoch")
    return call(
        lambda: ctx.model.touch_data_object(
            ctx.user,
            lpath,
            no_create=ctx.flag("no-create"),
            replica_number=replica,
            leaf_resource=ctx.get("leaf-resource"),
            seconds=seconds,
            reference=ctx.get("reference"),
        ),
        error=touch_error,
    )


async def truncate(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    size = ctx.int_param("size")
    if size is None:
        raise HttpError(400)
    try:
        replica = _keyword_replica(ctx)
        info = ctx.model.truncate_data_object(
            ctx.user,
            lpath,
            size=size,
            resource=ctx.get("resource"),
            replica_number=replica,
            admin=ctx.flag("admin"),
        )
    except IrodsModelError as e:
        # data_objects/src/main.cpp:2577-2583 (0.7.0): rc_replica_truncate's int plus its JSON output, which
        # on a failure names no replica (irods 4.3.4 rs_replica_truncate.cpp:35-58, 180-260).
        info = {"message": e.message, "resource_hierarchy": None, "replica_number": None}
        return JSONResponse({"irods_response": {"status_code": e.code, "additional_info": info}})
    return JSONResponse({"irods_response": {"status_code": 0, "additional_info": info}})


async def remove(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    catalog_only = ctx.require("catalog-only") == "1"
    no_trash = ctx.flag("no-trash")
    if catalog_only and no_trash:
        raise HttpError(400)
    return call(
        lambda: ctx.model.remove_data_object(
            ctx.user, lpath, catalog_only=catalog_only, no_trash=no_trash, admin=ctx.flag("admin")
        ),
        error=rc_error,
    )


async def rename(ctx: Ctx) -> Response:
    old = ctx.require("old-lpath")
    if (
        failed := kind_precheck(ctx, old, kind="data_object", params_valid="new-lpath" in ctx.params)
    ) is not None:
        return failed
    new = ctx.require("new-lpath")
    return call(lambda: ctx.model.rename_data_object(ctx.user, old, new), error=render)


async def copy(ctx: Ctx) -> Response:
    """In a worker thread: the model locks the destination, waits there while a test holds it, copies."""
    src, dst = ctx.require("src-lpath"), ctx.require("dst-lpath")
    copy_data_object = partial(
        ctx.model.copy_data_object,
        ctx.user,
        src,
        dst,
        src_resource=ctx.get("src-resource"),
        dst_resource=ctx.get("dst-resource"),
        overwrite=ctx.flag("overwrite"),
    )
    return await asyncio.to_thread(call, copy_data_object, error=rc_error)


async def replicate(ctx: Ctx) -> Response:
    """In a worker thread, as copy: the object stays locked while a test holds it."""
    lpath, dst = ctx.require("lpath"), ctx.require("dst-resource")
    replicate = partial(
        ctx.model.replicate,
        ctx.user,
        lpath,
        dst_resource=dst,
        src_resource=ctx.get("src-resource"),
        src_replica=ctx.get("src-replica-number") if ctx.config.profile.replica_targeting else None,
        admin=ctx.flag("admin"),
    )
    return await asyncio.to_thread(call, replicate, error=rc_error)


async def set_permission(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    valid = permission_params_valid(ctx)
    if (failed := kind_precheck(ctx, lpath, kind="data_object", params_valid=valid)) is not None:
        return failed
    entity, perm = ctx.require("entity-name"), permission_param(ctx)
    return call(
        lambda: ctx.model.set_permission(
            ctx.user, lpath, kind="data_object", entity=entity, permission=perm, admin=ctx.flag("admin")
        ),
        error=render,
    )


async def modify_permissions(ctx: Ctx) -> Response:
    return atomic(ctx, kind="data_object", permissions=True)


async def modify_metadata(ctx: Ctx) -> Response:
    return atomic(ctx, kind="data_object", permissions=False)


async def calculate_checksum(ctx: Ctx) -> Response:
    """Hashing takes the server's pace; the checksum is registered when it ends (then the reply is sent)."""
    lpath = ctx.require("lpath")
    try:
        replica = _keyword_replica(ctx)
        resource, force, every, admin = (
            ctx.get("resource"),
            ctx.flag("force"),
            ctx.flag("all"),
            ctx.flag("admin"),
        )
        work = ctx.model.checksum_work(
            ctx.user,
            lpath,
            resource=resource,
            replica_number=replica,
            force=force,
            all_replicas=every,
            admin=admin,
        )
        await server_work(ctx.config, work)
        await ctx.model.pause_if_held(lpath, "checksum")  # the test hook
        checksum = ctx.model.calculate_checksum(
            ctx.user,
            lpath,
            resource=resource,
            replica_number=replica,
            force=force,
            all_replicas=every,
            admin=admin,
        )
    except IrodsModelError as e:
        return rc_error(e)
    if checksum is None:
        # ``all=1`` over good replicas that differ: rcDataObjChksum returns 0 and a NULL checksum, which the
        # response's std::string cannot hold (data_objects:2670 at 0.7.0; see testing/_checksums.py).
        return Response(b"", status_code=500)
    return ok(checksum=checksum)


async def verify_checksum(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    try:
        replica = _keyword_replica(ctx)
        if ctx.flag("compute-checksums", default=True):
            work = ctx.model.verify_work(
                ctx.user, lpath, resource=ctx.get("resource"), replica_number=replica, admin=ctx.flag("admin")
            )
            await server_work(ctx.config, work)
        results = ctx.model.verify_checksum(
            ctx.user,
            lpath,
            resource=ctx.get("resource"),
            replica_number=replica,
            compute=ctx.flag("compute-checksums", default=True),
            admin=ctx.flag("admin"),
        )
    except IrodsModelError as e:
        return rc_error(e)
    if results:
        return irods_error(IrodsModelError("CHECK_VERIFICATION_RESULTS"), message=False, results=results)
    return ok()


async def register(ctx: Ctx) -> Response:
    lpath, ppath, resource = ctx.require("lpath"), ctx.require("ppath"), ctx.require("resource")
    data_size = ctx.int_param("data-size")
    return call(
        lambda: ctx.model.register(
            ctx.user,
            lpath,
            physical_path=ppath,
            resource=resource,
            additional_replica=ctx.flag("as-additional-replica"),
            data_size=data_size,
            checksum=ctx.flag("checksum"),
            force=ctx.flag("force"),
        ),
        error=rc_error,
    )


async def trim(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    replica = ctx.require("replica-number")  # passed to iRODS as a string (DO:1762); the model parses it
    if ctx.model.trim_unlinks(lpath, replica, catalog_only=ctx.flag("catalog-only")):
        await asyncio.to_thread(server_unlink, ctx.config)  # the file goes before the catalog row
    return call(
        lambda: ctx.model.trim(
            ctx.user,
            lpath,
            replica=replica,
            catalog_only=ctx.flag("catalog-only"),
            admin=ctx.flag("admin"),
        ),
        error=rc_error,
    )


MODIFY_REPLICA_PREFIX = "new-data-"


def _replica_changes(ctx: Ctx) -> dict[str, str]:
    """The ``new-data-*`` properties this API version knows, under the model's (0.7.0) names.

    0.5.0/0.6.0 call the expiry ``new-data-expiry``, 0.7.0 ``new-data-expiry-time``; 0.5.0 has no
    ``new-data-access-time``. Unknown names are ignored, as the server's property table ignores them.
    """
    profile = ctx.config.profile
    known = (set(REPLICA_PROPERTIES) | set(OTHER_PROPERTIES)) - {"expiry-time"}
    if not profile.replica_access_time:
        known.discard("access-time")
    changes: dict[str, str] = {}
    for key, value in ctx.params.items():
        name = key[len(MODIFY_REPLICA_PREFIX) :] if key.startswith(MODIFY_REPLICA_PREFIX) else None
        if name == profile.replica_expiry_param:
            changes["expiry-time"] = value
        elif name in known:
            changes[name] = value
    return changes


async def modify_replica(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    hierarchy, number_text = ctx.get("resource-hierarchy"), ctx.get("replica-number")
    if (hierarchy is None) == (number_text is None):
        raise HttpError(400)
    number = None
    if number_text is not None:
        number = to_int(number_text)
        if number is None:
            raise HttpError(500)
    changes = _replica_changes(ctx)
    if not changes:
        raise HttpError(400)
    return call(
        lambda: ctx.model.modify_replica(
            ctx.user, lpath, replica_number=number, hierarchy=hierarchy, changes=changes
        ),
        error=rc_error,
    )


OPS: dict[str, dict[str, Handler]] = {
    "GET": {"read": read, "stat": stat, "verify_checksum": verify_checksum},
    "POST": {
        "touch": touch,
        "truncate": truncate,
        "remove": remove,
        "write": form_write,
        "parallel_write_init": parallel_write_init,
        "parallel_write_shutdown": parallel_write_shutdown,
        "rename": rename,
        "copy": copy,
        "replicate": replicate,
        "trim": trim,
        "register": register,
        "set_permission": set_permission,
        "modify_permissions": modify_permissions,
        "calculate_checksum": calculate_checksum,
        "modify_metadata": modify_metadata,
        "modify_replica": modify_replica,
    },
}
