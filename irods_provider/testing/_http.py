"""The HTTP layer's core: a raw ASGI app that routes, checks op/auth in the server's order, renders."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from irods_provider.testing._catalog import CLOCK_OFFSET
from irods_provider.testing._config import EmulatorConfig, FaultInjector
from irods_provider.testing._deadline import DeadlinePassed, RequestDeadline
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._h_auth import client_mode_get, client_mode_password
from irods_provider.testing._model import EmulatorModel
from irods_provider.testing._params import (
    BodyTooLarge,
    MultipartCollector,
    multipart_boundary,
    parse_urlencoded,
    read_limited,
    to_int,
)
from irods_provider.testing._protocol import ABORT_KEY
from irods_provider.testing._security import host_allowed

SERVER_HEADER = "irods_http_api/{version} (emulator)"
BUILD = "emulator"

#: The scope key naming the request being served (``"endpoint op"``), for :meth:`FaultInjector.cut`.
OP_KEY = "irods_emulator.request"


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of one request header (latin-1 decoded), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _credentials(header: str, scheme: str) -> tuple[str, str] | None:
    """``user:password`` after ``scheme`` in an Authorization header, as the server decodes it: at most 128
    bytes, no colon → None (endpoints/authentication/src/main.cpp:127-153 at 0.5.0)."""
    encoded = header[header.find(scheme) + len(scheme) :].strip()
    try:
        decoded = base64.b64decode(encoded)[:128].decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


class HttpError(Exception):
    """An HTTP-level failure rendered with an empty body (400 missing parameter, 500, ...)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class DropConnection(Exception):
    """Abort the connection without any response."""


