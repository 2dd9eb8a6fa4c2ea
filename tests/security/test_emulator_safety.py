"""Issue 18, finding 3: the emulator in the wheel must not give host file access to whoever reaches it.

Each test here failed before the fix: ``register`` took any host path (the object *was* that file), any Host
header was answered (DNS rebinding), a cross-site ``text/plain`` POST to ``/_emulator/users`` created a
rodsadmin, ``--host 0.0.0.0`` started with ``rods``/``rods``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from irods_provider.testing import EmulatorConfig, EmulatorServer

HOME = "/tempZone/home/rods"
PATH_REG_NOT_ALLOWED = -129000  # rodsErrorTable.h; what ireg says for a path the policy forbids


@pytest.fixture
def admin(irods_emulator: EmulatorServer) -> Iterator[httpx2.Client]:
    """A raw client holding a rodsadmin bearer token."""
    config = irods_emulator.config
    with httpx2.Client(base_url=irods_emulator.base_url, timeout=10) as http:
        token = http.post("/authenticate", auth=(config.admin_user, config.admin_password)).text
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _register(http: httpx2.Client, lpath: str, ppath: str) -> int:
    r = http.post(
        "/data-objects", data={"op": "register", "lpath": lpath, "ppath": ppath, "resource": "demoResc"}
    )
    assert r.status_code == 200, r.status_code
    return int(r.json()["irods_response"]["status_code"])


def _exists(http: httpx2.Client, lpath: str) -> bool:
    r = http.get("/data-objects", params={"op": "stat", "lpath": lpath})
    return int(r.json()["irods_response"]["status_code"]) == 0


# ---- register ---------------------------------------------------------------------------------------


def test_register_of_a_host_file_outside_the_register_root_is_refused(admin, tmp_path) -> None:
    secret = tmp_path / "id_ed25519"
    secret.write_bytes(b"PRIVATE KEY MATERIAL")
    assert _register(admin, f"{HOME}/stolen", str(secret)) == PATH_REG_NOT_ALLOWED
    assert not _exists(admin, f"{HOME}/stolen")
    # A file that does not exist gets the same answer: no oracle for which host paths exist.
    assert _register(admin, f"{HOME}/probe", str(tmp_path / "no-such-file")) == PATH_REG_NOT_ALLOWED
    assert _register(admin, f"{HOME}/etc", "/etc/hostname") == PATH_REG_NOT_ALLOWED
    assert _register(admin, f"{HOME}/rel", "relative/path") == PATH_REG_NOT_ALLOWED
    assert secret.read_bytes() == b"PRIVATE KEY MATERIAL"


def test_a_symlink_or_dotdot_inside_the_register_root_cannot_escape_it(
    admin, irods_emulator, tmp_path
) -> None:
    root = irods_emulator.config.register_root
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"host bytes")
    link = root / "link.txt"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    assert _register(admin, f"{HOME}/via-link", str(link)) == PATH_REG_NOT_ALLOWED
    assert _register(admin, f"{HOME}/via-dotdot", f"{root}/../{outside.parent.name}/outside.txt") == (
        PATH_REG_NOT_ALLOWED
    )
    write = admin.post(
        "/data-objects",
        files={"op": (None, "write"), "lpath": (None, f"{HOME}/via-link"), "bytes": ("b", b"overwritten")},
    )
    assert write.status_code == 200
    assert outside.read_bytes() == b"host bytes", "a write reached a host file"


def test_a_file_inside_the_register_root_registers_and_reads_back(admin, irods_emulator) -> None:
    inside = irods_emulator.config.register_root / "inside.txt"
    inside.write_bytes(b"registered")
    assert _register(admin, f"{HOME}/inside", str(inside)) == 0
    r = admin.get("/data-objects", params={"op": "read", "lpath": f"{HOME}/inside"})
    assert r.content == b"registered"


# ---- Host header (DNS rebinding) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:{port}", "localhost.attacker.example"]
)
def test_a_foreign_host_header_is_refused(irods_emulator, host) -> None:
    headers = {"Host": host.format(port=irods_emulator.port)}
    for url in (f"{irods_emulator.base_url}/info", f"{irods_emulator.url}/_emulator/tokens"):
        r = httpx2.get(url, headers=headers, timeout=10)
        assert r.status_code == 421, (url, r.status_code)
    auth = (irods_emulator.config.admin_user, irods_emulator.config.admin_password)
    r = httpx2.post(f"{irods_emulator.base_url}/authenticate", auth=auth, headers=headers, timeout=10)
    assert r.status_code == 421
    assert irods_emulator.token_count() == 0


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "127.0.0.1"]
)
def test_loopback_host_headers_are_answered(irods_emulator, host) -> None:
    r = httpx2.get(f"{irods_emulator.base_url}/info", headers={"Host": host.format(port=irods_emulator.port)})
    assert r.status_code == 200
    assert r.json()["api_version"] == "0.7.0"


def test_configured_host_names_are_answered() -> None:
    with EmulatorServer(EmulatorConfig(allowed_hosts=("irods.test",))) as server:
        assert httpx2.get(f"{server.base_url}/info", headers={"Host": "irods.test:1"}).status_code == 200
        assert httpx2.get(f"{server.base_url}/info", headers={"Host": "other.test"}).status_code == 421


# ---- control plane ----------------------------------------------------------------------------------


def _users(server: EmulatorServer) -> set[str]:
    with server.model.lock:
        return set(server.model.users)


def test_cross_site_text_plain_post_cannot_create_a_rodsadmin(irods_emulator) -> None:
    url = f"{irods_emulator.url}/_emulator/users"
    body = '{"name": "mallory", "password": "mallory-pw", "user_type": "rodsadmin"}'
    browser = {"Content-Type": "text/plain", "Origin": "http://attacker.example"}
    assert httpx2.post(url, content=body, headers=browser).status_code == 403
    # Without a browser's Origin, still no token: refused.
    assert httpx2.post(url, content=body, headers={"Content-Type": "application/json"}).status_code == 403
    token = {"X-Emulator-Token": irods_emulator.control_token}
    assert (
        httpx2.post(url, content=body, headers={**token, "Origin": "http://attacker.example"}).status_code
        == 403
    )
    assert httpx2.post(url, content=body, headers={**token, "Content-Type": "text/plain"}).status_code == 415
    assert httpx2.post(url, content=body, headers={**token, "X-Emulator-Token": "wrong"}).status_code == 403
    assert "mallory" not in _users(irods_emulator)
    r = httpx2.post(f"{irods_emulator.base_url}/authenticate", auth=("mallory", "mallory-pw"))
    assert r.status_code == 401


def test_the_control_plane_works_with_its_token_and_json(irods_emulator) -> None:
    url = f"{irods_emulator.url}/_emulator"
    token = {"X-Emulator-Token": irods_emulator.control_token}
    assert httpx2.get(f"{url}/faults", headers=token).json()["error_503"] == 0
    r = httpx2.post(f"{url}/users", json={"name": "zoe", "password": "zoe-password"}, headers=token)
    assert r.json() == {"created": "zoe"}
    assert httpx2.post(f"{url}/reset", headers=token).json() == {"reset": True}
    assert "zoe" not in _users(irods_emulator)


def test_each_process_gets_its_own_long_control_token() -> None:
    first, second = EmulatorConfig().control_token, EmulatorConfig().control_token
    assert first != second
    assert len(first) >= 32


# ---- listening address and default password ---------------------------------------------------------


def test_default_admin_password_is_long_enough_for_the_airflow_masker() -> None:
    from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

    password = EmulatorConfig().admin_password
    assert password != "rods"
    assert len(password) >= SecretsMasker.min_length_to_mask
    masker = SecretsMasker()
    masker.add_mask(password)
    assert password not in masker.redact(f"login with {password}")


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"host": "0.0.0.0"}, "--allow-remote"),
        ({"host": "0.0.0.0", "allow_remote": True}, "default or a short admin password"),
        (
            {"host": "0.0.0.0", "allow_remote": True, "admin_password": "short"},
            "default or a short admin password",
        ),
    ],
)
def test_a_non_loopback_bind_is_refused_without_consent(changes, needle) -> None:
    from irods_provider.testing._security import EmulatorSecurityError

    server = EmulatorServer(EmulatorConfig(**changes))
    try:
        with pytest.raises(EmulatorSecurityError) as caught:
            server.bind()
        assert needle in str(caught.value)
        assert "0.0.0.0" in str(caught.value)
    finally:
        server.stop()


def test_a_non_loopback_bind_with_consent_and_a_strong_password_listens() -> None:
    config = EmulatorConfig(host="0.0.0.0", allow_remote=True, admin_password="a-long-chosen-password")
    with EmulatorServer(config) as server:
        url = f"http://127.0.0.1:{server.port}/irods-http-api/0.7.0/authenticate"
        assert httpx2.post(url, auth=("rods", "a-long-chosen-password"), timeout=10).status_code == 200


def test_command_line_refuses_a_wildcard_address_with_a_clear_message(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "irods_provider.testing", "serve", "--host", "0.0.0.0", "--port", "0"]
    done = subprocess.run(
        [*argv, "--spool", str(tmp_path / "s")],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 2
    assert "refusing to listen on '0.0.0.0'" in done.stderr
    assert "--allow-remote" in done.stderr
    assert done.stdout == ""
