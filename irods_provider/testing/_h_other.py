"""Handlers of ``/query``, ``/tickets``, ``/users-groups`` and ``/resources``."""

from __future__ import annotations

import re
import sys
from functools import partial
from typing import Any

from starlette.responses import JSONResponse, Response

from irods_provider.testing._error_table import error_code
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._genquery import (
    GenQueryError,
    ascii_upper,
    checks_collection_access,
    coll_name_filter,
    execute_genquery1,
)
from irods_provider.testing._genquery2 import GenQuery2Error, execute_genquery2
from irods_provider.testing._genquery2_rows import catalog_rows
from irods_provider.testing._h_common import atomic, stoi_param
from irods_provider.testing._http import (
    Ctx,
    Handler,
    HttpError,
    call,
    empty,
    irods_error,
    not_implemented,
    ok,
)
from irods_provider.testing._params import to_int
from irods_provider.testing._resources import PROPERTIES as RESOURCE_PROPERTIES
from irods_provider.testing._zones import ZONE_PROPERTIES

# ---- /query ------------------------------------------------------------------------------------


def _default(ctx: Ctx, name: str, default: str) -> str:
    """An optional parameter: ``default`` only when absent; one sent empty stays "" (and fails validation)."""
    value = ctx.get(name)
    return default if value is None else value


def _paging(ctx: Ctx) -> tuple[int, int]:
    offset = stoi_param(ctx, "offset") or 0
    count = stoi_param(ctx, "count")
    max_rows = ctx.config.max_rows
    count = max_rows if count is None else min(max(count, 1), max_rows)
    return max(offset, 0), count


def _catalog_zone(ctx: Ctx) -> str:
    """The catalog a GenQuery runs in: the local zone, or the zone the ``zone`` hint names.

    The server hands ``zone`` to ``rc_gen_query`` as zone hint (endpoints/query/src/main.cpp:237 at 0.7.0);
    iRODS takes the first path component of a hint that is a path, and an unknown zone fails with
    SYS_INVALID_ZONE_NAME (getZoneInfo; code from rodsErrorTable.h, status not verified against a server).
    """
    hint = ctx.get("zone")
    if not hint:
        return ctx.config.zone
    name = hint.split("/")[1] if hint.startswith("/") else hint
    if name != ctx.config.zone and name not in ctx.model.zone_users:
        raise IrodsModelError("SYS_INVALID_ZONE_NAME", f"Invalid zone name from hint [{hint}].")
    return name


async def execute_genquery(ctx: Ctx) -> Response:
    query = ctx.require("query")
    # A parameter sent empty (``parser=``) is kept as "" by to_argument_list (core/src/common.cpp:136-143
    # at 0.7.0) and fails validation: query/src/main.cpp:115-124 (parser), 209-233 (case-sensitive,
    # distinct).
    parser = _default(ctx, "parser", "genquery1")
    if parser not in ("genquery1", "genquery2"):
        raise HttpError(400)
    if parser == "genquery2":
        return _execute_genquery2(ctx, query)
    offset, count = _paging(ctx)
    case_sensitive = _default(ctx, "case-sensitive", "1")
    distinct = _default(ctx, "distinct", "1")
    if case_sensitive not in ("0", "1") or distinct not in ("0", "1"):
        raise HttpError(400)
    try:
        zone = _catalog_zone(ctx)
        key = (ctx.user, zone or "", query, case_sensitive, distinct)
        cached = ctx.model.query_pages.get(key) if offset else None
        if cached is not None and cached[0] == ctx.model.generation:
            rows = cached[1]
        else:
            release = ctx.config.irods_release
            rows = execute_genquery1(
                query,
                partial(
                    ctx.model.fetch_rows,
                    ctx.user,
                    zone=zone,
                    collections=coll_name_filter(
                        query, case_sensitive=case_sensitive == "1", release=release
                    ),
                    coll_access=checks_collection_access(
                        query, case_sensitive=case_sensitive == "1", release=release
                    ),
                ),
                case_sensitive=case_sensitive == "1",
                release=release,
                distinct=distinct == "1",
                offset=0,
                count=sys.maxsize,
            )
            if len(rows) > offset + count:  # later pages will be asked for: keep this result (a cursor)
                if len(ctx.model.query_pages) >= _CACHED_QUERIES:
                    ctx.model.query_pages.clear()
                ctx.model.query_pages[key] = (ctx.model.generation, rows)
        rows = rows[offset : offset + count]
    except GenQueryError as e:
        # query/src/main.cpp:210-214, 253-262: the query as the library saw it (upper-cased when
        # case-insensitive) in the message of the exception irods::query threw.
        sent = query if case_sensitive == "1" else ascii_upper(query)
        return JSONResponse(
            {"irods_response": {"status_code": e.code, "status_message": e.status_message(sent)}}
        )
    except IrodsModelError as e:
        return irods_error(e)
    return ok(rows=rows)


