"""An upload goes on when a killed worker's parallel-write handles hold the server-wide stream budget.

Handles never expire (the server keeps them in process memory until parallel_write_shutdown), and on 0.7.0
a parallel_write_init beyond the server-wide budget answers 503 (data_objects/src/main.cpp:1401 at 0.7.0).
A worker killed between the init and recording its handle leaves streams nobody can give back, so every
later parallel upload would fail as busy forever; plain offset writes need no stream.
"""

from __future__ import annotations

import hashlib
import logging
import os

from irods_provider.client.transfer import FileStatus, TransferConfig, upload_object

HOME = "/tempZone/home/rods"


def test_upload_falls_back_to_one_stream_when_the_budget_stays_taken(
    session, irods_emulator, caplog, tmp_path
):
    irods_emulator.set_limits(max_streams=3)
    leaked = session.data_objects.parallel_write_init(f"{HOME}/leaked.bin", stream_count=3)
    assert irods_emulator.open_parallel_write_streams() == 3  # the whole budget, never shut down
    data = os.urandom(5 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = TransferConfig(streams=3, chunk_size=1024 * 1024, retries=2, backoff_base_seconds=0.0)
    with caplog.at_level(logging.WARNING, logger="irods_provider.client.transfer._writer"):
        result = upload_object(session, str(source), f"{HOME}/big.bin", config=config)
    assert session.data_objects.read(f"{HOME}/big.bin") == data
    assert (result.status, result.size) == (FileStatus.TRANSFERRED, len(data))
    assert (
        hashlib.sha256(session.data_objects.read(f"{HOME}/big.bin")).digest() == hashlib.sha256(data).digest()
    )
    assert any("stayed busy" in r.getMessage() and "big.bin" in r.getMessage() for r in caplog.records)
    assert irods_emulator.open_parallel_write_streams() == 3  # only the leaked handle's streams remain
    session.data_objects.parallel_write_shutdown(leaked)
