"""``move=True`` of a tree over SFTP leaves no source directory it copied, empty ones included (as ``mv``),
while a directory still holding something not moved (a file that appeared during the run, a symlink) stays;
the root named by the user stays (rsync ``--remove-source-files``). And an iRODS -> SFTP tree run refused by
its directory check reads no byte from iRODS: its directories are settled before any read starts."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import httpx2
import pytest
from op_counter import request_op

from irods_provider.exceptions import IrodsNotADirectoryError
from irods_provider.transfers._staging import SftpStagingOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"


def _dirs(root: Any) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir() and not p.is_symlink()
    )


def _entries(session: Any, root: str) -> list[str]:
    return sorted(e.path[len(root) + 1 :] for e in session.collections.iterate(root, recursive=True))


def _count_ops(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = httpx2.HTTPTransport.handle_request

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        seen[request_op(request)] += 1
        return real(self, request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    return seen


def test_sftp_tree_move_removes_every_copied_directory_but_what_still_holds_something(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.put("src/a.csv", b"a")
    remote.put("src/sub/b.csv", b"b")
    for empty in ("empty", "nested/deep/empty", "late"):
        remote._mkdir(remote.dir / "src" / empty)
    remote.put("outside.txt", b"not in the tree")
    remote._mkdir(remote.dir / "src" / "links")
    os.symlink(remote.dir / "outside.txt", remote.dir / "src" / "links" / "to-outside")  # never moved
    pruning = SftpStagingOperator.pruning_sftp

    def appearing(self: Any, sftp: Any, plan: Any) -> Any:
        prune = pruning(self, sftp, plan)

        def run(report: Any) -> Any:
            remote.put("src/late/new.txt", b"written during the run")
            return prune(report)

        return run

    monkeypatch.setattr(SftpStagingOperator, "pruning_sftp", appearing)
    report = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src"),
        destination_path=f"{HOME}/mv",
        move=True,
    ).execute({})
    assert report["transferred"] == 2
    assert session.data_objects.read(f"{HOME}/mv/sub/b.csv") == b"b"
    assert session.collections.exists(f"{HOME}/mv/nested/deep/empty")
    kept = {k: v for k, v in remote.files("src").items() if not k.startswith("links/")}
    assert kept == {"late/new.txt": b"written during the run"}
    assert _dirs(remote.dir / "src") == ["late", "links"]  # the root src/ itself stays
    assert os.path.islink(remote.dir / "src" / "links" / "to-outside")


def test_sftp_glob_move_keeps_directories_it_did_not_empty(remote: Any, session: Any) -> None:
    remote.put("src/sub/b.csv", b"b")
    remote._mkdir(remote.dir / "src" / "empty")
    SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("src/**/*.csv"),
        glob=True,
        destination_path=f"{HOME}/gm",
        move=True,
    ).execute({})
    assert remote.files("src") == {}
    assert _dirs(remote.dir / "src") == ["empty"]  # selected files only: sub emptied, empty/ untouched


def test_irods_tree_move_removes_every_copied_collection_but_what_still_holds_something(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"{HOME}/out"
    for empty in ("empty", "nested/deep/empty", "late"):
        session.collections.create(f"{source}/{empty}", intermediates=True)
    session.collections.create(f"{source}/sub", intermediates=True)
    session.data_objects.write(f"{source}/a.bin", b"a")
    session.data_objects.write(f"{source}/sub/b.bin", b"b")
    pruning = SftpStagingOperator.pruning_irods

    def appearing(self: Any, irods: Any, plan: Any) -> Any:
        prune = pruning(self, irods, plan)

        def run(report: Any) -> Any:
            session.data_objects.write(f"{source}/late/new.bin", b"written during the run")
            return prune(report)

        return run

    monkeypatch.setattr(SftpStagingOperator, "pruning_irods", appearing)
    report = IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=source,
        destination_path=remote.path("got"),
        move=True,
    ).execute({})
    assert report["transferred"] == 2
    assert remote.files("got") == {"a.bin": b"a", "sub/b.bin": b"b"}
    assert _dirs(remote.dir / "got") == ["empty", "late", "nested", "nested/deep", "nested/deep/empty", "sub"]
    assert _entries(session, source) == ["late", "late/new.bin"]  # the root collection itself stays


def test_irods_to_sftp_refused_by_a_file_where_a_directory_goes_reads_nothing(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"{HOME}/job"
    session.collections.create(f"{source}/logs/rank0/deep", intermediates=True)
    for name in ("a.bin", "b.bin", "c.bin"):
        session.data_objects.write(f"{source}/{name}", name.encode() * 100_000)
    remote.put("back/logs/rank0", b"a file named like the directory")
    ops = _count_ops(monkeypatch)
    with pytest.raises(IrodsNotADirectoryError):
        IrodsToSFTPOperator(
            task_id="down", sftp_conn_id="cluster", source_path=source, destination_path=remote.path("back")
        ).execute({})
    assert ops["read"] == 0
    assert remote.files("back") == {"logs/rank0": b"a file named like the directory"}


def test_irods_to_sftp_tree_refused_by_a_file_as_its_directory_reads_nothing(
    remote: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"{HOME}/flat"
    session.collections.create(f"{source}/empty", intermediates=True)
    for name in ("a.bin", "b.bin"):
        session.data_objects.write(f"{source}/{name}", name.encode() * 100_000)
    remote.put("dest", b"a file where the directory must go")
    ops = _count_ops(monkeypatch)
    with pytest.raises(NotADirectoryError):
        IrodsToSFTPOperator(
            task_id="down", sftp_conn_id="cluster", source_path=source, destination_path=remote.path("dest")
        ).execute({})
    assert ops["read"] == 0
    IrodsToSFTPOperator(  # the counter sees reads: the same run into a directory reads both files
        task_id="down", sftp_conn_id="cluster", source_path=source, destination_path=remote.path("ok")
    ).execute({})
    assert ops["read"] >= 2
    assert remote.files("ok") == {"a.bin": b"a.bin" * 100_000, "b.bin": b"b.bin" * 100_000}