def _execute_genquery2(ctx: Ctx, query: str) -> Response:
    """query/src/main.cpp:137-171 (0.7.0): rows or ``sql`` verbatim; a failed rc_genquery2 sets HTTP 400
    and a status-only body, then formatting the null output throws, so the client sees HTTP 500 with it."""
    sql_only = ctx.get("sql-only") == "1"
    zone = ctx.get("zone")
    known = {ctx.model.zone, *getattr(ctx.model, "remote_zones", {})}
    if zone is not None and zone not in known:  # rs_genquery2.cpp:64-74 (irods 4.3.4)
        return JSONResponse({"irods_response": {"status_code": error_code("SYS_INVALID_ZONE_NAME")}}, 500)
    try:
        rows = partial(catalog_rows, ctx.model, ctx.user, zone=zone)
        result = execute_genquery2(query, rows, sql_only=sql_only, release=ctx.config.irods_release)
    except GenQuery2Error as e:
        return JSONResponse({"irods_response": {"status_code": e.code}}, status_code=500)
    return ok(sql=result) if isinstance(result, str) else ok(rows=result)


async def execute_specific_query(ctx: Ctx) -> Response:
    name = ctx.require("name")
    offset, count = _paging(ctx)
    # query/src/main.cpp:322-330: boost::split with is_any_of — every character of the delimiter splits.
    delimiters = ctx.get("args-delimiter") or ","
    text = ctx.get("args") or ""
    args = re.split("|".join(map(re.escape, delimiters)), text) if text else []
    if name != "ShowCollAcls":
        return irods_error(IrodsModelError("CAT_UNKNOWN_SPECIFIC_QUERY", f"Unknown specific query [{name}]."))
    rows = ctx.model.show_coll_acls(ctx.user, args[0] if args else "")
    return ok(rows=rows[offset : offset + count])


async def specific_query_admin(ctx: Ctx) -> Response:
    ctx.require("name")
    if not ctx.model.is_admin(ctx.user):
        return irods_error(IrodsModelError("SYS_NO_API_PRIV", "Requires rodsadmin."))
    return irods_error(
        IrodsModelError("SYS_NOT_ALLOWED", "Specific queries cannot be added to the emulator.")
    )


QUERY_OPS: dict[str, dict[str, Handler]] = {
    "GET": {
        "execute_genquery": execute_genquery,
        "execute_specific_query": execute_specific_query,
        "list_genquery_columns": not_implemented,
        "list_specific_queries": not_implemented,
    },
    "POST": {"add_specific_query": specific_query_admin, "remove_specific_query": specific_query_admin},
}

# ---- /tickets ----------------------------------------------------------------------------------


def _list(ctx: Ctx, name: str) -> list[str]:
    value = ctx.get(name)
    return [v for v in value.split(",") if v] if value else []


#: GenQuery results kept for their later pages (per caller, zone and query text), until any POST.
_CACHED_QUERIES = 16

_TICKET_COUNTS = ("use-count", "write-data-object-count", "write-byte-count")


