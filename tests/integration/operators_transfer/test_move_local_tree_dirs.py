"""``move=True`` of a tree by the local operators leaves no source directory or collection it copied, empty
ones included (as ``mv``); one still holding something not moved (a file that appeared during the run, a
symlink, a failed file's source) stays, and so does the root named by the user."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest

from irods_provider.exceptions import IrodsError
from irods_provider.transfers import irods_to_local, local_to_irods
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from op_counter import request_op  # noqa: E402


def _state(root: Path) -> tuple[dict[str, bytes], list[str]]:
    walked = list(root.rglob("*"))
    files = {
        p.relative_to(root).as_posix(): p.read_bytes() for p in walked if p.is_file() and not p.is_symlink()
    }
    dirs = sorted(p.relative_to(root).as_posix() for p in walked if p.is_dir() and not p.is_symlink())
    return files, dirs


def _entries(session: Any, root: str) -> list[str]:
    return sorted(e.path[len(root) + 1 :] for e in session.collections.iterate(root, recursive=True))


def test_local_tree_move_removes_every_copied_directory_but_what_still_holds_something(
    session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    for rel, data in {"a.csv": b"a", "sub/b.csv": b"b", "held/c.csv": b"c"}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    for empty in ("empty", "nested/deep/empty", "late", "links"):
        (src / empty).mkdir(parents=True)
    (tmp_path / "outside.txt").write_bytes(b"not in the tree")
    os.symlink(tmp_path / "outside.txt", src / "links" / "to-outside")  # never followed, never moved
    session.collections.create(f"{HOME}/lt/held", intermediates=True)
    session.data_objects.write(f"{HOME}/lt/held/c.csv", b"already there")  # refused: c.csv fails
    upload = local_to_irods.upload_files

    def upload_then_write(*args: Any, **kwargs: Any) -> Any:
        report = upload(*args, **kwargs)
        (src / "late" / "new.txt").write_bytes(b"written during the run")
        return report

    monkeypatch.setattr(local_to_irods, "upload_files", upload_then_write)
    with pytest.raises(IrodsError, match="1 of 3 files failed"):
        LocalToIrodsOperator(
            task_id="up",
            source_path=str(src),
            destination_path=f"{HOME}/lt",
            move=True,
            continue_on_error=True,
        ).execute({})
    assert session.data_objects.read(f"{HOME}/lt/sub/b.csv") == b"b"
    assert session.collections.exists(f"{HOME}/lt/nested/deep/empty")
    assert _state(src) == (
        {"held/c.csv": b"c", "late/new.txt": b"written during the run"},
        ["held", "late", "links"],
    )
    assert os.path.islink(src / "links" / "to-outside")


def test_irods_tree_move_to_local_removes_every_copied_collection_but_what_still_holds_something(
    session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"{HOME}/dt"
    for empty in ("empty", "nested/deep/empty", "late", "sub"):
        session.collections.create(f"{source}/{empty}", intermediates=True)
    session.data_objects.write(f"{source}/a.bin", b"a")
    session.data_objects.write(f"{source}/sub/b.bin", b"b")
    download = irods_to_local.download_files

    def download_then_write(*args: Any, **kwargs: Any) -> Any:
        report = download(*args, **kwargs)
        session.data_objects.write(f"{source}/late/new.bin", b"written during the run")
        return report

    monkeypatch.setattr(irods_to_local, "download_files", download_then_write)
    report = IrodsToLocalOperator(
        task_id="down", source_path=source, destination_path=str(tmp_path / "got"), move=True
    ).execute({})
    assert report["transferred"] == 2
    got = (
        {"a.bin": b"a", "sub/b.bin": b"b"},
        ["empty", "late", "nested", "nested/deep", "nested/deep/empty", "sub"],
    )
    assert _state(tmp_path / "got") == got
    assert _entries(session, source) == ["late", "late/new.bin"]  # the root collection itself stays


def test_a_pattern_move_keeps_the_directories_it_did_not_empty(session: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "sub" / "b.csv").write_bytes(b"b")
    LocalToIrodsOperator(
        task_id="up", source_path=str(src), pattern="**/*.csv", destination_path=f"{HOME}/pm", move=True
    ).execute({})
    assert _state(src) == ({}, ["empty"])  # selected files only: sub emptied and removed, empty/ untouched


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = httpx2.HTTPTransport.handle_request

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        seen[request_op(request)] += 1
        return real(self, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    return seen


@pytest.mark.parametrize("in_the_way", ["got", "got/logs/rank0"])
def test_irods_to_local_refused_by_a_file_where_a_directory_goes_reads_nothing(
    session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_the_way: str
) -> None:
    source = f"{HOME}/job"
    session.collections.create(f"{source}/logs/rank0/deep", intermediates=True)
    for name in ("a.bin", "b.bin", "c.bin"):
        session.data_objects.write(f"{source}/{name}", name.encode() * 100_000)
    (tmp_path / in_the_way).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / in_the_way).write_bytes(b"a file where a directory goes")
    ops = _count_reads(monkeypatch)
    with pytest.raises((IrodsError, OSError)):
        IrodsToLocalOperator(
            task_id="down", source_path=source, destination_path=str(tmp_path / "got")
        ).execute({})
    assert ops["read"] == 0
    assert (tmp_path / in_the_way).read_bytes() == b"a file where a directory goes"
    IrodsToLocalOperator(task_id="down", source_path=source, destination_path=str(tmp_path / "ok")).execute(
        {}
    )
    assert ops["read"] >= 3  # the counter sees the reads of a run that is not refused
