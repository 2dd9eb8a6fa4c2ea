"""The control plane beside the API (moto style), under ``/_emulator/``: no auth, loopback only."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from irods_provider.testing._config import FaultInjector
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._model import EmulatorModel

LIMIT_KEYS = (
    "token_lifetime_seconds",
    "max_streams_per_handle",
    "max_streams",
    "max_body_bytes",
    "max_rows",
    "read_buffer_bytes",
    "dstream_exposes_irods_error_codes",
)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ControlPlane:
    """reset, faults, limits, parallel-write and token counts, user creation."""

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
        client = scope.get("client")
        if client is not None and client[0] not in LOOPBACK:
            await Response(b"", status_code=403)(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self._route(request, scope["path"][len("/_emulator/") :])
        except (ValueError, TypeError, KeyError) as e:
            response = JSONResponse({"error": str(e)}, status_code=400)
        await response(scope, receive, send)

    async def _route(self, request: Request, name: str) -> Response:
        body: dict[str, Any] = {}
        if request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw.strip() else {}
        if name == "reset" and request.method == "POST":
            self.reset()
            return JSONResponse({"reset": True})
        if name == "faults":
            faults = self.faults.set(**body) if request.method == "POST" else self.faults.faults
            return JSONResponse(faults.to_dict())
        if name == "limits":
            return JSONResponse(self.limits(**body))
        if name == "parallel-writes":
            return JSONResponse(self.model.parallel_write_counts())
        if name == "tokens":
            return JSONResponse({"count": self.model.token_count()})
        if name == "users" and request.method == "POST":
            try:
                self.model.add_user(body["name"], body["password"], body.get("user_type", "rodsuser"))
            except IrodsModelError as e:
                return JSONResponse({"error": e.name, "status_code": e.code}, status_code=409)
            return JSONResponse({"created": body["name"]})
        return Response(b"", status_code=404)