@dataclass
class Ctx:
    """One API request after routing: the caller, its parameters and the shared state."""

    request: Request
    model: EmulatorModel
    config: EmulatorConfig
    params: dict[str, str]
    raw: dict[str, bytes] = field(default_factory=dict)
    file: IO[bytes] | None = None
    user: str = ""

    def get(self, name: str) -> str | None:
        """A parameter, or None when absent."""
        return self.params.get(name)

    def require(self, name: str) -> str:
        """A required parameter; missing → HTTP 400 (empty body)."""
        value = self.params.get(name)
        if value is None:
            raise HttpError(400)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A 0/1 flag compared literally like the server does."""
        value = self.params.get(name)
        if value is None:
            return default
        return value != "0" if default else value == "1"

    def int_param(self, name: str) -> int | None:
        """An optional integer parameter; present but not an integer → HTTP 400."""
        value = self.params.get(name)
        if value is None:
            return None
        parsed = to_int(value)
        if parsed is None:
            raise HttpError(400)
        return parsed


Handler = Callable[[Ctx], Awaitable[Response]]


def empty(status: int) -> Response:
    """An empty-bodied response labelled JSON, as the server sends for most errors."""
    return Response(b"", status_code=status, media_type="application/json")


async def not_implemented(ctx: Ctx) -> Response:
    """An op the server routes but answers 501 without resolving the caller (its body is ``#if 0``)."""
    return empty(501)


def ok(**extra: Any) -> Response:
    """HTTP 200 with status_code 0 and extra top-level keys."""
    return JSONResponse({"irods_response": {"status_code": 0}, **extra})


def irods_error(err: IrodsModelError, *, status: int = 200, message: bool = True, **extra: Any) -> Response:
    """The one renderer for iRODS errors: JSON envelope with the code (and message) at ``status``."""
    body: dict[str, Any] = {"status_code": err.code}
    if message:
        body["status_message"] = err.message
    return JSONResponse({"irods_response": body, **extra}, status_code=status)


def call(
    action: Callable[[], object], *, error: Callable[[IrodsModelError], Response] = irods_error
) -> Response:
    """Run one model call: ``ok()`` when it succeeds, else its IrodsModelError rendered by ``error``."""
    try:
        action()
    except IrodsModelError as e:
        return error(e)
    return ok()


PRECHECK_ERRORS = frozenset({"NOT_A_COLLECTION", "NOT_A_DATA_OBJECT"})


def render(
    err: IrodsModelError, *, http400: frozenset[str] = PRECHECK_ERRORS, all400: bool = False
) -> Response:
    """Render a model error at 400 when the op reports it so (pre-checks, atomic ops), else 200."""
    if err.name in PRECHECK_ERRORS and err.name in http400:
        return irods_error(err, status=400, message=False)
    return irods_error(err, status=400 if all400 or err.name in http400 else 200)


class ApiApp:
    """ASGI app serving the API under the base path, plus an optional control-plane app."""

    def __init__(
        self,
        model: EmulatorModel,
        faults: FaultInjector,
        endpoints: dict[str, dict[str, dict[str, Handler]]],
        control: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.config = model.config
        self.faults = faults
        self.endpoints = endpoints
        self.control = control
        self.profile = self.config.profile
        self.base_path = self.profile.base_path
        self.server_header = SERVER_HEADER.format(version=self.profile.version)
        #: API requests being served (a handler past its deadline counts until it ends).
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if not host_allowed(_header(scope, b"host"), self.config):
            # DNS rebinding: a web page whose own name now resolves to 127.0.0.1 sends that name as Host.
            await PlainTextResponse("Host header not allowed.", status_code=421)(scope, receive, send)
            return
        if path.startswith("/_emulator/") and self.control is not None:
            await self.control(scope, receive, send)
            return
        # The deadline is fixed as the request arrives, before it counts as in flight: whoever sees it in
        # flight and then changes the limit (a test) changes the next requests' deadline, never this one's.
        seconds = self.config.request_timeout_seconds
        clock = CLOCK_OFFSET.set(float(self.config.clock_offset_seconds))  # the catalog's clock for this one
        self.in_flight += 1
        try:
            await self._serve(scope, receive, send, path, seconds)
        finally:
            self.in_flight -= 1
            CLOCK_OFFSET.reset(clock)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str, seconds: float) -> None:
        deadline = RequestDeadline(seconds, lambda: self._expire(scope))
        request = Request(scope, deadline.receive(receive))
        try:
            response = await self._api(request, path)
            deadline.check()  # the handler outlasted the deadline: it acted, but its reply never leaves
        except (DropConnection, DeadlinePassed):
            await self._abort(scope, receive)
            return
        except ClientDisconnect:
            return  # the client went away mid-body (a transfer it abandoned): nobody is left to answer
        response.headers["Server"] = self.server_header
        await response(scope, receive, deadline.send(send))

    def _expire(self, scope: Scope) -> None:
        """Close the connection of a request whose deadline passed (counted as ``request_deadline``)."""
        self.faults.cut(str(scope.get(OP_KEY) or scope["path"]))
        abort = scope.get(ABORT_KEY)
        if abort is not None:
            abort()

    @staticmethod
    async def _abort(scope: Scope, receive: Receive) -> None:
        abort = scope.get(ABORT_KEY)
        if abort is not None:
            abort()
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _api(self, request: Request, path: str) -> Response:
        if self._streaming_write(request, path):
            name = "data-objects"  # intercepted on the last path segment, under any prefix
        elif not path.startswith(self.base_path + "/"):
            return empty(404)
        else:
            name = path[len(self.base_path) + 1 :]
        if name not in ("authenticate", "info") and name not in self.endpoints:
            return empty(404)
        request.scope[OP_KEY] = name  # its op once the body is read (a request cut before that: the endpoint)
        latency, forced, drop = self.faults.draw()
        if latency > 0:
            await asyncio.sleep(latency)
        if forced is not None:
            self.faults.applied(f"error_{forced}")
            return empty(forced)
        if drop == "drop_connection":
            self.faults.applied(drop)
            raise DropConnection()
        if drop == "drop_mid_body" and request.method == "POST":
            self.faults.applied(drop)
            await self._read_part_then_drop(request)
        try:
            if name == "authenticate":
                return await self._authenticate(request)
            if name == "info":
                return await self._info(request)
            return await self._dispatch(request, name)
        except HttpError as e:
            return empty(e.status)
        except BodyTooLarge:
            raise DropConnection() from None

    def _streaming_write(self, request: Request, path: str) -> bool:
        """Whether this is a header-form write, which 0.6.0+ serve under any prefix.

        The server intercepts it before routing, on the path's last segment (core/src/session.cpp:118-123).
        """
        return (
            self.profile.header_writes
            and request.method == "POST"
            and path.rsplit("/", 1)[-1] == "data-objects"
            and request.headers.get("irods-api-request-op") == "write"
        )

    @staticmethod
    async def _read_part_then_drop(request: Request) -> None:
        async for _chunk in request.stream():
            break
        raise DropConnection()

    # ---- authentication --------------------------------------------------------------------

    async def _authenticate(self, request: Request) -> Response:
        """Basic login; in OpenID client mode (0.4.0/0.5.0) also GET and ``Authorization: iRODS``, in the
        server's order: ``Basic `` is looked for first (endpoints/authentication/src/main.cpp:171-175,
        :412, :558-559, :659 at 0.5.0)."""
        client = self.config.openid_client
        checked = self.profile.openid_client_checks
        if request.method == "GET" and client is not None:
            return await client_mode_get(request, client, self.model, checked=checked)
        if request.method != "POST":
            return empty(405)
        header = request.headers.get("authorization")
        if header is None:
            return empty(400)
        if "Basic " in header:
            credentials = _credentials(header, "Basic ")
            if credentials is None:
                return empty(401)
            token = self.model.authenticate(*credentials)
            return empty(401) if token is None else PlainTextResponse(token)
        if client is not None and "iRODS " in header:
            username, password = _credentials(header, "iRODS ") or ("", "")
            return await client_mode_password(username, password, client, self.model, checked=checked)
        return empty(400)

    async def identify(self, request: Request) -> str:
        """The caller: 400 without a Bearer header, 401 for unknown/expired tokens."""
        header = request.headers.get("authorization")
        if header is None or "Bearer " not in header:
            raise HttpError(400)
        token = header[header.find("Bearer ") + 7 :].strip()
        if (hold := self.model.token_hold) is not None:
            await hold.pause(token)
        user = self.model.user_for_token(token)
        if user is None and self.config.openid is not None:
            user = await anyio.to_thread.run_sync(self.config.openid.username_for, token)
        if user is None:
            raise HttpError(401)
        return user

    async def _info(self, request: Request) -> Response:
        if request.method != "GET":
            return empty(405)
        body: dict[str, Any] = {
            "api_version": self.profile.version,
            "build": BUILD,
            "irods_zone": self.config.zone,
            self.profile.info_streams_key: self.config.max_streams_per_handle,
            "max_number_of_rows_per_catalog_query": self.config.max_rows,
            "max_size_of_request_body_in_bytes": self.config.max_body_bytes,
            "openid_connect_enabled": self.config.openid is not None or self.config.openid_client is not None,
        }
        if self.profile.info_server_version and request.headers.get("authorization"):
            try:
                await self.identify(request)
                body["irods_server_version"] = self.config.irods_server_version
            except HttpError:
                pass
        return JSONResponse(body)

    # ---- op endpoints ----------------------------------------------------------------------

    async def _dispatch(self, request: Request, name: str) -> Response:
        if request.method != "POST":
            return await self._dispatch_op(request, name)
        # Every POST may change the zone (GETs never do): GenQuery results cached before, or while it runs,
        # are stale.
        self.model.bump_generation()
        try:
            return await self._dispatch_op(request, name)
        finally:
            self.model.bump_generation()

    async def _dispatch_op(self, request: Request, name: str) -> Response:
        with self.model.pooled_connection():  # a request holds one of the HTTP API's pooled connections
            return await self._dispatch_pooled(request, name)

    async def _dispatch_pooled(self, request: Request, name: str) -> Response:
        table = self.endpoints[name]
        if request.method not in ("GET", "POST"):
            return empty(405)
        if name == "data-objects" and self._streaming_write(request, request.scope["path"]):
            from irods_provider.testing._h_write import header_write

            ctx = Ctx(request=request, model=self.model, config=self.config, params={})
            request.scope[OP_KEY] = f"{name} write"
            return await header_write(ctx, self)
        ctx = await self._parse(request)
        try:
            op = ctx.params.get("op")
            request.scope[OP_KEY] = f"{name} {op}"
            handler = table.get(request.method, {}).get(op or "")
            if handler is None:
                return empty(400)
            if handler is not not_implemented:  # 501 ops answer before resolving the caller
                ctx.user = self.model.identity(
                    await self.identify(request), self._target_zone(name, ctx.params)
                )
            return await handler(ctx)
        finally:
            if ctx.file is not None:  # a spooled form body, whatever the answer (a 401 included)
                ctx.file.close()

    def _target_zone(self, endpoint: str, params: dict[str, str]) -> str:
        """The zone a request acts in: the GenQuery ``zone`` hint, else the zone of its logical path.

        As a federation does, the caller then acts there as ``user#localZone``.
        """
        if endpoint == "query":
            hint = params.get("zone") or self.config.zone
            return self.model.zone_of(hint if hint.startswith("/") else f"/{hint}")
        path = params.get("lpath") or params.get("old-lpath") or params.get("src-lpath") or ""
        return self.model.zone_of(path)

    async def _parse(self, request: Request) -> Ctx:
        ctx = Ctx(request=request, model=self.model, config=self.config, params={})
        if request.method == "GET":
            ctx.raw = parse_urlencoded(request.scope.get("query_string", b""))
        else:
            content_type = request.headers.get("content-type", "")
            lowered = content_type.lower()
            limit = self.config.max_body_bytes
            if lowered.startswith("multipart/form-data"):
                boundary = multipart_boundary(content_type)
                if boundary is None:
                    raise HttpError(400)
                collector = MultipartCollector(boundary)
                total = 0
                try:
                    async for chunk in request.stream():
                        total += len(chunk)
                        if total > limit:
                            raise BodyTooLarge()
                        collector.feed(chunk)
                    collector.finish()
                except BaseException:
                    collector.close()  # a body cut off (a dropped or abandoned request) or too large
                    raise
                ctx.raw, ctx.file = collector.fields, collector.file
            elif lowered.startswith("application/x-www-form-urlencoded"):
                ctx.raw = parse_urlencoded(await read_limited(request.stream(), limit))
            else:
                raise HttpError(400)
        ctx.params = {k: v.decode("utf-8", "replace") for k, v in ctx.raw.items()}
        if ctx.file is not None:
            ctx.params["bytes"] = ""
        return ctx


def parse_json(text: str) -> Any:
    """Parse an ``operations`` parameter (any JSON value); invalid JSON → HTTP 500 (empty), like the server
    (shared_api_operations.cpp:96-100 at 0.7.0: ``json::parse`` throws inside the handler's try)."""
    try:
        return json.loads(text)
    except ValueError:
        raise HttpError(500) from None
