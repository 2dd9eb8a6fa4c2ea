"""A staging task that fails part-way logs what landed: each file's outcome and the totals.

The local transfer operators log the partial report before raising (transfers/_local.py ``run``); the
staging operators recorded its lineage and raised without a line, so the task log of a failed run did
not say which files were already published (the ones a retry under REFUSE then stops at).
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

HOME = "/tempZone/home/rods"


def _outcomes(output: str, pairs: dict[str, str], landed: set[str]) -> None:
    for source, destination in pairs.items():
        lines = [line for line in output.splitlines() if f"{source} -> {destination} " in line]
        status = "transferred" if destination in landed else "failed"
        assert any(f"{status} {source} -> " in line for line in lines), (status, source, output)


def test_a_failed_upload_logs_the_files_it_published(
    remote: Any, session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in "abc":
        remote.put(f"src/{name}", name.encode())
    session.collections.create(f"{HOME}/up")
    session.data_objects.write(f"{HOME}/up/b", b"someone else's")
    capsys.readouterr()
    with pytest.raises(IrodsAlreadyExistsError):
        SFTPToIrodsOperator(
            task_id="up",
            sftp_conn_id="cluster",
            source_path=remote.path("src"),
            destination_path=f"{HOME}/up",
        ).execute({})
    output = capsys.readouterr().out
    pairs = {f"{sftp_root(remote)}/src/{n}": f"{HOME}/up/{n}" for n in "abc"}
    landed = {d for d in pairs.values() if d != f"{HOME}/up/b" and session.data_objects.exists(d)}
    assert landed, "the other files were published before the failure was seen"
    _outcomes(output, pairs, landed)
    assert "IrodsAlreadyExistsError" in output
    assert f"SFTP -> iRODS: {len(landed)} transferred, 0 skipped, 1 failed" in output


def test_a_failed_download_logs_the_files_it_published(
    remote: Any, session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session.collections.create(f"{HOME}/down")
    for name in "abc":
        session.data_objects.write(f"{HOME}/down/{name}", name.encode())
    remote.put("out/b", b"someone else's")
    capsys.readouterr()
    with pytest.raises(IrodsAlreadyExistsError):
        IrodsToSFTPOperator(
            task_id="down",
            sftp_conn_id="cluster",
            source_path=f"{HOME}/down",
            destination_path=remote.path("out"),
        ).execute({})
    output = capsys.readouterr().out
    pairs = {f"{HOME}/down/{n}": f"{sftp_root(remote)}/out/{n}" for n in "abc"}
    on_disk = remote.files("out")
    landed = {pairs[f"{HOME}/down/{n}"] for n in "ac" if on_disk.get(n) == n.encode()}
    assert landed, "the other files were published before the failure was seen"
    _outcomes(output, pairs, landed)
    assert f"iRODS -> SFTP: {len(landed)} transferred, 0 skipped, 1 failed" in output


def sftp_root(remote: Any) -> str:
    """The absolute SFTP path of the test's directory (as the reports name it)."""
    root = str(remote.server.remote_root).rstrip("/")
    return f"{root}/{remote.base}"
