"""Tree copies reproduce every directory of the source, empty and nested empty ones included.

``sftp -r``, ``iput -r``/``iget -r`` and ``rsync -r`` create them; an HPC job's output tree with empty
``logs/`` or ``checkpoints/`` folders must arrive with them. Against the emulator over HTTP: local -> iRODS
(``upload_files``), iRODS -> local (``download_files``), iRODS -> iRODS (``copy_collection``). A data object
where a collection must go is the HTTP API's ``created: false`` (irods_client_http_api 0.7.0
endpoints/collections/src/main.cpp:332-349), refused typed before any byte moves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.client.transfer import download_files, upload_files
from irods_provider.client.transfer._tree import copy_collection
from irods_provider.exceptions import (
    IrodsInvalidPathError,
    IrodsNotACollectionError,
    IrodsNotADirectoryError,
)

HOME = "/tempZone/home/rods"
EMPTIES = ["checkpoints", "logs", "logs/rank0", "logs/rank0/deep", "run/empty"]


def _job_tree(root: Path) -> Path:
    """A job's output: two files, empty ``logs/rank0/deep``, ``checkpoints`` and ``run/empty``."""
    for empty in EMPTIES:
        (root / empty).mkdir(parents=True, exist_ok=True)
    (root / "run" / "out.dat").write_bytes(b"output\x00bytes")
    (root / "summary.txt").write_bytes(b"summary")
    return root


def _irods_tree(session) -> str:
    source = f"{HOME}/job"
    for empty in EMPTIES:
        session.collections.create(f"{source}/{empty}", intermediates=True)
    session.data_objects.write(f"{source}/run/out.dat", b"output\x00bytes")
    session.data_objects.write(f"{source}/summary.txt", b"summary")
    return source


