"""Handlers of ``/collections``."""

from __future__ import annotations

import asyncio
from functools import partial

from starlette.responses import Response

from irods_provider.testing._deadline import server_unlink
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._h_common import (
    atomic,
    enable_ticket,
    kind_precheck,
    permission_param,
    permission_params_valid,
    stoi_param,
    touch_error,
)
from irods_provider.testing._http import Ctx, Handler, call, irods_error, ok, render


async def create(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    try:
        created = ctx.model.create_collection(ctx.user, lpath, intermediates=ctx.flag("create-intermediates"))
    except IrodsModelError as e:
        return render(e)
    return ok(created=created)


async def remove(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    remove_tree = partial(
        ctx.model.remove_collection,
        ctx.user,
        lpath,
        recurse=ctx.flag("recurse"),
        no_trash=ctx.flag("no-trash"),
        admin=ctx.flag("admin"),
        unlink=partial(server_unlink, ctx.config),
    )
    return await asyncio.to_thread(call, remove_tree, error=render)  # paced object by object


async def stat(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    if (failed := enable_ticket(ctx, ctx.get("ticket"))) is not None:
        return failed
    try:
        body = ctx.model.stat_collection(ctx.user, lpath, ticket=ctx.get("ticket"))
    except IrodsModelError as e:
        return irods_error(e, message=e.name != "NOT_A_COLLECTION")
    return ok(**body)


async def list_(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    if (failed := enable_ticket(ctx, ctx.get("ticket"))) is not None:
        return failed
    try:
        entries = ctx.model.list_collection(
            ctx.user, lpath, recurse=ctx.flag("recurse"), ticket=ctx.get("ticket")
        )
    except IrodsModelError as e:
        return render(e)
    return ok(entries=entries or None)


async def rename(ctx: Ctx) -> Response:
    old = ctx.require("old-lpath")
    if (
        failed := kind_precheck(ctx, old, kind="collection", params_valid="new-lpath" in ctx.params)
    ) is not None:
        return failed
    new = ctx.require("new-lpath")
    return call(lambda: ctx.model.rename_collection(ctx.user, old, new), error=partial(render, all400=True))


async def touch(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    seconds = stoi_param(ctx, "seconds-since-epoch")
    return call(
        lambda: ctx.model.touch_collection(ctx.user, lpath, seconds=seconds, reference=ctx.get("reference")),
        error=touch_error,
    )


async def set_permission(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    valid = permission_params_valid(ctx)
    if (failed := kind_precheck(ctx, lpath, kind="collection", params_valid=valid)) is not None:
        return failed
    entity, perm = ctx.require("entity-name"), permission_param(ctx)
    return call(
        lambda: ctx.model.set_permission(
            ctx.user, lpath, kind="collection", entity=entity, permission=perm, admin=ctx.flag("admin")
        ),
        error=render,
    )


async def set_inheritance(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    enable = ctx.require("enable") == "1"
    return call(
        lambda: ctx.model.set_inheritance(ctx.user, lpath, enable=enable, admin=ctx.flag("admin")),
        error=render,
    )


async def modify_permissions(ctx: Ctx) -> Response:
    return atomic(ctx, kind="collection", permissions=True)


async def modify_metadata(ctx: Ctx) -> Response:
    return atomic(ctx, kind="collection", permissions=False)


OPS: dict[str, dict[str, Handler]] = {
    "GET": {"list": list_, "stat": stat},
    "POST": {
        "create": create,
        "remove": remove,
        "rename": rename,
        "touch": touch,
        "set_permission": set_permission,
        "set_inheritance": set_inheritance,
        "modify_permissions": modify_permissions,
        "modify_metadata": modify_metadata,
    },
}