def _ticket_constraints(ctx: Ctx) -> tuple[dict[str, Any], int | None]:
    """The constraints tickets/src/main.cpp:224-327 (0.7.0) applies, in its order, after creating the ticket.

    Counts use ``std::stoi`` and the expiry ``std::stoll`` without a catch (→ HTTP 500); an expiry <= 0 is
    HTTP 400. Either failure stops at that point, leaving the ticket with what was applied so far.
    """
    applied: dict[str, Any] = {}
    for name in _TICKET_COUNTS:
        value = ctx.get(name)
        parsed = 0 if value is None else to_int(value, bits=32)
        if parsed is None:
            return applied, 500
        applied[name.replace("-", "_")] = parsed
    if (text := ctx.get("seconds-until-expiration")) is not None:
        seconds = to_int(text)
        if seconds is None:
            return applied, 500
        if seconds <= 0:
            return applied, 400
        applied["seconds_until_expiration"] = seconds
    applied.update(users=_list(ctx, "users"), groups=_list(ctx, "groups"), hosts=_list(ctx, "hosts"))
    return applied, None


async def ticket_create(ctx: Ctx) -> Response:
    lpath = ctx.require("lpath")
    ticket_type = _default(ctx, "type", "read")  # tickets/src/main.cpp:210-220: "" is a 400
    if ticket_type not in ("read", "write"):
        raise HttpError(400)
    constraints, failure = _ticket_constraints(ctx)
    try:  # the server creates the ticket before it parses any constraint
        ticket = ctx.model.create_ticket(ctx.user, lpath, ticket_type=ticket_type, **constraints)
    except IrodsModelError as e:
        return irods_error(e)
    if failure is not None:
        return empty(failure)
    return ok(ticket=ticket)


async def ticket_remove(ctx: Ctx) -> Response:
    return call(lambda: ctx.model.remove_ticket(ctx.user, ctx.require("name")))


TICKET_OPS: dict[str, dict[str, Handler]] = {
    "GET": {"list": not_implemented, "stat": not_implemented},
    "POST": {"create": ticket_create, "remove": ticket_remove},
}

# ---- /users-groups -----------------------------------------------------------------------------


async def create_user(ctx: Ctx) -> Response:
    name, zone = ctx.require("name"), ctx.require("zone")
    user_type = _default(ctx, "user-type", "rodsuser")  # users_groups/src/main.cpp:150-161: "" is a 400
    if user_type not in ("rodsuser", "groupadmin", "rodsadmin"):
        raise HttpError(400)
    return call(lambda: ctx.model.create_user(ctx.user, name, zone=zone, user_type=user_type))


async def remove_user(ctx: Ctx) -> Response:
    name, zone = ctx.require("name"), ctx.require("zone")
    return call(lambda: ctx.model.remove_user(ctx.user, name, zone=zone))


async def set_password(ctx: Ctx) -> Response:
    name, zone, pw = ctx.require("name"), ctx.require("zone"), ctx.require("new-password")
    return call(lambda: ctx.model.set_password(ctx.user, name, pw, zone=zone))


async def set_user_type(ctx: Ctx) -> Response:
    name, zone, new_type = ctx.require("name"), ctx.require("zone"), ctx.require("new-user-type")
    if new_type not in ("rodsuser", "groupadmin", "rodsadmin"):  # adm::to_user_type throws (utilities.cpp)
        return irods_error(IrodsModelError("SYS_INVALID_INPUT_PARAM", f"Undefined user type [{new_type}]."))
    return call(lambda: ctx.model.set_user_type(ctx.user, name, new_type, zone=zone))


async def create_group(ctx: Ctx) -> Response:
    name = ctx.require("name")
    return call(lambda: ctx.model.create_group(ctx.user, name))


async def remove_group(ctx: Ctx) -> Response:
    name = ctx.require("name")
    return call(lambda: ctx.model.remove_group(ctx.user, name))


