"""The README's code blocks that do I/O, run against the emulator as a reader would run them.

Every ``python`` block of the README and docs/ must be classified here: run below against the emulator,
built whole by ``check_example`` (blocks that only construct Airflow objects; Airflow rejects a wrong
argument), run by another test, or skipped with the reason (``SKIPPED``). The shell blocks' connection
lines are parsed as the hook parses a connection. A new block that is none of these fails
``test_every_python_block_is_classified``, so it cannot be left unexecuted silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

#: Blocks (by a line they hold) run against the emulator by a test of this module.
RUN_HERE = {
    "from irods_provider.client import AVU, BasicAuth, IrodsSession": "with the emulator's URL",
    'BASE = ObjectStoragePath("irods://irods_default@/tempZone/home/alice/results")': "task run",
    'pytest_plugins = ["irods_provider.testing.pytest_plugin"]': "its test, given the fixture",
}
#: Blocks run by another test.
RUN_ELSEWHERE = {
    "# dags/first_irods_dag.py": "tests/dags/test_readme_first_dag.py runs it with dag.test()",
}
#: Blocks that only build DAGs, operators, sensors, triggers or assets: check_example runs them whole
#: (tests/unit/docs/test_readme_code.py). Running their tasks needs what no snippet shows: a watched
#: landing zone, an SFTP cluster holding ``scratch/<run>/output`` and a run id.
BUILT_WHOLE = {
    'with DAG("tag_results", schedule=None):': "IrodsPathSensor + IrodsPutMetadataOperator, built",
    "from irods_provider.triggers.events import IrodsPathEventTrigger": "an AssetWatcher, built",
    "stage_out = SFTPToIrodsOperator(": "an SFTP staging task of a cluster 'cluster_a', built",
}
#: Blocks that need a real site and cannot run here: none. The one block naming a site (the client's) runs
#: with the emulator's URL in its place; the connection lines of the shell blocks are parsed
#: (test_every_connection_line_is_a_valid_irods_connection).
SKIPPED: dict[str, str] = {}


def _python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in PAGES:
        text = page.read_text()
        for m in re.finditer(r"```python\n(.*?)```", text, flags=re.S):
            blocks.append((f"{page.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}", m.group(1)))
    return blocks


def _holds(code: str, marker: str) -> bool:
    """Whether a line of ``code`` starts with ``marker`` (comments after it may change)."""
    return any(line.startswith(marker) for line in code.splitlines())


def _block(marker: str) -> str:
    (code,) = [code for _, code in _python_blocks() if _holds(code, marker)]
    return code


def test_every_python_block_is_classified() -> None:
    classified = {**RUN_HERE, **RUN_ELSEWHERE, **BUILT_WHOLE, **SKIPPED}
    blocks = _python_blocks()
    unclassified = [where for where, code in blocks if not any(_holds(code, m) for m in classified)]
    assert unclassified == [], "run each new block here, or say why it cannot run"
    found = [m for m in classified if any(_holds(code, m) for _, code in blocks)]
    assert sorted(found) == sorted(classified)  # a marker whose block changed must be updated, not kept


@pytest.fixture
def alice(irods_emulator: EmulatorServer) -> EmulatorServer:
    """The README's user: ``alice`` with the password ``secret`` and a home collection."""
    irods_emulator.add_user("alice", "secret")
    return irods_emulator


