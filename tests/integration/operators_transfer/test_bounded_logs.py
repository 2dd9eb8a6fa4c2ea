"""Bounded task logs: lines per transfer stay constant as the bytes grow; a failing request is still shown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.hooks._logs import REQUEST_LOG_ENV
from irods_provider.operators.transfer import LocalToIrodsOperator

HOME = "/tempZone/home/rods"
MIB = 1024 * 1024
CHUNK = 128 * 1024  # small chunks: many requests per MiB

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("http_loggers_reset")]


def _upload_lines(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path, size: int
) -> list[str]:
    """The lines one upload logs: the operator's (structlog, on the output) and the libraries' (logging).

    A library record that Airflow's logging also renders to the output is counted once.
    """
    source = tmp_path / f"blob-{size}.bin"
    source.write_bytes(os.urandom(size))
    capsys.readouterr()
    caplog.clear()
    report = LocalToIrodsOperator(
        task_id="up",
        source_path=str(source),
        destination_path=f"{HOME}/bounded-{size}.bin",
        overwrite=True,
        chunk_size=CHUNK,
        progress_interval_seconds=3600,  # no progress line within the test: the count is the fixed part
    ).execute({})
    assert report["bytes"] == size
    records = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    output = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    return records + [line for line in output if not any(message in line for message in records)]


def test_lines_per_transfer_do_not_grow_with_bytes(irods, caplog, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(REQUEST_LOG_ENV, raising=False)
    caplog.set_level(logging.INFO)
    small = _upload_lines(capsys, caplog, tmp_path, 8 * MIB)  # 64 chunks
    large = _upload_lines(capsys, caplog, tmp_path, 32 * MIB)  # 256 chunks
    assert len(small) == len(large) == 3, large  # "Uploading ...", the file's line, the summary
    assert "Uploading" in large[0]
    assert "local -> iRODS: 1 transferred, 0 skipped, 0 failed, 33554432 bytes" in large[-1]

    # The switch restores httpx2's line per request: the count then grows with the bytes (the test can fail).
    monkeypatch.setenv(REQUEST_LOG_ENV, "info")
    verbose = _upload_lines(capsys, caplog, tmp_path, 32 * MIB)
    requests = [line for line in verbose if "HTTP Request:" in line]
    assert len(requests) >= 32 * MIB // CHUNK


def test_debug_level_keeps_the_request_lines_at_debug(irods, caplog, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(REQUEST_LOG_ENV, raising=False)
    caplog.set_level(logging.DEBUG)
    _upload_lines(capsys, caplog, tmp_path, 2 * MIB)
    requests = [r for r in caplog.records if r.getMessage().startswith("HTTP Request:")]
    assert len(requests) >= 2 * MIB // CHUNK
    assert {r.levelname for r in requests} == {"DEBUG"}


def test_a_failing_request_is_still_logged(session, caplog, monkeypatch) -> None:
    monkeypatch.delenv(REQUEST_LOG_ENV, raising=False)
    caplog.set_level(logging.INFO)
    session.data_objects.write(f"{HOME}/present.txt", b"here")
    caplog.clear()
    assert session.data_objects.read(f"{HOME}/present.txt") == b"here"
    missing = f"{HOME}/missing-object.bin"
    with pytest.raises(IrodsNotFoundError) as info:
        session.data_objects.read(missing)
    assert info.value.http_status == 404  # real server: read of a missing data object -> 404 (empty body)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("HTTP Request:")]
    assert len(lines) == 1, lines  # only the failing request, not the successful read before it
    line = lines[0]
    assert line.startswith("HTTP Request: GET http://127.0.0.1:")
    assert "/irods-http-api/0.7.0/data-objects?op=read" in line
    assert "missing-object.bin" in line
    assert '"HTTP/1.1 404 Not Found"' in line
    assert caplog.records[-1].levelno == logging.INFO
