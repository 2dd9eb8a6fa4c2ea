"""Writes: form-field and header forms, plain and through parallel-write handles, streamed to disk."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from io import BytesIO
from typing import IO, TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from irods_provider.testing._errors import IrodsModelError, NoIdleStream, StreamLimitExceeded, UnknownHandle
from irods_provider.testing._h_common import OPEN_FAILURE, enable_ticket, open_error
from irods_provider.testing._http import Ctx, DropConnection, HttpError, empty, ok
from irods_provider.testing._params import to_int
from irods_provider.testing._vault import VaultWriteFailed, pwrite_all

if TYPE_CHECKING:
    from irods_provider.testing._http import ApiApp

INVALID_HANDLE = -175000


async def _file_chunks(f: IO[bytes], size: int) -> AsyncIterator[bytes]:
    while chunk := f.read(size):
        yield chunk


async def _parallel(
    ctx: Ctx, handle: str, *, index: int | None, offset: int | None, chunks: AsyncIterator[bytes]
) -> Response:
    try:
        fd, stream, position = ctx.model.acquire_stream(handle, index)
    except UnknownHandle:
        return empty(400)
    except NoIdleStream:
        return empty(429)
    begin = position if offset is None else offset
    end, written = position, None  # None: an unknown part was written (a failed request)
    try:
        if (failed := ctx.model.stream_error(handle, stream)) is not None:
            # A stream whose earlier write failed stays bad: checked before anything is read (data_objects
            # main.cpp:1196-1211 at 0.7.0), the body left unread.
            return bad_stream(ctx, failed)
        take = ctx.model.vault_taker(ctx.model.handle_resource(handle))
        end = await pwrite_all(fd, begin, chunks, limit=ctx.config.max_body_bytes, take=take)
        written = end - begin
    except VaultWriteFailed as e:
        ctx.model.fail_stream(handle, stream, e.code)
        return empty(500) if e.more else ok()
    finally:
        ctx.model.release_stream(handle, stream, end, written=written)
    return ok()


def bad_stream(ctx: Ctx, code: int) -> Response:
    """The answer to a write on a stream in a bad state: INVALID_HANDLE, or the library's error (the
    plugin's ``UNIX_FILE_WRITE_ERR - errno``) on a server built to expose it (main.cpp:1196-1211 at 0.7.0);
    0.4.0/0.5.0 find the stream bad where they check that it opened, and answer 500 with an empty body."""
    if ctx.config.profile.open_failure == "http500":  # 0.5.0 checks ``!*out_ptr`` (data_objects:911-915)
        return empty(500)
    exposed = ctx.config.profile.open_failure == "irods_code" and ctx.config.dstream_exposes_irods_error_codes
    status = code if exposed else INVALID_HANDLE
    return JSONResponse({"irods_response": {"status_code": status, "status_message": OPEN_FAILURE}})


async def _plain(
    ctx: Ctx, lpath: str, *, offset: int | None, start: int, target: object, chunks: AsyncIterator[bytes]
) -> Response:
    from irods_provider.testing._objects import WriteTarget

    assert isinstance(target, WriteTarget)
    fd = os.open(target.replica.spool_file, os.O_RDWR)
    begin = start if offset is None else offset
    counted, target.written = target.written, None  # None until known: a failed request wrote some part
    try:
        await ctx.model.pause_if_held(target.path)  # the test hook: the object stays locked meanwhile
        take = ctx.model.vault_taker(target.replica.resource)
        end = await pwrite_all(fd, begin, chunks, limit=ctx.config.max_body_bytes, take=take)
        target.written = None if counted is None else counted + end - begin
    except VaultWriteFailed as e:
        # The stream is closed all the same (its destructor when the loop gives up): the replica keeps what
        # the vault took; the answer is 500 when bytes were left to write, else success (main.cpp:447-493).
        return empty(500) if e.more else ok()
    finally:
        os.close(fd)
        ctx.model.finish_write(target)
    return ok()


async def form_write(ctx: Ctx) -> Response:
    """``op=write`` with form fields (urlencoded or multipart)."""
    handle = ctx.get("parallel-write-handle")
    data: IO[bytes] | None = ctx.file
    if data is None and "bytes" in ctx.raw:
        data = BytesIO(ctx.raw["bytes"])
    size = ctx.config.write_buffer_bytes
    if handle is not None:
        index, offset = ctx.int_param("stream-index"), ctx.int_param("offset")
        if data is None:
            raise HttpError(400)
        return await _parallel(ctx, handle, index=index, offset=offset, chunks=_file_chunks(data, size))
    lpath = ctx.require("lpath")
    # 0.5.0 honours ``resource`` but not ``replica-number`` on write (data_objects:900-906 at 0.5.0).
    replica = ctx.int_param("replica-number") if ctx.config.profile.replica_targeting else None
    ticket = ctx.get("ticket")
    if (failed := enable_ticket(ctx, ticket)) is not None:
        return failed
    try:
        target = ctx.model.open_write(
            ctx.user,
            lpath,
            truncate=ctx.flag("truncate", default=True),
            append=ctx.flag("append"),
            resource=ctx.get("resource"),
            replica_number=replica,
            ticket=ticket,
        )
    except IrodsModelError as e:
        return open_error(ctx, e)
    try:
        offset = ctx.int_param("offset")
        if data is None:
            raise HttpError(400)
    except HttpError:
        ctx.model.finish_write(target)
        raise
    return await _plain(
        ctx, lpath, offset=offset, start=target.start, target=target, chunks=_file_chunks(data, size)
    )


def _header_int(ctx: Ctx, name: str) -> int | None:
    value = ctx.request.headers.get(name)
    if value is None:
        return None
    parsed = to_int(value)
    if parsed is None:
        raise HttpError(400)
    return parsed


async def header_write(ctx: Ctx, app: ApiApp) -> Response:
    """The header form (``irods-api-request-op: write``): the raw body is streamed to the spool."""
    ctx.user = await app.identify(ctx.request)
    headers = ctx.request.headers
    offset = _header_int(ctx, "irods-api-request-offset")
    index = _header_int(ctx, "irods-api-request-stream-index")
    replica = _header_int(ctx, "irods-api-request-replica-number")
    handle = headers.get("irods-api-request-parallel-write-handle")
    if handle is not None:
        return await _parallel(ctx, handle, index=index, offset=offset, chunks=ctx.request.stream())
    lpath = headers.get("irods-api-request-lpath")
    if lpath is None:
        raise HttpError(400)
    ctx.user = ctx.model.identity(ctx.user, ctx.model.zone_of(lpath))
    ticket = headers.get("irods-api-request-ticket")
    if (failed := enable_ticket(ctx, ticket)) is not None:
        return failed
    try:
        target = ctx.model.open_write(
            ctx.user,
            lpath,
            truncate=headers.get("irods-api-request-truncate") != "0",
            append=headers.get("irods-api-request-append") == "1",
            resource=headers.get("irods-api-request-resource"),
            replica_number=replica,
            ticket=ticket,
        )
    except IrodsModelError as e:
        return open_error(ctx, e)
    return await _plain(
        ctx, lpath, offset=offset, start=target.start, target=target, chunks=ctx.request.stream()
    )


async def parallel_write_init(ctx: Ctx) -> Response:
    """Reserve streams and open the target; 400/500/503 in the server's order of checks."""
    lpath = ctx.require("lpath")
    count_text = ctx.require("stream-count")
    count = to_int(count_text)
    if count is None:
        raise HttpError(500)
    if count > ctx.config.max_streams_per_handle:
        raise HttpError(400)
    if ctx.config.profile.extra_parallel_stream:
        return _legacy_parallel_write_init(ctx, lpath, count)
    if count < 1:
        raise HttpError(400)
    replica = ctx.int_param("replica-number")
    ticket = ctx.get("ticket")
    if (failed := enable_ticket(ctx, ticket)) is not None:
        return failed
    try:
        handle = ctx.model.parallel_write_init(
            ctx.user,
            lpath,
            stream_count=count,
            truncate=ctx.flag("truncate", default=True),
            append=ctx.flag("append"),
            resource=ctx.get("resource"),
            replica_number=replica,
            ticket=ticket,
        )
    except StreamLimitExceeded:
        return empty(503)
    except IrodsModelError as e:
        return open_error(ctx, e)
    return ok(parallel_write_handle=handle)


