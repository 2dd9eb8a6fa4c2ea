"""``irods://`` paths through universal-pathlib and Airflow's ObjectStoragePath in a fresh interpreter, where
fsspec has not imported IrodsFileSystem yet: universal-pathlib takes a protocol's path rules from fsspec's
class registry, and without the class there it warned ("Could not find default for known protocol 'irods'")
and read the connection's host as the first path component (``irods://irods_default@myhost/tempZone/...``
became ``myhost/tempZone/...``, named ``sp`` for ``.../osp``).

Each case runs in its own process, forked from one interpreter per kind that has imported only the path
class (``upath`` or ``airflow.sdk``, ~2.5 s of CPU a fresh interpreter spent on each case before): the fork
is the fresh state, and the case reports that ``irods_provider.fs`` was not imported before it ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Reads one case a line (url, action, environment) and answers each from a forked child. The warnings
# record opens before the import, as a fresh interpreter's case did, so the child sees import-time warnings.
SERVE = """
import json, os, sys, traceback, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    if sys.argv[1] == "upath":
        from upath import UPath as Path
    else:
        from airflow.sdk import ObjectStoragePath as Path
    for line in sys.stdin:
        url, action, env = json.loads(line)
        sys.stdout.flush()
        reply, answer = os.pipe()
        pid = os.fork()
        if pid:
            os.close(answer)
            with os.fdopen(reply, "rb") as got:
                out = got.read()
            _, status = os.waitpid(pid, 0)
            missing = json.dumps({"error": f"the case exited ({status}) without an answer"})
            print("case-answer", out.decode() or missing)
            sys.stdout.flush()
            continue
        try:
            os.environ.update(env)
            fresh = "irods_provider.fs" not in sys.modules
            p = Path(url) / "sub" / "f#1.txt"
            out = {"path": p.path, "name": p.name, "parent": p.parent.path}
            if action == "write":
                p.write_bytes(b"written through " + sys.argv[1].encode())
            out["warnings"] = [str(w.message) for w in caught if "irods" in str(w.message)]
            out["fresh"] = fresh
        except BaseException:
            out = {"error": traceback.format_exc()}
        os.write(answer, json.dumps(out).encode())
        os._exit(0)
"""

ANSWER = "case-answer "
Run = Callable[..., dict[str, object]]


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """``run(kind, url, action="parse", env=None)``: the case's result from a fresh fork of that kind."""
    servers: dict[str, subprocess.Popen[str]] = {}

    def case(
        kind: str, url: str, action: str = "parse", env: dict[str, str] | None = None
    ) -> dict[str, object]:
        if kind not in servers:
            servers[kind] = subprocess.Popen(
                [sys.executable, "-c", SERVE, kind],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        server = servers[kind]
        assert server.stdin is not None
        assert server.stdout is not None
        server.stdin.write(json.dumps([url, action, env or {}]) + "\n")
        server.stdin.flush()
        answer = ""
        while not answer.startswith(ANSWER):  # skipping what the case itself printed (log lines)
            answer = server.stdout.readline()
            assert answer, f"the {kind} case process died (exit {server.poll()})"
        got: dict[str, object] = json.loads(answer.removeprefix(ANSWER))
        assert "error" not in got, got["error"]
        assert got.pop("fresh") is True, "irods_provider.fs was imported before the case ran"
        return got

    try:
        yield case
    finally:
        for server in servers.values():
            with server:  # closes stdin (the server's cue to exit) and stdout, then waits
                pass


@pytest.mark.parametrize("kind", ["upath", "objectstoragepath"])
@pytest.mark.parametrize(
    "url",
    [
        "irods://irods_default@/tempZone/home/rods/osp",
        "irods://irods_default@myhost/tempZone/home/rods/osp",
        "irods:///tempZone/home/rods/osp",
    ],
    ids=["conn-at-empty-host", "conn-at-host", "no-netloc"],
)
def test_paths_follow_the_filesystem_rules_in_a_fresh_interpreter(run: Run, kind: str, url: str) -> None:
    got = run(kind, url)
    assert got == {
        "path": "/tempZone/home/rods/osp/sub/f#1.txt",
        "name": "f#1.txt",
        "parent": "/tempZone/home/rods/osp/sub",
        "warnings": [],
    }


def test_an_objectstoragepath_with_a_host_writes_under_its_zone_path(
    run: Run, irods_emulator, irods_fs
) -> None:
    conn = f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone"
    url = "irods://irods_default@myhost/tempZone/home/rods/osp"
    run("objectstoragepath", url, "write", env={"AIRFLOW_CONN_IRODS_DEFAULT": conn})
    assert irods_fs.cat("/tempZone/home/rods/osp/sub/f#1.txt") == b"written through objectstoragepath"
