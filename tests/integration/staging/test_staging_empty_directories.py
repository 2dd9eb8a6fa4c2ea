"""SFTP <-> iRODS tree copies reproduce every directory of the source, empty and nested empty ones included.

OpenSSH's ``sftp -r`` (put and get) and ``iput -r``/``iget -r`` create them. Against the emulator and the
SFTP servers of the staging fixtures; the XCom report lists them as it lists files. A data object (a file)
where a collection (a directory) must go is refused, typed and naming it, before any byte moves.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from irods_provider.exceptions import (
    IrodsInvalidPathError,
    IrodsNotACollectionError,
    IrodsNotADirectoryError,
    IrodsSymlinkError,
)
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
EMPTIES = ["checkpoints", "logs/rank0/deep", "run/empty"]
ALL_DIRS = ["checkpoints", "logs", "logs/rank0", "logs/rank0/deep", "run", "run/empty"]


def _remote_tree(remote: Any) -> None:
    remote.put("job/run/out.dat", b"output\x00bytes")
    remote.put("job/summary.txt", b"summary")
    for empty in EMPTIES:
        remote._mkdir(remote.dir / "job" / empty)


def _irods_tree(session: Any) -> str:
    source = f"{HOME}/job"
    for empty in EMPTIES:
        session.collections.create(f"{source}/{empty}", intermediates=True)
    session.data_objects.write(f"{source}/run/out.dat", b"output\x00bytes")
    session.data_objects.write(f"{source}/summary.txt", b"summary")
    return source


def _collections(session: Any, root: str) -> list[str]:
    listed = session.collections.iterate(root, recursive=True)
    return sorted(e.path[len(root) + 1 :] for e in listed if e.kind.value == "collection")


def _remote_dirs(remote: Any, relative: str) -> list[str]:
    root = remote.dir / relative
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())


def _up(remote: Any, destination: str, **kwargs: Any) -> Any:
    return SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("job"),
        destination_path=destination,
        **kwargs,
    ).execute({})


def _down(source: str, destination: str, **kwargs: Any) -> Any:
    return IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", source_path=source, destination_path=destination, **kwargs
    ).execute({})


def test_sftp_to_irods_creates_every_directory(remote: Any, session: Any) -> None:
    _remote_tree(remote)
    os.symlink(remote.dir / "job" / "logs", remote.dir / "job" / "linked")  # never followed
    report = _up(remote, f"{HOME}/in")
    assert _collections(session, f"{HOME}/in") == ALL_DIRS
    assert session.data_objects.read(f"{HOME}/in/run/out.dat") == b"output\x00bytes"
    assert [d["destination"] for d in report["directories"]] == [f"{HOME}/in/{d}" for d in ALL_DIRS]
    assert [d["source"].split("/job/", 1)[1] for d in report["directories"]] == ALL_DIRS
    assert report["directory_count"] == len(ALL_DIRS)
    again = _up(remote, f"{HOME}/in", skip="exists")  # idempotent
    assert again["skipped"] == 2
    assert again["directory_count"] == len(ALL_DIRS)


def test_sftp_to_irods_refuses_a_data_object_where_a_collection_goes(remote: Any, session: Any) -> None:
    _remote_tree(remote)
    session.collections.create(f"{HOME}/clash/logs/rank0", intermediates=True)
    session.data_objects.write(f"{HOME}/clash/logs/rank0/deep", b"an object")
    with pytest.raises(IrodsNotACollectionError) as caught:
        _up(remote, f"{HOME}/clash", continue_on_error=True)
    assert caught.value.path == f"{HOME}/clash/logs/rank0/deep"
    assert not session.data_objects.exists(f"{HOME}/clash/summary.txt")
    assert not session.data_objects.exists(f"{HOME}/clash/run/out.dat")


def test_sftp_to_irods_refuses_an_unstorable_directory_name_up_front(remote: Any, session: Any) -> None:
    _remote_tree(remote)
    remote._mkdir(remote.dir / "job" / "line\nbreak")
    with pytest.raises(IrodsInvalidPathError, match="control characters"):
        _up(remote, f"{HOME}/bad")
    assert not session.collections.exists(f"{HOME}/bad/checkpoints")
    assert not session.data_objects.exists(f"{HOME}/bad/summary.txt")


def test_irods_to_sftp_creates_every_directory(remote: Any, session: Any) -> None:
    source = _irods_tree(session)
    report = _down(source, remote.path("back"))
    assert _remote_dirs(remote, "back") == ALL_DIRS
    assert remote.files("back") == {"run/out.dat": b"output\x00bytes", "summary.txt": b"summary"}
    assert [d["source"] for d in report["directories"]] == [f"{source}/{d}" for d in ALL_DIRS]
    assert {d["status"] for d in report["directories"]} == {"present"}
    again = _down(source, remote.path("back"), skip="exists")
    assert again["skipped"] == 2
    assert _remote_dirs(remote, "back") == ALL_DIRS


def test_irods_to_sftp_refuses_a_file_where_a_directory_goes(remote: Any, session: Any) -> None:
    source = _irods_tree(session)
    remote.put("back/logs/rank0", b"a file named like the directory")
    with pytest.raises(IrodsNotADirectoryError) as caught:
        _down(source, remote.path("back"), continue_on_error=True)
    assert caught.value.path is not None
    assert caught.value.path.endswith("back/logs/rank0")
    assert remote.files("back") == {"logs/rank0": b"a file named like the directory"}


def test_irods_to_sftp_never_creates_a_directory_through_a_link(remote: Any, session: Any) -> None:
    source = _irods_tree(session)
    remote._mkdir(remote.dir / "back")
    remote._mkdir(remote.dir / "outside")
    os.symlink(remote.dir / "outside", remote.dir / "back" / "logs")
    with pytest.raises(IrodsSymlinkError):
        _down(source, remote.path("back"))
    assert list((remote.dir / "outside").iterdir()) == []


def test_a_tree_of_empty_directories_only_is_copied_both_ways(remote: Any, session: Any) -> None:
    """Not "no file matches": the directories are what there is to copy."""
    session.collections.create(f"{HOME}/bare/a/b", intermediates=True)
    session.collections.create(f"{HOME}/bare/c", intermediates=True)
    down = _down(f"{HOME}/bare", remote.path("bare"))
    assert _remote_dirs(remote, "bare") == ["a", "a/b", "c"]
    assert down["directory_count"] == 3
    up = SFTPToIrodsOperator(
        task_id="up",
        sftp_conn_id="cluster",
        source_path=remote.path("bare"),
        destination_path=f"{HOME}/again",
    ).execute({})
    assert _collections(session, f"{HOME}/again") == ["a", "a/b", "c"]
    assert up["transferred"] == 0
