"""The control plane beside the API (moto style), under ``/_emulator/``.

Loopback clients only, and every request carries the per-process token (``X-Emulator-Token``, printed at
start): another local user or a web page cannot reset the zone or create a rodsadmin. Requests with an
``Origin`` header (browsers) are refused and POST bodies must be ``application/json`` (no simple CORS form).
"""

from __future__ import annotations

import hmac
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from irods_provider.testing._config import FaultInjector, Faults
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._model import EmulatorModel
from irods_provider.testing._security import CONTROL_TOKEN_HEADER, is_loopback
from irods_provider.testing._token_hold import HOLD_LIMIT_SECONDS

LIMIT_KEYS = (
    "token_lifetime_seconds",
    "max_streams_per_handle",
    "max_streams",
    "max_body_bytes",
    "max_rows",
    "read_buffer_bytes",
    "dstream_exposes_irods_error_codes",
    "request_timeout_seconds",
    "server_io_bytes_per_second",
    "server_unlink_seconds",
    "clock_offset_seconds",
)

FAULT_KEYS = tuple(field.name for field in fields(Faults))


class ControlPlane:
    """reset, faults, limits, parallel-write and token counts, write and token-check holds, user creation."""

    def __init__(self, model: EmulatorModel, faults: FaultInjector) -> None:
        self.model = model
        self.faults = faults

    def reset(self) -> None:
        """Reset the model and clear all faults."""
        self.model.reset()
        self.faults.reset()

    def limits(self, **changes: Any) -> dict[str, Any]:
        """Read (and optionally change) the run-time limits of the server."""
        unknown = set(changes) - set(LIMIT_KEYS)
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        for key, value in changes.items():
            setattr(self.model.config, key, value)
        return {key: getattr(self.model.config, key) for key in LIMIT_KEYS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        try:
            response = await self._route(request, scope["path"][len("/_emulator/") :])
        except (ValueError, TypeError, KeyError) as e:
            response = JSONResponse({"error": str(e)}, status_code=400)
        await response(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        """403 for remote clients, browsers (an Origin header) or a missing/wrong token."""
        client = request.client
        if client is not None and not is_loopback(client.host):
            return JSONResponse({"error": "the control plane answers loopback clients only"}, status_code=403)
        if "origin" in request.headers:
            return JSONResponse({"error": "requests from web pages (Origin) are refused"}, status_code=403)
        token = request.headers.get(CONTROL_TOKEN_HEADER, "")
        if not hmac.compare_digest(token.encode(), self.model.config.control_token.encode()):
            return JSONResponse({"error": f"missing or wrong {CONTROL_TOKEN_HEADER} header"}, status_code=403)
        return None

    async def _route(self, request: Request, name: str) -> Response:
        body: dict[str, Any] = {}
        if request.method == "POST":
            raw = await request.body()
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if raw.strip() and content_type != "application/json":
                return JSONResponse({"error": "POST bodies must be application/json"}, status_code=415)
            body = json.loads(raw) if raw.strip() else {}
        route = _ROUTES.get((request.method, name))
        if route is None:
            return Response(b"", status_code=404)
        answer = route.handler(self, body)
        return await answer if inspect.isawaitable(answer) else answer

    def _index(self, _body: dict[str, Any]) -> Response:
        return JSONResponse(
            {
                "control_plane": "/_emulator/",
                "header": CONTROL_TOKEN_HEADER,
                "endpoints": [
                    {"method": method, "path": f"/_emulator/{name}", "body": route.body, "does": route.does}
                    for (method, name), route in _ROUTES.items()
                ],
            }
        )

    def _reset(self, _body: dict[str, Any]) -> Response:
        self.reset()
        return JSONResponse({"reset": True})

    def _get_faults(self, _body: dict[str, Any]) -> Response:
        return JSONResponse(self.faults.faults.to_dict())

    def _set_faults(self, body: dict[str, Any]) -> Response:
        return JSONResponse(self.faults.set(**body).to_dict())

    def _limits(self, body: dict[str, Any]) -> Response:
        return JSONResponse(self.limits(**body))

    def _parallel_writes(self, _body: dict[str, Any]) -> Response:
        return JSONResponse(self.model.parallel_write_counts())

    def _tokens(self, _body: dict[str, Any]) -> Response:
        return JSONResponse({"count": self.model.token_count()})

    def _replica_fault(self, body: dict[str, Any]) -> Response:
        self.model.set_replica_fault(body["leaf"], body.get("kind"))
        return JSONResponse({"leaf": body["leaf"], "kind": body.get("kind")})

    def _vault_space(self, body: dict[str, Any]) -> Response:
        free = body.get("free_bytes")
        if free is not None and (not isinstance(free, int) or isinstance(free, bool) or free < 0):
            refusal = "free_bytes must be a non-negative integer or null"
            return JSONResponse({"error": refusal}, status_code=400)
        self.model.set_vault_free(body["resource"], free)
        return JSONResponse({"resource": body["resource"], "free_bytes": free})

    def _corrupt_replica(self, body: dict[str, Any]) -> Response:
        try:
            number = self.model.corrupt_replica(body["path"], body["resource"])
        except IrodsModelError as e:
            return JSONResponse({"error": e.name, "status_code": e.code}, status_code=404)
        return JSONResponse({"path": body["path"], "replica_number": number})

    def _hold_writes(self, body: dict[str, Any]) -> Response:
        try:
            self.model.hold_writes(
                body["path"], prefix=body.get("prefix") is True, operation=body.get("operation")
            )
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse(self.model.held_writes())

    def _held_writes(self, _body: dict[str, Any]) -> Response:
        return JSONResponse(self.model.held_writes())

    def _release_writes(self, body: dict[str, Any]) -> Response:
        return JSONResponse({"released": self.model.release_writes(body.get("path"))})

    def _drop_parallel_writes(self, body: dict[str, Any]) -> Response:
        return JSONResponse({"dropped": self.model.drop_parallel_writes(body.get("path"))})

    def _token_hold_state(self) -> dict[str, Any]:
        """The token-check hold as counts: the held requests' bearer tokens are secrets, never sent back."""
        hold = self.model.token_hold
        if hold is None:
            return {"armed": False, "waiting": 0, "rounds": []}
        return {"armed": hold.armed, "waiting": hold.waiting, "rounds": [len(r) for r in hold.rounds]}

    def _token_holds(self, _body: dict[str, Any]) -> Response:
        return JSONResponse(self._token_hold_state())

    def _hold_token_checks(self, _body: dict[str, Any]) -> Response:
        self.model.hold_token_checks()
        return JSONResponse(self._token_hold_state())

    async def _wait_token_holds(self, body: dict[str, Any]) -> Response:
        """Wait, off the event loop (the held requests run on it), until ``count`` requests are held."""
        count, timeout = int(body["count"]), min(float(body.get("timeout", 10.0)), HOLD_LIMIT_SECONDS)
        hold = self.model.token_hold
        if hold is None:
            return JSONResponse({"error": "no token-check hold is armed"}, status_code=409)
        held = await anyio.to_thread.run_sync(hold.wait_held, count, max(timeout, 0.0))
        return JSONResponse({"held": held, **self._token_hold_state()})

    def _release_token_holds(self, body: dict[str, Any]) -> Response:
        hold = self.model.token_hold
        if hold is None:
            return JSONResponse({"error": "no token-check hold is armed"}, status_code=409)
        return JSONResponse({"released": len(hold.release(expire=body.get("expire") is True))})

    def _stop_token_holds(self, _body: dict[str, Any]) -> Response:
        self.model.stop_token_hold()
        return JSONResponse(self._token_hold_state())

    def _add_user(self, body: dict[str, Any]) -> Response:
        try:
            self.model.add_user(body["name"], body["password"], body.get("user_type", "rodsuser"))
        except IrodsModelError as e:
            return JSONResponse({"error": e.name, "status_code": e.code}, status_code=409)
        return JSONResponse({"created": body["name"]})


@dataclass(frozen=True)
class _Route:
    """One control-plane endpoint: its handler and what the index at ``/_emulator/`` says of it."""

    handler: Callable[[ControlPlane, dict[str, Any]], Response | Awaitable[Response]]
    does: str
    body: str = ""


_ROUTES: dict[tuple[str, str], _Route] = {
    ("GET", ""): _Route(ControlPlane._index, "this index"),
    ("POST", "reset"): _Route(
        ControlPlane._reset, "empty the zone (users, objects, tokens) and clear all faults"
    ),
    ("GET", "faults"): _Route(ControlPlane._get_faults, "the fault injection in force"),
    ("POST", "faults"): _Route(
        ControlPlane._set_faults,
        "set fault injection (rates 0..1, seeded)",
        "{" + ", ".join(f'"{key}": ...' for key in FAULT_KEYS) + "}",
    ),
    ("GET", "limits"): _Route(ControlPlane._limits, "the run-time limits"),
    ("POST", "limits"): _Route(
        ControlPlane._limits,
        "change run-time limits",
        "{" + ", ".join(f'"{k}": ...' for k in LIMIT_KEYS) + "}",
    ),
    ("GET", "parallel-writes"): _Route(
        ControlPlane._parallel_writes, "open parallel-write handles and streams"
    ),
    ("GET", "tokens"): _Route(ControlPlane._tokens, "number of live bearer tokens"),
    ("POST", "replica-faults"): _Route(
        ControlPlane._replica_fault,
        "what a replication resource does to its copy on a leaf when a write closes",
        '{"leaf": ..., "kind": "corrupt"|"stale"|null}',
    ),
    ("POST", "vault-space"): _Route(
        ControlPlane._vault_space,
        "the vault of a leaf resource takes free_bytes more bytes, then writes fail as on a full disk "
        "(UNIX_FILE_WRITE_ERR - ENOSPC); null: unlimited",
        '{"resource": <leaf>, "free_bytes": ...}',
    ),
    ("POST", "corrupt-replica"): _Route(
        ControlPlane._corrupt_replica,
        "damage the bytes of one replica (same size, catalog untouched)",
        '{"path": ..., "resource": <leaf>}',
    ),
    ("GET", "write-holds"): _Route(
        ControlPlane._held_writes, "the armed write holds and whether a write waits at each"
    ),
    ("POST", "write-holds"): _Route(
        ControlPlane._hold_writes,
        "hold the next write, copy or replicate (or that operation only) onto a path (or, with prefix, "
        "onto the first path starting with it) after it locked the object (test hook)",
        '{"path": ..., "prefix": false, "operation": "write"|"copy"|"replicate"|null}',
    ),
    ("POST", "write-holds/release"): _Route(
        ControlPlane._release_writes, "let a held write go on (every one without a path)", '{"path": ...}'
    ),
    ("GET", "token-holds"): _Route(
        ControlPlane._token_holds,
        "the token-check hold: armed, requests waiting, requests let go per release (counts, no tokens)",
    ),
    ("POST", "token-holds"): _Route(
        ControlPlane._hold_token_checks,
        "hold every authenticated request at its bearer-token check until released (test hook)",
    ),
    ("POST", "token-holds/wait"): _Route(
        ControlPlane._wait_token_holds,
        "wait until count requests are held (at most timeout seconds, capped at 60); held: whether they are",
        '{"count": ..., "timeout": 10.0}',
    ),
    ("POST", "token-holds/release"): _Route(
        ControlPlane._release_token_holds,
        "let the held requests go, their Basic tokens expired first when expire (each then gets 401)",
        '{"expire": false}',
    ),
    ("POST", "token-holds/stop"): _Route(
        ControlPlane._stop_token_holds, "disarm the token-check hold: waiting and later requests go on"
    ),
    ("POST", "drop-parallel-writes"): _Route(
        ControlPlane._drop_parallel_writes,
        "forget open parallel-write handles as if their connections died: the replica is left stale",
        '{"path": ...}',
    ),
    ("POST", "users"): _Route(
        ControlPlane._add_user,
        "create a user",
        '{"name": ..., "password": ..., "user_type": "rodsuser"|"rodsadmin"|"groupadmin"}',
    ),
}
