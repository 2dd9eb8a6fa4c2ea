"""The two `serve` commands a DAG author starts first print connection lines that work when pasted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

_EXPORT = re.compile(r"^\s*export (AIRFLOW_CONN_[A-Z0-9_]+)='(.*)'$")


@contextmanager
def _serving(argv: list[str], *, until: str) -> Iterator[list[str]]:
    """Run a `serve` command; yield its output lines up to and including the first line containing `until`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"the command exited early: {lines}"
            lines.append(line.rstrip("\n"))
            if until in line:
                break
        yield lines
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _export(lines: list[str]) -> tuple[str, str]:
    found = [m.groups() for m in map(_EXPORT.match, lines) if m]
    assert len(found) == 1, lines
    return found[0]


def test_emulator_serve_prints_a_connection_line_the_hook_accepts(tmp_path: Path, monkeypatch) -> None:
    argv = [
        "irods_provider.testing",
        "serve",
        "--port",
        "0",
        "--spool",
        str(tmp_path / "s"),
        "--conn-id",
        "zone_a",
    ]
    with _serving(argv, until="export AIRFLOW_CONN_") as lines:
        name, value = _export(lines)
        assert name == "AIRFLOW_CONN_ZONE_A"
        assert value.startswith("irods://rods:rods-emulator@127.0.0.1:")
        monkeypatch.setenv(name, value)
        from irods_provider.hooks.irods import IrodsHook

        hook = IrodsHook(irods_conn_id="zone_a")
        ok, message = hook.test_connection()
        assert ok, message
        hook.write_text("/tempZone/home/rods/first-hour.txt", "pasted and working\n")
        assert hook.read_text("/tempZone/home/rods/first-hour.txt") == "pasted and working\n"
        hook.close()


def test_emulator_serve_help_documents_every_option() -> None:
    import argparse

    from irods_provider.testing._cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    undocumented = [a.option_strings for a in serve._actions if not a.help]
    assert undocumented == []
    assert {"--port", "--api-version", "--conn-id", "--hash-scheme"} <= set(serve._option_string_actions)


def test_sftp_serve_prints_a_connection_line_sftphook_accepts(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"from the cluster\n")
    argv = ["irods_provider.testing.sftp", "serve", "--root", str(root), "--conn-id", "cluster_a"]
    with _serving(argv, until="export AIRFLOW_CONN_") as lines:
        name, value = _export(lines)
        assert name == "AIRFLOW_CONN_CLUSTER_A"
        monkeypatch.setenv(name, value)
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        hook = SFTPHook(ssh_conn_id="cluster_a")
        try:
            assert sorted(hook.list_directory(".")) == ["hello.txt"]
            hook.retrieve_file("hello.txt", str(tmp_path / "got.txt"))
        finally:
            hook.close_conn()
        assert (tmp_path / "got.txt").read_bytes() == b"from the cluster\n"


def test_sftp_cli_help_says_what_it_prints() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "irods_provider.testing.sftp", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "AIRFLOW_CONN_" in " ".join(out.split())


def test_emulator_server_connection_uri_quotes_credentials(irods_emulator) -> None:
    uri = irods_emulator.airflow_connection_uri("we ird", "p@ss/w:rd+")
    assert uri.startswith("irods://we%20ird:p%40ss%2Fw%3Ard%2B@127.0.0.1:")
    assert uri.endswith("/http?zone=tempZone")
    from airflow.sdk import Connection

    conn = Connection.from_uri(uri, conn_id="x")
    assert (conn.login, conn.password, conn.schema, conn.extra_dejson) == (
        "we ird",
        "p@ss/w:rd+",
        "http",
        {"zone": "tempZone"},
    )


def test_control_plane_index_lists_every_endpoint(irods_emulator) -> None:
    url = f"{irods_emulator.url}/_emulator/"
    headers = {"X-Emulator-Token": irods_emulator.control_token}
    index = httpx2.get(url, headers=headers).json()
    listed = {(e["method"], e["path"]) for e in index["endpoints"]}
    assert {
        ("POST", "/_emulator/reset"),
        ("GET", "/_emulator/faults"),
        ("POST", "/_emulator/faults"),
        ("POST", "/_emulator/limits"),
        ("GET", "/_emulator/parallel-writes"),
        ("GET", "/_emulator/tokens"),
        ("POST", "/_emulator/users"),
    } <= listed
    # every GET it lists answers (with the token), and the index itself needs the token
    for method, path in listed:
        if method == "GET":
            assert httpx2.get(f"{irods_emulator.url}{path}", headers=headers).status_code == 200, path
    assert httpx2.get(url).status_code == 403
    faults = next(e for e in index["endpoints"] if e["path"].endswith("/faults") and e["method"] == "POST")
    assert "error_503" in faults["body"]
    assert "seed" in faults["body"]
