"""The download operators and hook shortcuts on sources whose path holds ``'``: an HTTP API built with iRODS
4.3 (the emulator's default) cannot stat or read them (its GenQuery1 pastes the path unescaped: irods
lib/filesystem/src/filesystem.cpp:745-750 at 4.3.4), so they are read through a verified server-side copy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from irods_provider.hooks.irods import IrodsHook
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from alias_runs import aliases, put_run, sha

HOME = "/tempZone/home/rods"
RUN = f"{HOME}/Bob's run"
NAMES = ["it's big.h5", "plain.csv"]


def down(**kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", chunk_size=256 * 1024, remote_checksum=False, **kwargs
    ).execute({})


def test_irods_to_sftp_downloads_quoted_paths(remote, session) -> None:
    blobs = put_run(session, RUN, NAMES)
    assert down(source_path=f"{RUN}/{NAMES[0]}", destination_path=remote.path("one.h5"))["transferred"] == 1
    assert down(source_path=f"{RUN}/", destination_path=remote.path("tree/"))["transferred"] == 2
    assert sha(remote.files()["one.h5"]) == sha(blobs[NAMES[0]])
    assert {k: sha(v) for k, v in remote.files("tree").items()} == {k: sha(v) for k, v in blobs.items()}
    assert aliases(session) == []


def test_irods_to_local_hook_and_sensor_on_quoted_paths(irods, session, tmp_path) -> None:
    blobs = put_run(session, RUN, NAMES)
    source = f"{RUN}/{NAMES[0]}"
    IrodsToLocalOperator(
        task_id="get", source_path=source, destination_path=str(tmp_path / "one.h5")
    ).execute({})
    assert sha((tmp_path / "one.h5").read_bytes()) == sha(blobs[NAMES[0]])
    with IrodsHook() as hook:
        assert hook.read_bytes(f"{RUN}/{NAMES[1]}") == blobs[NAMES[1]]
    sensor = IrodsPathSensor(task_id="wait", path=source)
    try:
        poked = sensor.poke({})
    finally:
        sensor.hook.close()  # execute() closes it; a bare poke leaves its session's socket open
    assert poked.is_done
    assert [(m["path"], m["size"]) for m in poked.xcom_value] == [(source, len(blobs[NAMES[0]]))]
    assert aliases(session) == []
