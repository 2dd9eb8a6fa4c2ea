"""Transport behaviour: routing, dispatch order, authentication, /info, parser quirks, body limit."""

from __future__ import annotations

import re
import socket

import httpx2
import pytest
from emulator_http import ZONE, Api, code

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_basic_login_returns_a_uuid_token_and_rejects_bad_credentials(api: Api) -> None:
    url = f"{api.base}/authenticate"
    r = api.http.post(url, auth=("rods", "rods-emulator"))
    assert r.status_code == 200
    assert UUID.match(r.text)
    assert r.headers["content-type"].startswith("text/plain")
    assert api.http.post(url, auth=("rods", "wrong")).status_code == 401
    assert api.http.post(url, auth=("a" * 200, "b" * 200)).status_code == 401
    assert api.http.post(url, auth=("", "")).status_code == 401
    assert api.http.post(url).status_code == 400
    assert api.http.post(url, headers={"Authorization": "Bearer x"}).status_code == 400
    for method in ("GET", "PUT", "DELETE", "PATCH", "HEAD"):
        assert api.http.request(method, url).status_code == 405


def test_dispatch_order_405_then_op_then_auth(api: Api) -> None:
    url = f"{api.base}/collections"
    assert api.http.put(url).status_code == 405
    assert api.http.get(url).status_code == 400  # no op, no token: op checked first
    assert api.http.get(url, params={"op": "create"}).status_code == 400  # POST-only op via GET
    r = api.http.get(url, params={"op": "stat", "lpath": f"/{ZONE}/home/rods"})
    assert (r.status_code, r.content) == (400, b"")  # good op, no Authorization header
    r = api.http.get(url, params={"op": "stat"}, headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.content) == (401, b"")
    assert api.get("collections", op="stat").status_code == 400  # authenticated, lpath missing
    r = api.http.post(
        url, content=b"op=create", headers={**api.headers("rods"), "Content-Type": "text/plain"}
    )
    assert r.status_code == 400
    assert api.http.get(f"{api.base}/nope").status_code == 404
    assert api.http.get(f"{api.base}/collections/").status_code == 404
    assert (
        api.get("collections", op="stat", lpath=f"/{ZONE}")
        .headers["server"]
        .startswith("irods_http_api/0.7.0")
    )


def test_info_reports_limits_and_server_version_only_when_authenticated(api: Api) -> None:
    info = api.http.get(f"{api.base}/info").json()
    assert info["max_size_of_request_body_in_bytes"] == 8 * 1024 * 1024
    assert info["max_number_of_streams_per_parallel_write_handle"] == 3
    assert info["max_number_of_rows_per_catalog_query"] == 15
    assert info["openid_connect_enabled"] is False
    assert info["irods_zone"] == ZONE
    assert "irods_server_version" not in info
    assert "irods_server_version" in api.http.get(f"{api.base}/info", headers=api.headers("alice")).json()
    bad = api.http.get(f"{api.base}/info", headers={"Authorization": "Bearer bad"})
    assert bad.status_code == 200
    assert "irods_server_version" not in bad.json()
    assert api.http.post(f"{api.base}/info").status_code == 405


def test_plus_becomes_space_and_pairs_with_two_equals_are_dropped(api: Api) -> None:
    home = f"/{ZONE}/home/alice"
    body = f"op=create&lpath={home}/a%2Bb+c".encode()
    headers = {**api.headers("alice"), "Content-Type": "application/x-www-form-urlencoded"}
    assert code(api.http.post(f"{api.base}/collections", content=body, headers=headers)) == 0
    assert code(api.get("collections", "alice", op="stat", lpath=f"{home}/a b c")) == 0
    # Multipart keeps "+" intact.
    assert (
        api.post_multipart("collections", "alice", op="create", lpath=f"{home}/x+y").json()["created"] is True
    )
    assert code(api.get("collections", "alice", op="stat", lpath=f"{home}/x y")) == -170000
    # A pair with a raw "=" in its value is dropped: lpath missing -> 400.
    bad = f"op=create&lpath={home}/k=v".encode()
    assert api.http.post(f"{api.base}/collections", content=bad, headers=headers).status_code == 400
    # Keys are not percent-decoded: "l%70ath" is not "lpath".
    bad = f"op=create&l%70ath={home}/q".encode()
    assert api.http.post(f"{api.base}/collections", content=bad, headers=headers).status_code == 400


def test_body_above_the_limit_drops_the_connection_without_a_response(api: Api) -> None:
    api.server.set_limits(max_body_bytes=1024)
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)):
        api.write(f"/{ZONE}/home/alice/big", b"x" * 4096, user="alice")
    # Raw socket: headers announce too much; the server closes without writing a single byte.
    with socket.create_connection((api.server.host, api.server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /irods-http-api/0.7.0/data-objects HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 999999\r\n\r\nop=write"
        )
        assert sock.recv(100) == b""
    api.server.set_limits(max_body_bytes=8 * 1024 * 1024)
    assert code(api.write(f"/{ZONE}/home/alice/small", b"x" * 4096, user="alice")) == 0


def test_expired_token_gives_401_and_use_never_extends_it(api: Api) -> None:
    api.server.set_limits(token_lifetime_seconds=1.0)
    token = api.http.post(f"{api.base}/authenticate", auth=("alice", "alice")).text
    headers = {"Authorization": f"Bearer {token}"}
    params = {"op": "stat", "lpath": f"/{ZONE}/home/alice"}
    assert api.http.get(f"{api.base}/collections", params=params, headers=headers).status_code == 200
    import time

    deadline = time.monotonic() + 5
    status = 200
    while status == 200 and time.monotonic() < deadline:  # polls; each use must not extend the token
        status = api.http.get(f"{api.base}/collections", params=params, headers=headers).status_code
        time.sleep(0.05)
    assert status == 401
