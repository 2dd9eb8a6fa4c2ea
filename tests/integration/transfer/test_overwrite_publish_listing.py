"""An overwrite run asks the catalog for objects killed overwrites moved aside once per run, not once per
published file, and still removes the ones it finds (crash recovery: tests/chaos/test_crash_between_renames).

An overwrite moves the old object aside to ``.<name>.irods-old-<path's key>-<nonce>`` before its second
rename (iRODS refuses a rename onto an existing data object: chlRenameObject, CAT_NAME_EXISTS_AS_DATAOBJ,
plugins/database/src/db_plugin.cpp:10775-10786 at irods 4.3.4). A worker killed after publishing leaves that
copy beside the destination; each publish under OVERWRITE then looked for such copies with one GenQuery. The
run's one listing (``parked_among``) already says which destinations have any.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_files, upload_object
from irods_provider.client.transfer._upload import parked_start

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from op_counter import request_op

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=64 * 1024, small_file_threshold=64 * 1024)
SIZES = [0, 10, 4096, 200 * 1024]  # empty, one request, and a multi-chunk file
N = 12
MOVED_ASIDE = "moved-aside lookups"


def _tree(root: Path) -> dict[str, bytes]:
    files = {f"d{i % 3}/f{i}.bin": os.urandom(SIZES[i % len(SIZES)]) for i in range(N)}
    for rel, blob in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    return files


def _count_ops(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every request this process sends over a real socket, by operation."""
    seen: Counter[str] = Counter()
    real = httpx2.HTTPTransport.handle_request

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        op = request_op(request)
        seen[op] += 1
        if "genquery" in op and "irods-old-" in (request.url.params.get("query") or ""):
            seen[MOVED_ASIDE] += 1  # a look for objects overwrites moved aside
        return real(self, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    return seen


def _overwrite(session, src: Path, dest: str):
    return upload_files(session, src, dest, config=CFG, overwrite=OverwritePolicy.OVERWRITE)


def _queries(seen: Counter[str]) -> int:
    """The GenQueries that looked for objects overwrites moved aside."""
    return seen[MOVED_ASIDE]


def test_an_overwrite_run_asks_one_genquery_not_one_per_file(session, tmp_path: Path, monkeypatch) -> None:
    src, dest = tmp_path / "src", f"{HOME}/over"
    _tree(src)
    assert _overwrite(session, src, dest).transferred == N
    files = _tree(src)  # new bytes for every file
    seen = _count_ops(monkeypatch)
    again = _overwrite(session, src, dest)
    run = Counter(seen)
    assert again.transferred == N
    for rel, blob in files.items():
        assert session.data_objects.read(f"{dest}/{rel}") == blob
    assert _queries(run) == 1, run  # the run's listing (before: one per published file)
    total = sum(n for op, n in run.items() if op != MOVED_ASIDE)
    print(f"requests per overwritten file: {total / N:.2f} {dict(run)}")


def test_an_overwrite_run_still_removes_what_killed_overwrites_moved_aside(
    session, tmp_path: Path, monkeypatch
) -> None:
    src, dest = tmp_path / "src", f"{HOME}/over-parked"
    _tree(src)
    assert _overwrite(session, src, dest).transferred == N
    victims = [f"{dest}/d1/f1.bin", f"{dest}/d2/f5.bin"]
    parked = [parked_start(v) + "0123abcd" for v in victims]  # as a worker killed after its publish leaves
    for name in parked:
        session.data_objects.write(name, b"the replaced bytes")
    files = _tree(src)
    seen = _count_ops(monkeypatch)
    again = _overwrite(session, src, dest)
    assert again.transferred == N
    assert not [p for p in parked if session.data_objects.exists(p)]
    for rel, blob in files.items():
        assert session.data_objects.read(f"{dest}/{rel}") == blob
    assert _queries(seen) == 1 + len(victims), seen  # the listing, then one per destination that has some


def test_a_single_upload_still_asks_by_itself(session, tmp_path: Path, monkeypatch) -> None:
    """Without a run's listing (``parked`` unknown) a publish under OVERWRITE asks, as before."""
    path = f"{HOME}/single.bin"
    session.data_objects.write(path, b"old bytes")
    parked = parked_start(path) + "0123abcd"
    session.data_objects.write(parked, b"the replaced bytes")
    local = tmp_path / "new.bin"
    local.write_bytes(os.urandom(100))
    upload_object(session, str(local), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert session.data_objects.read(path) == local.read_bytes()
    assert not session.data_objects.exists(parked)