def _legacy_parallel_write_init(ctx: Ctx, lpath: str, count: int) -> Response:
    """0.5.0/0.6.0: a primary stream plus ``count`` more (so N <= 0 still opens one), no server-wide cap.

    Ticket and open failures are thrown by the stream constructor (data_objects:97-151 at 0.6.0, :84-121
    at 0.5.0) and answered by :func:`_stream_failure`; at 0.4.0/0.5.0 an open failure crashes the server
    instead (``VersionProfile.init_open_failure_crashes``, #402).
    """
    resource, replica = None, None
    if ctx.config.profile.replica_targeting:  # 0.6.0: resource, else replica-number (non-integer → 400)
        resource = ctx.get("resource")
        replica = ctx.int_param("replica-number") if resource is None else None
    ticket = ctx.get("ticket")
    if ticket is not None:
        try:
            ctx.model.enable_ticket(ctx.user, ticket)
        except IrodsModelError as e:
            return _stream_failure(ctx, e.code, "Error enabling ticket on connection.")
    try:
        handle = ctx.model.parallel_write_init(
            ctx.user,
            lpath,
            stream_count=max(count, 0) + 1,
            truncate=ctx.flag("truncate", default=True),
            append=ctx.flag("append"),
            resource=resource,
            replica_number=replica,
            ticket=ticket,
            server_cap=False,
        )
    except IrodsModelError:
        if ctx.config.profile.init_open_failure_crashes:  # #402: no reply, the process restarts
            ctx.model.crash()
            raise DropConnection() from None
        return _stream_failure(ctx, INVALID_HANDLE, f"Could not open output stream to [{lpath}].")
    return ok(parallel_write_handle=handle)


def _stream_failure(ctx: Ctx, code: int, message: str) -> Response:
    """Answer an exception of the stream constructor as the API version does.

    0.5.0: HTTP 500, empty body (data_objects:1091-1100 at 0.5.0); 0.6.0: HTTP 200 with the thrown code
    and message (:1424-1435 at 0.6.0).
    """
    if ctx.config.profile.open_failure == "http500":
        return empty(500)
    return JSONResponse({"irods_response": {"status_code": code, "status_message": message}})


async def parallel_write_shutdown(ctx: Ctx) -> Response:
    """Commit and forget a handle (unknown handles succeed too)."""
    ctx.model.parallel_write_shutdown(ctx.require("parallel-write-handle"))
    return ok()