async def add_to_group(ctx: Ctx) -> Response:
    user, zone, group = ctx.require("user"), ctx.require("zone"), ctx.require("group")
    return call(lambda: ctx.model.add_to_group(ctx.user, group, user, zone=zone))


async def remove_from_group(ctx: Ctx) -> Response:
    user, zone, group = ctx.require("user"), ctx.require("zone"), ctx.require("group")
    return call(lambda: ctx.model.remove_from_group(ctx.user, group, user, zone=zone))


async def users(ctx: Ctx) -> Response:
    return ok(users=ctx.model.list_users())


async def groups(ctx: Ctx) -> Response:
    return ok(groups=ctx.model.list_groups())


async def is_member_of_group(ctx: Ctx) -> Response:
    group, user, zone = ctx.require("group"), ctx.require("user"), ctx.require("zone")
    try:
        member = ctx.model.is_member_of_group(group, user, zone=zone)
    except IrodsModelError as e:
        return irods_error(e)
    return ok(is_member=member)


async def user_stat(ctx: Ctx) -> Response:
    return ok(**ctx.model.stat_user(ctx.require("name"), zone=ctx.get("zone")))


async def user_modify_metadata(ctx: Ctx) -> Response:
    return atomic(ctx, kind="user", permissions=False)


USERS_OPS: dict[str, dict[str, Handler]] = {
    "GET": {
        "users": users,
        "groups": groups,
        "members": not_implemented,
        "is_member_of_group": is_member_of_group,
        "stat": user_stat,
    },
    "POST": {
        "create_user": create_user,
        "remove_user": remove_user,
        "set_password": set_password,
        "set_user_type": set_user_type,
        "add_user_auth": not_implemented,
        "remove_user_auth": not_implemented,
        "create_group": create_group,
        "remove_group": remove_group,
        "add_to_group": add_to_group,
        "remove_from_group": remove_from_group,
        "modify_metadata": user_modify_metadata,
    },
}

# ---- /resources --------------------------------------------------------------------------------


async def resource_stat(ctx: Ctx) -> Response:
    body = ctx.model.stat_resource(ctx.require("name"))
    if not ctx.config.profile.resource_parent_context and "info" in body:
        body["info"].pop("parent_context", None)  # new in 0.7.0
    return ok(**body)


async def resource_create(ctx: Ctx) -> Response:
    name, type_ = ctx.require("name"), ctx.require("type")
    host, vault, context = ctx.get("host"), ctx.get("vault-path"), ctx.get("context") or ""
    return call(
        lambda: ctx.model.create_resource(
            ctx.user, name, type_=type_, host=host, vault_path=vault, context=context
        )
    )


async def resource_remove(ctx: Ctx) -> Response:
    name = ctx.require("name")
    return call(lambda: ctx.model.remove_resource(ctx.user, name))


async def resource_modify(ctx: Ctx) -> Response:
    name, prop, value = ctx.require("name"), ctx.require("property"), ctx.require("value")
    if prop not in RESOURCE_PROPERTIES:  # resources/src/main.cpp:263-331: no branch matches → nothing, 0
        return ok()
    if prop == "status" and value not in ("up", "down"):
        raise HttpError(400)
    # resources/src/main.cpp:334-345: an iRODS error is reported at HTTP 400 with the JSON envelope.
    error = partial(irods_error, status=400)
    return call(lambda: ctx.model.modify_resource(ctx.user, name, prop=prop, value=value), error=error)


async def resource_add_child(ctx: Ctx) -> Response:
    parent, child, context = ctx.require("parent-name"), ctx.require("child-name"), ctx.get("context") or ""
    return call(lambda: ctx.model.add_child(ctx.user, parent, child, context=context))


async def resource_remove_child(ctx: Ctx) -> Response:
    parent, child = ctx.require("parent-name"), ctx.require("child-name")
    return call(lambda: ctx.model.remove_child(ctx.user, parent, child))


