"""Airflow retries of a multi-file transfer task under the default policies (overwrite=False, skip='never').

Its first try fails on the 13th of 20 files (that file's destination name is taken); the cause is fixed and
Airflow runs the task again (the same task instance, try 2). The retry skips the files its first try
published, as the report says, instead of refusing them (which failed every retry for good); a file
someone else replaced, or whose source changed, between the tries is still refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from irods_provider.client.transfer import FileStatus
from irods_provider.exceptions import IrodsError
from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator

HOME = "/tempZone/home/rods"
NAMES = [f"f{i:02d}.bin" for i in range(20)]
BAD = NAMES[12]  # the 13th file
EARLIER_TRY = "published by an earlier try of this task"  # the report's skip reason


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(tmp_path / "state"))


def ti(try_number: int, run_id: str = "r1") -> dict[str, object]:
    """The context of a try of one task instance, as Airflow hands it to every try."""
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id=run_id, map_index=-1, try_number=try_number)
    return {"ti": ti}


def files(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        (root / name).write_bytes(blob)
    return data


def skipped_as_earlier(report: dict) -> set[str]:
    return {f["destination"].rsplit("/", 1)[1] for f in report["files"] if f["reason"] == EARLIER_TRY}


def upload_failing_on_bad(session, src: Path, dest: str) -> dict[str, object]:
    """Try 1 of the upload, failing on BAD (a collection holds its name), which is then removed."""
    args = {"source_path": str(src), "destination_path": dest, "continue_on_error": True}  # all tried
    session.collections.create(f"{dest}/{BAD}", intermediates=True)
    with pytest.raises(IrodsError):
        LocalToIrodsOperator(task_id="t", **args).execute(ti(1))
    session.collections.remove(f"{dest}/{BAD}")
    return args


def test_a_retried_upload_skips_what_its_first_try_published(session, tmp_path: Path) -> None:
    data, dest = files(tmp_path / "src"), f"{HOME}/staged"
    args = upload_failing_on_bad(session, tmp_path / "src", dest)
    published = {n for n in NAMES if session.data_objects.exists(f"{dest}/{n}")}
    assert BAD not in published
    assert len(published) == 19  # try 1 published the files before and after the failing one

    assert len(list((tmp_path / "state" / "published").glob("*.json"))) == 1  # what try 1 published

    report = LocalToIrodsOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"] + report["skipped"]) == (0, 20)
    assert skipped_as_earlier(report) == published
    for name, blob in data.items():
        assert session.data_objects.read(f"{dest}/{name}") == blob
    assert list((tmp_path / "state" / "published").glob("*.json")) == []  # the task succeeded: dropped


def test_a_retried_upload_still_refuses_what_it_did_not_publish(session, tmp_path: Path) -> None:
    """Between the tries someone else replaced f03 (same size) and f05's source changed: only those two are
    refused; another run of the task (its own first try) refuses every file there."""
    data, dest = files(tmp_path / "src"), f"{HOME}/staged"
    args = upload_failing_on_bad(session, tmp_path / "src", dest)
    session.data_objects.write(f"{dest}/f03.bin", os.urandom(len(data["f03.bin"])), truncate=True)
    (tmp_path / "src" / "f05.bin").write_bytes(os.urandom(len(data["f05.bin"])))
    with pytest.raises(IrodsError) as caught:
        LocalToIrodsOperator(task_id="t", **args).execute(ti(2))
    report = caught.value.report  # type: ignore[attr-defined]
    failed = {f.destination.rsplit("/", 1)[1]: f.error for f in report.files if f.status is FileStatus.FAILED}
    assert set(failed) == {"f03.bin", "f05.bin"}
    assert all("IrodsAlreadyExistsError" in str(error) for error in failed.values())
    assert {f.status for f in report.files} == {FileStatus.FAILED, FileStatus.SKIPPED, FileStatus.TRANSFERRED}
    with pytest.raises(IrodsError) as caught:  # a first try of another run: nothing there is its own
        LocalToIrodsOperator(task_id="t", **args).execute(ti(1, run_id="r2"))
    errors = {f.error.split(":", 1)[0] for f in caught.value.report.files}  # type: ignore[attr-defined]
    assert errors == {"IrodsAlreadyExistsError"}


def test_a_retried_download_skips_what_its_first_try_published(session, tmp_path: Path) -> None:
    source = f"{HOME}/results"
    session.collections.create(source)
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        session.data_objects.write(f"{source}/{name}", blob)
    dest = tmp_path / "landing"
    (dest / BAD).mkdir(parents=True)  # the fault: a directory holds the 13th file's name
    # Every file is tried (its small files all start at once: which ones the failure cancels would vary).
    args = {"source_path": source, "destination_path": str(dest), "continue_on_error": True}
    with pytest.raises(IrodsError):
        IrodsToLocalOperator(task_id="t", **args).execute(ti(1))
    published = {p.name for p in dest.iterdir()} - {BAD}
    assert len(published) == 19
    with pytest.raises(IrodsError) as caught:  # try 2 before the cause is fixed: only BAD fails again
        IrodsToLocalOperator(task_id="t", **args).execute(ti(2))
    failed = [f.source for f in caught.value.report.files if f.status is FileStatus.FAILED]  # type: ignore[attr-defined]
    assert failed == [f"{source}/{BAD}"]
    (dest / BAD).rmdir()

    report = IrodsToLocalOperator(task_id="t", **args).execute(ti(3))  # what try 1 published still skipped
    assert (report["failed"], report["transferred"] + report["skipped"]) == (0, 20)
    assert skipped_as_earlier(report) == published
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == data
