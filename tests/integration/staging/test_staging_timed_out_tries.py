"""A try of a multi-file staging task ended by Airflow's ``execution_timeout`` (AirflowTaskTimeout, no
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
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout

from irods_provider.sftp._endpoint import SftpEndpoint
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"
NAMES = [f"f{i:02d}.bin" for i in range(20)]
BAD = NAMES[12]  # the copy of the 13th file is where the timeout strikes
EARLIER_TRY = "published by an earlier try of this task"  # the report's skip reason
ONE_AT_A_TIME = {"max_concurrent_files": 1, "max_concurrent_small_files": 1}


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


def timing_out(retrying: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``SftpEndpoint.retrying`` (one file's copy), but the timeout strikes at the 13th file."""

    def wrapped(self: SftpEndpoint, run: Callable[[], Any], *, path: str, **kwargs: Any) -> Any:
        if path.endswith(f"/{BAD}"):
            if where == "main":
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGALRM)
            raise AirflowTaskTimeout("Timeout, PID: test")
        return retrying(self, run, path=path, **kwargs)

    return wrapped


def skipped_as_earlier(report: dict) -> set[str]:
    return {f["destination"].rsplit("/", 1)[1] for f in report["files"] if f["reason"] == EARLIER_TRY}


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("where", ["main", "worker"])
def test_sftp_to_irods_retried_after_a_timeout_skips_what_it_published(
    remote, session, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        remote.put(f"src/{name}", blob)
    dest = f"{HOME}/landed"
    args = {"sftp_conn_id": "cluster", "source_path": remote.path("src"), "destination_path": dest}
    args |= ONE_AT_A_TIME
    with monkeypatch.context() as patch:
        patch.setattr(SftpEndpoint, "retrying", timing_out(SftpEndpoint.retrying, where))
        with pytest.raises(AirflowTaskTimeout):  # the original exception, not masked
            SFTPToIrodsOperator(task_id="t", **args).execute(ti(1))
    published = {n for n in NAMES if session.data_objects.exists(f"{dest}/{n}")}
    assert published == set(NAMES[:12])

    report = SFTPToIrodsOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"], report["skipped"]) == (0, 8, 12)
    assert skipped_as_earlier(report) == published
    for name, blob in data.items():
        assert session.data_objects.read(f"{dest}/{name}") == blob


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("where", ["main", "worker"])
def test_irods_to_sftp_retried_after_a_timeout_skips_what_it_published(
    remote, session, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    source = f"{HOME}/results"
    session.collections.create(source)
    data = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, blob in data.items():
        session.data_objects.write(f"{source}/{name}", blob)
    args = {"sftp_conn_id": "cluster", "source_path": source, "destination_path": remote.path("out")}
    args |= ONE_AT_A_TIME
    with monkeypatch.context() as patch:
        patch.setattr(SftpEndpoint, "retrying", timing_out(SftpEndpoint.retrying, where))
        with pytest.raises(AirflowTaskTimeout):
            IrodsToSFTPOperator(task_id="t", **args).execute(ti(1))
    published = set(remote.files("out"))
    assert published == set(NAMES[:12])

    report = IrodsToSFTPOperator(task_id="t", **args).execute(ti(2))
    assert (report["failed"], report["transferred"], report["skipped"]) == (0, 8, 12)
    assert skipped_as_earlier(report) == published
    assert remote.files("out") == data