async def resource_rebalance(ctx: Ctx) -> Response:
    name = ctx.require("name")
    return call(lambda: ctx.model.rebalance(ctx.user, name))


async def resource_modify_metadata(ctx: Ctx) -> Response:
    return atomic(ctx, kind="resource", permissions=False)


RESOURCE_OPS: dict[str, dict[str, Handler]] = {
    "GET": {"stat": resource_stat},
    "POST": {
        "create": resource_create,
        "remove": resource_remove,
        "modify": resource_modify,
        "add_child": resource_add_child,
        "remove_child": resource_remove_child,
        "rebalance": resource_rebalance,
        "modify_metadata": resource_modify_metadata,
    },
}

# ---- /rules and /zones (no rule engine, one local zone) ---------------------------------------


async def list_rule_engines(ctx: Ctx) -> Response:
    return ok(rule_engine_plugin_instances=["irods_rule_engine_plugin-irods_rule_language-instance"])


async def rule_execute(ctx: Ctx) -> Response:
    """No rule engine: every rule fails as unparsable rule text does on a real server
    (NO_MICROSERVICE_FOUND_ERR), in the body rules/src/main.cpp:114-206 (0.7.0) always sends:
    ``stdout``/``stderr`` null, no message."""
    ctx.require("rule-text")
    err = IrodsModelError("NO_MICROSERVICE_FOUND_ERR")
    return irods_error(err, message=False, stdout=None, stderr=None)


async def rule_remove_delay_rule(ctx: Ctx) -> Response:
    """No delay rules exist; rcRuleExecDel's answer for an unknown id is assumed CAT_NO_ROWS_FOUND
    (unverified). The body carries only the status code (rules/src/main.cpp:240-256)."""
    ctx.require("rule-id")
    return irods_error(IrodsModelError("CAT_NO_ROWS_FOUND"), message=False)


RULE_OPS: dict[str, dict[str, Handler]] = {
    "GET": {"list_rule_engines": list_rule_engines},
    "POST": {"execute": rule_execute, "remove_delay_rule": rule_remove_delay_rule},
}


async def zone_report(ctx: Ctx) -> Response:
    # ZONE_REPORT_AN needs LOCAL_PRIV_USER_AUTH (irods 4.3.4 lib/api/include/irods/apiTable.hpp:1235), so a
    # rodsuser gets SYS_NO_API_PRIV, sent with the server's fixed message (zones/src/main.cpp:392-403, 0.7.0).
    if not ctx.model.is_admin(ctx.user):
        return irods_error(IrodsModelError("SYS_NO_API_PRIV", "Could not generate zone report."))
    server = {
        "host_system_information": {"hostname": ctx.config.server_hostname},  # rsServerReport.cpp:236-243
        "server_config": {"zone_name": ctx.config.zone},
    }
    return ok(zone_report={"schema_version": "v4", "zones": [{"servers": [server]}]})


async def zone_stat(ctx: Ctx) -> Response:
    return ok(**ctx.model.stat_zone(ctx.require("name")))


async def zone_add(ctx: Ctx) -> Response:
    name = ctx.require("name")
    conn, comment = ctx.get("connection-info") or "", ctx.get("comment") or ""
    return call(lambda: ctx.model.add_zone(ctx.user, name, connection_info=conn, comment=comment))


async def zone_remove(ctx: Ctx) -> Response:
    name = ctx.require("name")
    return call(lambda: ctx.model.remove_zone(ctx.user, name))


async def zone_modify(ctx: Ctx) -> Response:
    name, prop, value = ctx.require("name"), ctx.require("property"), ctx.require("value")
    if prop not in ZONE_PROPERTIES:
        raise HttpError(400)
    return call(lambda: ctx.model.modify_zone(ctx.user, name, prop=prop, value=value))


ZONE_OPS: dict[str, dict[str, Handler]] = {
    "GET": {"report": zone_report, "stat": zone_stat},
    "POST": {"add": zone_add, "remove": zone_remove, "modify": zone_modify},
}