@pytest.mark.timeout(60)
def test_client_block_runs(alice: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The client block with only its site's URL replaced by the emulator's."""
    code = _block("from irods_provider.client import AVU, BasicAuth, IrodsSession")
    site = "https://irods-http.example.org/irods-http-api/0.7.0"
    assert site in code
    exec(compile(code.replace(site, alice.base_url), "README-client", "exec"), {})
    printed = re.findall(r"^/tempZone/home/alice/\S+ .*$", capsys.readouterr().out, flags=re.M)
    digest = "sha2:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="  # sha256 of b"hello"
    assert printed in (
        ["/tempZone/home/alice/run/a.txt 5 None"],
        [f"/tempZone/home/alice/run/a.txt 5 {digest}"],
    )
    from irods_provider.client import BasicAuth, IrodsSession

    with IrodsSession(alice.base_url, auth=BasicAuth("alice", "secret")) as s:
        assert s.data_objects.read("/tempZone/home/alice/run/a.txt") == b"hello"
        avus = s.metadata.list("/tempZone/home/alice/run/a.txt")
    assert [(a.attribute, a.value) for a in avus] == [("status", "raw")]


@pytest.fixture
def fresh_irods_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``irods`` ObjectStoragePath store or filesystem cached from another test, none left for the next:
    Airflow keeps a store per connection id, fsspec a filesystem per set of options."""
    from airflow.sdk.io import store

    from irods_provider.fs import irods as irods_fs

    for alias in [a for a in store._STORE_CACHE if a.startswith("irods")]:
        monkeypatch.delitem(store._STORE_CACHE, alias)
    yield
    cached = [s.fs for a, s in store._STORE_CACHE.items() if a.startswith("irods") and "fs" in vars(s)]
    for fs in [*cached, *irods_fs.IrodsFileSystem._cache.values()]:
        fs.close_session()
    irods_fs.IrodsFileSystem.clear_instance_cache()
    for alias in [a for a in store._STORE_CACHE if a.startswith("irods")]:
        del store._STORE_CACHE[alias]


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("fresh_irods_stores")
def test_object_storage_block_runs(
    alice: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ObjectStoragePath block, its task function called with ``irods_default`` on the emulator."""
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", alice.airflow_connection_uri("alice", "secret"))
    from irods_provider.client import BasicAuth, IrodsSession

    with IrodsSession(alice.base_url, auth=BasicAuth("alice", "secret")) as s:
        s.collections.create("/tempZone/home/alice/results")
    namespace: dict[str, Any] = {}
    code = _block('BASE = ObjectStoragePath("irods://irods_default@/tempZone/home/alice/results")')
    exec(compile(code, "README-objectstorage", "exec"), namespace)
    namespace["write_summary"].function()
    assert re.findall(r"^summary\.csv .*$", capsys.readouterr().out, flags=re.M) == ["summary.csv 14"]
    with IrodsSession(alice.base_url, auth=BasicAuth("alice", "secret")) as s:
        assert s.data_objects.read("/tempZone/home/alice/results/summary.csv") == b"id,value\n1,42\n"


@pytest.mark.timeout(60)
def test_conftest_block_runs(irods_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conftest block's test, given the plugin's fixture: the connection it sets reaches the emulator."""
    namespace: dict[str, Any] = {}
    exec(
        compile(_block('pytest_plugins = ["irods_provider.testing.pytest_plugin"]'), "conftest", "exec"),
        namespace,
    )
    assert namespace["pytest_plugins"] == ["irods_provider.testing.pytest_plugin"]
    namespace["test_my_dag_task"](irods_emulator, monkeypatch)
    assert (irods_emulator.faults.error_503, irods_emulator.faults.seed) == (0.05, 1)
    irods_emulator.set_faults(error_503=0.0)
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        hook.write_bytes("/tempZone/home/rods/conftest.txt", b"from the README")
        assert hook.read_bytes("/tempZone/home/rods/conftest.txt") == b"from the README"


@pytest.mark.timeout(60)
def test_serve_command_prints_what_it_says(tmp_path: Path) -> None:
    """``python -m irods_provider.testing serve ...`` as the README writes it (a free port instead of 9000):
    it prints the base URL of the version asked for and the rods/rods-emulator account."""
    (command,) = re.findall(r"^python -m irods_provider\.testing serve [^\n#]*", _readme(), flags=re.M)[-1:]
    assert "--port 9000" in command
    argv = [sys.executable, *command.split()[1:]]
    argv[argv.index("9000")] = "0"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRODS_EMULATOR")}
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as server:
        try:
            lines = []
            assert server.stdout is not None
            for line in server.stdout:
                lines.append(line)
                if "AIRFLOW_CONN_IRODS_DEFAULT" in line or len(lines) > 40:
                    break
        finally:
            server.terminate()
            server.wait(timeout=20)
    output = "".join(lines)
    assert re.search(r"http://127\.0\.0\.1:\d+/irods-http-api/0\.7\.0", output), output
    assert "rodsadmin rods / rods-emulator" in output, output


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def _connection_lines() -> list[tuple[str, str]]:
    """``AIRFLOW_CONN_IRODS_DEFAULT='...'`` values of the pages' shell blocks (not a printed placeholder)."""
    found = []
    for page in PAGES:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S):
            values = re.findall(r"AIRFLOW_CONN_IRODS_DEFAULT='([^']*)'", block)
            found += [(page.name, " ".join(v.split())) for v in values if "…" not in v]
    return found


def test_every_connection_line_is_a_valid_irods_connection() -> None:
    """The URI and JSON forms users paste parse into the settings they mean (no server needed for that)."""
    from airflow.sdk import Connection

    from irods_provider.client._auth import Basic
    from irods_provider.client._openid import OpenId
    from irods_provider.hooks.irods import IrodsHook

    lines = _connection_lines()
    assert len(lines) >= 5
    for page, value in lines:
        if value.startswith("{"):
            conn = Connection.from_json(value, conn_id="irods_default")
        else:
            conn = Connection.from_uri(value, conn_id="irods_default")
        settings = IrodsHook.settings_from_connection(conn)
        assert settings.base_url == "https://irods-http.example.org:443/irods-http-api", (page, value)
        if "openid_client_credentials" in value:
            assert isinstance(settings.auth, OpenId), (page, value)
            assert settings.auth.grant.grant_type == "client_credentials"
        else:
            assert isinstance(settings.auth, Basic), (page, value)
            assert (settings.username, settings.zone) == ("rods", "tempZone"), (page, value)
