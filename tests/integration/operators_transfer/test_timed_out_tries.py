"""A try of a multi-file local transfer ended by Airflow's ``execution_timeout`` (AirflowTaskTimeout, no
IrodsError) still records what it published, so its retry skips those files instead of refusing them.

Airflow's timeout raises AirflowTaskTimeout from a SIGALRM handler in the task's main thread
(airflow.sdk.execution_time.timeout); here the 13th file's copy delivers it ("main") or raises it in the
worker thread copying that file ("worker"), with one file at a time so the first 12 are published first.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout

from irods_provider.client.transfer import _local as engine
from irods_provider.operators._earlier import EarlierTries
from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator

HOME = "/tempZone/home/rods"
NAMES = [f"f{i:02d}.bin" for i in range(20)]
BAD = NAMES[12]  # the copy of the 13th file is where the timeout strikes
EARLIER_TRY = "published by an earlier try of this task"  # the report's skip reason
ONE_AT_A_TIME = {"max_concurrent_files": 1, "max_concurrent_small_files": 1}


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRODS_PROVIDER_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def alarm() -> Iterator[None]:
    """SIGALRM raises AirflowTaskTimeout in the main thread, as Airflow's execution_timeout does."""

    def handler(signum: int, frame: object) -> None:
        raise AirflowTaskTimeout("Timeout, PID: test")

    previous = signal.signal(signal.SIGALRM, handler)
    yield
    signal.signal(signal.SIGALRM, previous)


def ti(try_number: int) -> dict[str, object]:
    return {"ti": SimpleNamespace(dag_id="d", task_id="t", run_id="r1", map_index=-1, try_number=try_number)}


def timing_out(copy: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``copy``, but the timeout strikes when the 13th file's turn comes."""

    def wrapped(session: Any, source: Any, destination: Any, **kwargs: Any) -> Any:
        if str(source).endswith(f"/{BAD}"):
            if where == "main":
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGALRM)
            raise AirflowTaskTimeout("Timeout, PID: test")
        return copy(session, source, destination, **kwargs)

    return wrapped


def skipped_as_earlier(report: dict) -> set[str]:
    return {f["destination"].rsplit("/", 1)[1] for f in report["files"] if f["reason"] == EARLIER_TRY}


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("where", ["main", "worker"])
def test_an_upload_retried_after_a_timeout_skips_what_it_published(
    session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    src, dest = tmp_path / "src", f"{HOME}/staged"
    src.mkdir()
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        (src / name).write_bytes(blob)
    args = {"source_path": str(src), "destination_path": dest, **ONE_AT_A_TIME}
    with monkeypatch.context() as patch:
        patch.setattr(engine, "upload_object", timing_out(engine.upload_object, where))
        with pytest.raises(AirflowTaskTimeout):  # the original exception, not masked
            LocalToIrodsOperator(task_id="t", **args).execute(ti(1))
    published = {n for n in NAMES if session.data_objects.exists(f"{dest}/{n}")}
    assert published == set(NAMES[:12])

    report = LocalToIrodsOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"], report["skipped"]) == (0, 8, 12)
    assert skipped_as_earlier(report) == published
    for name, blob in data.items():
        assert session.data_objects.read(f"{dest}/{name}") == blob


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("where", ["main", "worker"])
def test_a_download_retried_after_a_timeout_skips_what_it_published(
    session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    source, dest = f"{HOME}/results", tmp_path / "landing"
    session.collections.create(source)
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        session.data_objects.write(f"{source}/{name}", blob)
    args = {"source_path": source, "destination_path": str(dest), **ONE_AT_A_TIME}
    with monkeypatch.context() as patch:
        patch.setattr(engine, "download_object", timing_out(engine.download_object, where))
        with pytest.raises(AirflowTaskTimeout):
            IrodsToLocalOperator(task_id="t", **args).execute(ti(1))
    published = {p.name for p in dest.iterdir()}
    assert published == set(NAMES[:12])

    report = IrodsToLocalOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"], report["skipped"]) == (0, 8, 12)
    assert skipped_as_earlier(report) == published
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == data


def test_a_record_that_cannot_be_written_never_replaces_the_timeout(
    session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording what the try published fails too: the task still fails with the timeout, not that error."""
    src = tmp_path / "src"
    src.mkdir()
    for i, name in enumerate(NAMES):
        (src / name).write_bytes(os.urandom(1000 + i))

    def broken(self: EarlierTries, files: object) -> None:
        raise RuntimeError("the record cannot be written")

    monkeypatch.setattr(EarlierTries, "record", broken)
    monkeypatch.setattr(engine, "upload_object", timing_out(engine.upload_object, "worker"))
    args = {"source_path": str(src), "destination_path": f"{HOME}/staged", **ONE_AT_A_TIME}
    with pytest.raises(AirflowTaskTimeout):
        LocalToIrodsOperator(task_id="t", **args).execute(ti(1))