def _local_dirs(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


def _collections(session, root: str) -> list[str]:
    listed = session.collections.iterate(root, recursive=True)
    return sorted(e.path[len(root) + 1 :] for e in listed if e.kind.value == "collection")


ALL_DIRS = sorted({*EMPTIES, "run"})


def test_an_upload_creates_every_directory_empty_ones_included(session, tmp_path) -> None:
    src = _job_tree(tmp_path / "job")
    report = upload_files(session, str(src), f"{HOME}/up")
    assert _collections(session, f"{HOME}/up") == ALL_DIRS
    assert session.data_objects.read(f"{HOME}/up/run/out.dat") == b"output\x00bytes"
    assert report.transferred == 2
    listed = report.to_dict()
    assert [d["destination"] for d in listed["directories"]] == [f"{HOME}/up/{d}" for d in ALL_DIRS]
    assert {d["status"] for d in listed["directories"]} == {"present"}
    assert listed["directory_count"] == len(ALL_DIRS)
    again = upload_files(session, str(src), f"{HOME}/up", skip="exists")  # idempotent: all there already
    assert again.skipped == 2
    assert len(again.directories) == len(ALL_DIRS)


def test_an_upload_dry_run_lists_the_directories_and_creates_none(session, tmp_path) -> None:
    src = _job_tree(tmp_path / "job")
    report = upload_files(session, str(src), f"{HOME}/dry", dry_run=True)
    assert not session.collections.exists(f"{HOME}/dry")
    assert [(d.source, d.destination, d.status.value) for d in report.directories] == [
        (str(src / d), f"{HOME}/dry/{d}", "planned") for d in ALL_DIRS
    ]


def test_a_pattern_selects_files_only(session, tmp_path) -> None:
    """As rsync include rules: a pattern selects files; directories come only with the files they hold."""
    src = _job_tree(tmp_path / "job")
    report = upload_files(session, str(src), f"{HOME}/pat", pattern="*.dat")
    assert _collections(session, f"{HOME}/pat") == ["run"]
    assert report.directories == []
    globbed = upload_files(session, f"{src}/**", f"{HOME}/glob", glob=True)
    assert _collections(session, f"{HOME}/glob") == ["run"]
    assert globbed.directories == []


def test_a_data_object_where_a_collection_must_go_is_refused_before_any_byte(session, tmp_path) -> None:
    src = _job_tree(tmp_path / "job")
    session.collections.create(f"{HOME}/clash")
    session.data_objects.write(f"{HOME}/clash/checkpoints", b"an object named like the directory")
    with pytest.raises(IrodsNotACollectionError) as caught:
        upload_files(session, str(src), f"{HOME}/clash", continue_on_error=True)
    assert caught.value.path == f"{HOME}/clash/checkpoints"
    assert not session.data_objects.exists(f"{HOME}/clash/summary.txt")
    assert not session.data_objects.exists(f"{HOME}/clash/run/out.dat")
    assert session.data_objects.read(f"{HOME}/clash/checkpoints") == b"an object named like the directory"


def test_symlinked_directories_are_not_followed(session, tmp_path) -> None:
    src = _job_tree(tmp_path / "job")
    (tmp_path / "elsewhere" / "inner").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", src / "linked")
    os.symlink(src, src / "logs" / "loop")
    upload_files(session, str(src), f"{HOME}/links")
    assert _collections(session, f"{HOME}/links") == ALL_DIRS
    followed = upload_files(session, str(src), f"{HOME}/followed", follow_symlinks=True)
    assert {"linked", "linked/inner"} <= set(_collections(session, f"{HOME}/followed"))
    assert not any("loop" in d.destination for d in followed.directories)


def test_a_download_creates_every_directory_empty_ones_included(session, tmp_path) -> None:
    source = _irods_tree(session)
    report = download_files(session, source, tmp_path / "down")
    assert _local_dirs(tmp_path / "down") == ALL_DIRS
    assert (tmp_path / "down" / "run" / "out.dat").read_bytes() == b"output\x00bytes"
    assert [d.source for d in report.directories] == [f"{source}/{d}" for d in ALL_DIRS]
    again = download_files(session, source, tmp_path / "down", skip="exists")
    assert again.skipped == 2
    assert _local_dirs(tmp_path / "down") == ALL_DIRS


def test_a_download_dry_run_creates_nothing(session, tmp_path) -> None:
    source = _irods_tree(session)
    report = download_files(session, source, tmp_path / "dry", dry_run=True)
    assert not (tmp_path / "dry").exists()
    assert [d.status.value for d in report.directories] == ["planned"] * len(ALL_DIRS)


def test_a_local_file_where_a_directory_must_go_is_refused_before_any_byte(session, tmp_path) -> None:
    source = _irods_tree(session)
    target = tmp_path / "down"
    (target / "logs").mkdir(parents=True)
    (target / "logs" / "rank0").write_bytes(b"a file named like the directory")
    with pytest.raises(IrodsNotADirectoryError) as caught:
        download_files(session, source, target, continue_on_error=True)
    assert caught.value.path == str(target / "logs" / "rank0")
    assert not (target / "summary.txt").exists()
    assert (target / "logs" / "rank0").read_bytes() == b"a file named like the directory"


def test_a_download_never_creates_a_directory_through_a_symlink(session, tmp_path) -> None:
    source = _irods_tree(session)
    target, outside = tmp_path / "down", tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    os.symlink(outside, target / "logs")
    with pytest.raises(IrodsInvalidPathError, match="symlink") as caught:  # the plan's check of the name
        download_files(session, source, target)
    assert caught.value.path == "logs"
    assert list(outside.iterdir()) == []


def test_a_collection_copy_creates_nested_empty_collections_and_reports_them(session) -> None:
    source = _irods_tree(session)
    dry = copy_collection(session, source, f"{HOME}/copy", dry_run=True)
    assert not session.collections.exists(f"{HOME}/copy")
    assert [(d.destination, d.status.value) for d in dry.directories] == [
        (f"{HOME}/copy/{d}", "planned") for d in ALL_DIRS
    ]
    report = copy_collection(session, source, f"{HOME}/copy")
    assert _collections(session, f"{HOME}/copy") == ALL_DIRS
    assert session.data_objects.read(f"{HOME}/copy/run/out.dat") == b"output\x00bytes"
    assert [d.status.value for d in report.directories] == ["present"] * len(ALL_DIRS)


def test_a_collection_copy_refuses_a_data_object_where_a_collection_goes(session) -> None:
    source = _irods_tree(session)
    session.collections.create(f"{HOME}/copy2/logs", intermediates=True)
    session.data_objects.write(f"{HOME}/copy2/logs/rank0", b"object")
    with pytest.raises(IrodsNotACollectionError) as caught:
        copy_collection(session, source, f"{HOME}/copy2", dry_run=True)
    assert caught.value.path == f"{HOME}/copy2/logs/rank0"
    with pytest.raises(IrodsNotACollectionError):
        copy_collection(session, source, f"{HOME}/copy2", continue_on_error=True)
    assert not session.data_objects.exists(f"{HOME}/copy2/summary.txt")


def test_an_empty_directory_that_cannot_be_created_fails_the_upload(
    irods_emulator, session, tmp_path
) -> None:
    """No file is bound for it, so no file's failure would say it is missing: the upload fails, typed."""
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.exceptions import IrodsError

    irods_emulator.add_user("alice", "alice-pass")
    session.collections.create(f"{HOME}/shared/ro", intermediates=True)
    session.collections.set_permission(f"{HOME}/shared", "alice", "own")
    session.collections.set_permission(f"{HOME}/shared/ro", "alice", "read_object")
    src = tmp_path / "job"
    (src / "ro" / "empty").mkdir(parents=True)
    (src / "top.txt").write_bytes(b"top")
    alice = IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "alice-pass"))
    with alice, pytest.raises(IrodsError) as caught:
        upload_files(alice, str(src), f"{HOME}/shared", continue_on_error=True)
    assert caught.value.path == f"{HOME}/shared/ro/empty"
    assert caught.value.irods_code is not None
    assert not session.data_objects.exists(f"{HOME}/shared/top.txt")
