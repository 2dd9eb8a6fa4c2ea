"""``irods://`` paths through universal-pathlib and Airflow's ObjectStoragePath in a fresh interpreter, where
fsspec has not imported IrodsFileSystem yet: universal-pathlib takes a protocol's path rules from fsspec's
class registry, and without the class there it warned ("Could not find default for known protocol 'irods'")
and read the connection's host as the first path component (``irods://irods_default@myhost/tempZone/...``
became ``myhost/tempZone/...``, named ``sp`` for ``.../osp``). Each case runs in its own interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PARSE = """
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    if sys.argv[1] == "upath":
        from upath import UPath as Path
    else:
        from airflow.sdk import ObjectStoragePath as Path
    p = Path(sys.argv[2]) / "sub" / "f#1.txt"
    out = {"path": p.path, "name": p.name, "parent": p.parent.path}
    if sys.argv[3] == "write":
        p.write_bytes(b"written through " + sys.argv[1].encode())
out["warnings"] = [str(w.message) for w in caught if "irods" in str(w.message)]
print(json.dumps(out))
"""


def run(kind: str, url: str, action: str = "parse", env: dict[str, str] | None = None) -> dict[str, object]:
    environ = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PARSE, kind, url, action],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


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
def test_paths_follow_the_filesystem_rules_in_a_fresh_interpreter(kind: str, url: str) -> None:
    got = run(kind, url)
    assert got == {
        "path": "/tempZone/home/rods/osp/sub/f#1.txt",
        "name": "f#1.txt",
        "parent": "/tempZone/home/rods/osp/sub",
        "warnings": [],
    }


def test_an_objectstoragepath_with_a_host_writes_under_its_zone_path(irods_emulator, irods_fs) -> None:
    conn = f"irods://rods:rods-emulator@127.0.0.1:{irods_emulator.port}/http?zone=tempZone"
    url = "irods://irods_default@myhost/tempZone/home/rods/osp"
    run("objectstoragepath", url, "write", env={"AIRFLOW_CONN_IRODS_DEFAULT": conn})
    assert irods_fs.cat("/tempZone/home/rods/osp/sub/f#1.txt") == b"written through objectstoragepath"
