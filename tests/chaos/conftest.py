"""The crash suites' fixtures, shared by every split file: the zygote a killed worker forks from, the kill
switch on the emulator, and the SFTP server a staged download writes to. ``_crash_harness`` holds the cases,
the invariants and :func:`_crash_harness.kill_point_test`, the one test each split file runs on its cases."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _crash_worker as worker
from _crash_harness import KillSwitch, Zygote


@pytest.fixture(scope="module")
def zygote(irods_emulator_server: Any) -> Iterator[Zygote]:
    """One worker process per module that imported the provider once; each kill point forks from it."""
    env = dict(os.environ, AIRFLOW_CONN_IRODS_DEFAULT=irods_emulator_server.airflow_connection_uri())
    z = Zygote(env)
    try:
        yield z
    finally:
        z.close()


@pytest.fixture
def switch(irods_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[KillSwitch]:
    """The emulator's kill switch, with the worker's chatty loggers quietened for the test only."""
    levels = {name: logging.getLogger(name).level for name in worker.QUIET_LOGGERS}
    worker.quiet()
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", irods_emulator.airflow_connection_uri())
    s = KillSwitch(irods_emulator)
    try:
        yield s
    finally:
        s.close()
        for name, level in levels.items():  # later tests in this process read these loggers' records
            logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module")
def crash_sftp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The SFTP server a staged download writes to; its root holds each kill point's directory."""
    from irods_provider.testing.sftp import EmbeddedSftpServer

    with EmbeddedSftpServer(root=tmp_path_factory.mktemp("crash-sftp")) as server:
        yield server
