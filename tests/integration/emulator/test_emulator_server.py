"""The server around the API: faults (seeded), control plane, command line."""

from __future__ import annotations

import time

import httpx2
import pytest
from emulator_http import ZONE, Api, authenticate, code, serving


def test_seeded_faults_are_reproducible_and_spare_the_control_plane(api: Api) -> None:
    api.token("rods")

    def statuses() -> list[int]:
        api.server.set_faults(error_503=0.3, error_429=0.2, error_500=0.1, seed=7)
        return [api.get("collections", op="stat", lpath=f"/{ZONE}").status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert {500, 503, 429, 200} <= set(first)
    token = {"X-Emulator-Token": api.server.control_token}
    r = api.http.get(f"{api.server.url}/_emulator/faults", headers=token)
    assert r.json()["error_503"] == 0.3
    faults = {"error_503": 0, "error_429": 0, "error_500": 0}
    api.http.post(f"{api.server.url}/_emulator/faults", json=faults, headers=token)
    assert api.get("collections", op="stat", lpath=f"/{ZONE}").status_code == 200


def test_latency_and_dropped_connections(api: Api) -> None:
    api.server.set_faults(latency_seconds=0.2)
    start = time.monotonic()
    assert api.http.get(f"{api.base}/info").status_code == 200
    assert time.monotonic() - start >= 0.2
    api.server.set_faults(latency_seconds=0, drop_mid_body=1.0)
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)):
        api.write(f"/{ZONE}/home/alice/x", b"y" * 200_000, user="alice")
    api.server.set_faults(drop_mid_body=0)
    assert code(api.get("data-objects", "alice", op="stat", lpath=f"/{ZONE}/home/alice/x")) == -171000


def test_drop_connection_closes_any_request_without_a_response_and_is_counted(api: Api) -> None:
    before = api.server.injected_faults().get("drop_connection", 0)
    api.server.set_faults(drop_connection=1.0, seed=1)
    with pytest.raises(httpx2.RemoteProtocolError):  # a GET: no body to cut, the connection just closes
        api.get("collections", op="stat", lpath=f"/{ZONE}")
    api.server.set_faults(drop_connection=0.0)
    assert api.server.injected_faults()["drop_connection"] == before + 1
    assert api.get("collections", op="stat", lpath=f"/{ZONE}").status_code == 200
    api.server.reset()
    assert api.server.injected_faults() == {}


def test_control_plane_reset_users_counts(api: Api) -> None:
    url = f"{api.server.url}/_emulator"
    api.http.headers["X-Emulator-Token"] = api.server.control_token
    assert api.http.post(f"{url}/users", json={"name": "zed", "password": "pw"}).json() == {"created": "zed"}
    assert api.http.post(f"{api.base}/authenticate", auth=("zed", "pw")).status_code == 200
    assert api.http.get(f"{url}/tokens").json()["count"] >= 1
    assert api.http.get(f"{url}/parallel-writes").json() == {"handles": 0, "streams": 0, "stream_overlaps": 0}
    assert api.http.post(f"{url}/limits", json={"max_streams": 6}).json()["max_streams"] == 6
    assert api.http.post(f"{url}/reset").json() == {"reset": True}
    assert api.http.post(f"{api.base}/authenticate", auth=("zed", "pw")).status_code == 401
    assert api.http.get(f"{url}/tokens").json()["count"] == 0


def test_command_line_serves_until_interrupted(tmp_path) -> None:
    with serving(tmp_path / "s") as (proc, base):
        assert proc.stdout is not None
        assert base.endswith("/irods-http-api/0.7.0")
        assert "rods / rods-emulator" in proc.stdout.readline()
        assert authenticate(base).status_code == 200


class _StaticValidator:
    """An OpenID validator stand-in: one accepted access token mapped to alice."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def username_for(self, token: str) -> str | None:
        self.seen.append(token)
        return "alice" if token == "good-access-token" else None


def test_openid_protected_resource_hook(api: Api) -> None:
    validator = _StaticValidator()
    api.server.config.openid = validator
    try:
        assert api.http.get(f"{api.base}/info").json()["openid_connect_enabled"] is True
        params = {"op": "stat", "lpath": f"/{ZONE}/home/alice"}
        ok = api.http.get(
            f"{api.base}/collections", params=params, headers={"Authorization": "Bearer good-access-token"}
        )
        assert code(ok) == 0
        bad = api.http.get(
            f"{api.base}/collections", params=params, headers={"Authorization": "Bearer other"}
        )
        assert (bad.status_code, bad.content) == (401, b"")
        assert validator.seen == ["good-access-token", "other"]
        # Basic tokens never reach the validator.
        assert code(api.get("collections", "alice", **params)) == 0
        assert validator.seen == ["good-access-token", "other"]
    finally:
        api.server.config.openid = None
