"""Airflow retries of a multi-file staging task (SFTP -> iRODS and iRODS -> SFTP) under the default policies.

Try 1 fails on the 13th of 20 files (a collection or directory holds its destination name); once that is
removed, try 2 of the same task instance skips what try 1 published instead of refusing it under
overwrite=False, and completes.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from irods_provider.exceptions import IrodsError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
NAMES = [f"f{i:02d}.bin" for i in range(20)]
BAD = NAMES[12]  # the 13th file
EARLIER_TRY = "published by an earlier try of this task"  # the report's skip reason


def ti(try_number: int) -> dict[str, object]:
    """The context of a try of one task instance, as Airflow hands it to every try."""
    return {"ti": SimpleNamespace(dag_id="d", task_id="t", run_id="r1", map_index=-1, try_number=try_number)}


def skipped_as_earlier(report: dict) -> set[str]:
    return {f["destination"].rsplit("/", 1)[1] for f in report["files"] if f["reason"] == EARLIER_TRY}


def test_a_retried_sftp_to_irods_skips_what_its_first_try_published(remote, session) -> None:
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        remote.put(f"src/{name}", blob)
    dest = f"{HOME}/landed"
    session.collections.create(f"{dest}/{BAD}", intermediates=True)  # the fault: its name is taken
    args = {"sftp_conn_id": "cluster", "source_path": remote.path("src"), "destination_path": dest}
    args["continue_on_error"] = True  # every file tried: which ones a failure cancels would vary
    with pytest.raises(IrodsError):
        SFTPToIrodsOperator(task_id="t", **args).execute(ti(1))
    session.collections.remove(f"{dest}/{BAD}")
    published = {n for n in NAMES if session.data_objects.exists(f"{dest}/{n}")}
    assert len(published) == 19

    report = SFTPToIrodsOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"] + report["skipped"]) == (0, 20)
    assert skipped_as_earlier(report) == published
    for name, blob in data.items():
        assert session.data_objects.read(f"{dest}/{name}") == blob


def test_a_retried_irods_to_sftp_skips_what_its_first_try_published(remote, session) -> None:
    source = f"{HOME}/results"
    session.collections.create(source)
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        session.data_objects.write(f"{source}/{name}", blob)
    remote.put(f"out/{BAD}/keep", b"x")  # the fault: a directory holds the 13th file's name
    args = {"sftp_conn_id": "cluster", "source_path": source, "destination_path": remote.path("out")}
    args["continue_on_error"] = True
    with pytest.raises(IrodsError):
        IrodsToSFTPOperator(task_id="t", **args).execute(ti(1))
    (remote.dir / "out" / BAD / "keep").unlink()
    (remote.dir / "out" / BAD).rmdir()
    published = set(remote.files("out"))
    assert len(published) == 19

    report = IrodsToSFTPOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"] + report["skipped"]) == (0, 20)
    assert skipped_as_earlier(report) == published
    assert remote.files("out") == data
