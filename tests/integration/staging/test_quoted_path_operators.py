"""The download operators and hook shortcuts on sources whose path holds ``'``: an HTTP API built with iRODS
4.3 (the emulator's default) cannot stat or read them (its GenQuery1 pastes the path unescaped: irods
lib/filesystem/src/filesystem.cpp:745-750 at 4.3.4), so they are read through a verified server-side copy."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from irods_provider.client.transfer._alias import ALIAS_PREFIX
from irods_provider.hooks.irods import IrodsHook
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

HOME = "/tempZone/home/rods"
RUN = f"{HOME}/Bob's run"
NAMES = ["it's big.h5", "plain.csv"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def aliases(session) -> list[str]:
    entries = session.collections.iterate(HOME, include_temporaries=True)
    return [e.name for e in entries if e.name.startswith(ALIAS_PREFIX)]


def put_run(session) -> dict[str, bytes]:
    session.collections.create(RUN, exist_ok=True)
    blobs = {name: os.urandom(size) for name, size in zip(NAMES, [3 * (1 << 20) + 11, 1000], strict=True)}
    for name, data in blobs.items():
        session.data_objects.write(f"{RUN}/{name}", data)
    return blobs


def down(**kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(
        task_id="down", sftp_conn_id="cluster", chunk_size=256 * 1024, remote_checksum=False, **kwargs
    ).execute({})


def test_irods_to_sftp_downloads_quoted_paths(remote, session) -> None:
    blobs = put_run(session)
    assert down(source_path=f"{RUN}/{NAMES[0]}", destination_path=remote.path("one.h5"))["transferred"] == 1
    assert down(source_path=f"{RUN}/", destination_path=remote.path("tree/"))["transferred"] == 2
    assert sha(remote.files()["one.h5"]) == sha(blobs[NAMES[0]])
    assert {k: sha(v) for k, v in remote.files("tree").items()} == {k: sha(v) for k, v in blobs.items()}
    assert aliases(session) == []


def test_irods_to_local_hook_and_sensor_on_quoted_paths(irods, session, tmp_path) -> None:
    blobs = put_run(session)
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
