"""Helpers shared by the endpoint handlers: tickets, open errors, atomic-op envelopes."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from irods_provider.testing._acl_meta import AtomicOperationError
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._http import (
    PRECHECK_ERRORS,
    Ctx,
    HttpError,
    empty,
    irods_error,
    ok,
    parse_json,
)
from irods_provider.testing._params import to_int

OPEN_FAILURE = "Output stream to data object is in a bad state."


def enable_ticket(ctx: Ctx, ticket: str | None) -> Response | None:
    """Enable a ticket for this request; failure → 500 with the iRODS code, like the server."""
    if ticket is None:
        return None
    try:
        ctx.model.enable_ticket(ctx.user, ticket)
    except IrodsModelError as e:
        return JSONResponse(
            {
                "irods_response": {
                    "status_code": e.code,
                    "status_message": "Error enabling ticket on connection.",
                }
            },
            status_code=500,
        )
    return None


def open_error(ctx: Ctx, err: IrodsModelError) -> Response:
    """A write-stream open failure as the API version answers it.

    0.5.0: HTTP 500 with an empty body; 0.6.0: 200 + INVALID_HANDLE; 0.7.0: 200 + INVALID_HANDLE, or the
    real code when ``dstream_exposes_irods_error_codes`` (a server built against iRODS >= 5.1).
    """
    failure = ctx.config.profile.open_failure
    if failure == "http500":
        return empty(500)
    exposed = failure == "irods_code" and ctx.config.dstream_exposes_irods_error_codes
    code = err.code if exposed else -175000
    return JSONResponse({"irods_response": {"status_code": code, "status_message": OPEN_FAILURE}})


def atomic(ctx: Ctx, *, kind: str, permissions: bool) -> Response:
    """modify_permissions / modify_metadata with the ``failed_operation`` envelope.

    The entity is ``lpath`` for collections and data objects, ``name`` for users and resources.
    """
    lpath = ctx.require("lpath" if kind in ("collection", "data_object") else "name")
    if permissions:
        # shared_api_operations.cpp:55-99 (0.7.0): the path kind is checked before the JSON is parsed.
        ctx.require("operations")
        if (wrong := wrong_kind(ctx, lpath, kind=kind)) is not None:
            return wrong
    operations = parse_json(ctx.require("operations"))
    admin = ctx.flag("admin")
    try:
        if permissions:
            ctx.model.modify_permissions(ctx.user, lpath, kind=kind, operations=operations, admin=admin)
        else:
            ctx.model.modify_metadata(ctx.user, lpath, kind=kind, operations=operations, admin=admin)
    except AtomicOperationError as e:
        failed = {"operation": e.operation, "operation_index": e.operation_index, "error_message": e.message}
        return JSONResponse(
            {"irods_response": {"status_code": e.code, "failed_operation": failed}}, status_code=400
        )
    except IrodsModelError as e:
        if e.name in ("NOT_A_COLLECTION", "NOT_A_DATA_OBJECT"):
            return irods_error(e, status=400, message=False)
        return irods_error(e, status=400)
    return JSONResponse({"irods_response": {"status_code": 0, "failed_operation": {}}})


def stoi_param(ctx: Ctx, name: str) -> int | None:
    """An optional parameter the server converts with ``std::stoi`` and whose failure it catches: not a
    32-bit integer → HTTP 400 (empty) (e.g. touch: data_objects/src/main.cpp:2441-2472,
    collections/src/main.cpp:772-783 at 0.7.0; query offset and count)."""
    text = ctx.get(name)
    if text is None:
        return None
    number = to_int(text, bits=32)
    if number is None:
        raise HttpError(400)
    return number


def touch_error(err: IrodsModelError) -> Response:
    """A touch failure: the kind pre-check at 400, else rc_touch's int alone at 200 (the handlers put only
    ``status_code`` in the body: data_objects/src/main.cpp:2494-2496, collections/src/main.cpp:804-806)."""
    return irods_error(err, status=400 if err.name in PRECHECK_ERRORS else 200, message=False)


def permission_param(ctx: Ctx) -> str:
    """The ``permission`` parameter, validated against the 4.3 vocabulary (else 400)."""
    from irods_provider.testing._catalog import canonical_permission

    perm = ctx.require("permission")
    if canonical_permission(perm) is None:
        raise HttpError(400)
    return perm


def wrong_kind(ctx: Ctx, lpath: str, *, kind: str) -> Response | None:
    """400 + NOT_A_COLLECTION / NOT_A_DATA_OBJECT (no message) unless ``lpath`` is a ``kind`` that
    ``fs::client::is_collection`` / ``is_data_object`` finds: rsObjStat, so ``read_object`` is needed
    (``stat_coll``/``stat_data``; shared_api_operations.cpp:69-88 at 0.7.0). ``admin=1`` plays no part."""
    if kind == "collection":
        if ctx.model.stat_coll(ctx.user, lpath) is None:
            return irods_error(IrodsModelError("NOT_A_COLLECTION"), status=400, message=False)
    elif ctx.model.stat_data(ctx.user, lpath) is None:
        return irods_error(IrodsModelError("NOT_A_DATA_OBJECT"), status=400, message=False)
    return None


def kind_precheck(ctx: Ctx, lpath: str, *, kind: str, params_valid: bool) -> Response | None:
    """The server checks that ``lpath`` is a collection / data object BEFORE the op's other parameters
    (collections/src/main.cpp:498-512, 578-602; data_objects/src/main.cpp:1835-1860, 2258-2272 at 0.7.0):
    with invalid parameters, a path of the wrong kind answers 400 + NOT_A_* JSON, else an empty 400."""
    if params_valid:
        return None
    return wrong_kind(ctx, lpath, kind=kind) or empty(400)


def permission_params_valid(ctx: Ctx) -> bool:
    """Whether ``entity-name`` and a 4.3 ``permission`` name are both present."""
    from irods_provider.testing._catalog import canonical_permission

    perm = ctx.get("permission")
    return ctx.get("entity-name") is not None and perm is not None and canonical_permission(perm) is not None


__all__ = [
    "OPEN_FAILURE",
    "atomic",
    "enable_ticket",
    "kind_precheck",
    "ok",
    "open_error",
    "permission_param",
    "permission_params_valid",
    "stoi_param",
    "touch_error",
    "wrong_kind",
]
