"""A staged download over several SSH connections writes each chunk at its offset as its ranged read
completes: one ranged read that lags (its TCP connection slowed down) no longer stops the SFTP writer while
the chunks after it wait in memory. The copy still hashes every byte in order, and every byte is handed to
the writer exactly once.

The lag is a read of the client's held until the writer was handed a chunk beyond it (bounded), so the order
is observed, never timed; the bytes are checked by SHA-256 at the final path.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
from typing import Any

import pytest

from irods_provider.client._sync._fs import DataObjects
from irods_provider.exceptions import IrodsError, IrodsPermissionError
from irods_provider.sftp._parallel import ParallelSftpWriter
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
MIB = 1024 * 1024
CHUNK = MIB  # the ramp's floor: every ranged read is one chunk
HELD = 2 * MIB  # the ranged read that lags
HOLD_SECONDS = 10.0


class _Lag:
    """Holds the ranged read at ``HELD`` until a byte beyond its chunk was handed to the SFTP writer (or
    ``HOLD_SECONDS`` passed); records every range handed to the writer, by either call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hold: float = HOLD_SECONDS) -> None:
        self.handed: list[tuple[int, int]] = []
        self.beyond = threading.Event()
        self.passed_while_held: bool | None = None
        self._lock = threading.Lock()
        read_into = DataObjects.read_into
        write, write_at = ParallelSftpWriter.write, ParallelSftpWriter.write_at
        lag = self

        def lagging_read_into(self, path, buffer, *, offset=0, **kwargs):  # type: ignore[no-untyped-def]
            if offset == HELD:
                lag.passed_while_held = lag.beyond.wait(hold)
            return read_into(self, path, buffer, offset=offset, **kwargs)

        def recording_write(self, data):  # type: ignore[no-untyped-def]
            lag.handed_range(self.bytes_written, len(memoryview(data)))
            return write(self, data)

        def recording_write_at(self, offset, data, **kwargs):  # type: ignore[no-untyped-def]
            lag.handed_range(offset, len(memoryview(data)))
            return write_at(self, offset, data, **kwargs)

        monkeypatch.setattr(DataObjects, "read_into", lagging_read_into)
        monkeypatch.setattr(ParallelSftpWriter, "write", recording_write)
        monkeypatch.setattr(ParallelSftpWriter, "write_at", recording_write_at)

    def handed_range(self, offset: int, size: int) -> None:
        with self._lock:
            self.handed.append((offset, size))
        if offset >= HELD + CHUNK:
            self.beyond.set()


def _down(remote: Any, path: str, name: str, **kwargs: Any) -> dict[str, Any]:
    return IrodsToSFTPOperator(
        task_id="down",
        sftp_conn_id="cluster",
        source_path=path,
        destination_path=remote.path(name),
        chunk_size=CHUNK,
        sftp_retry_backoff=0.05,
        **kwargs,
    ).execute({})


def _put(session: Any, path: str, data: bytes) -> None:
    for at in range(0, len(data), 8 * MIB):  # the server takes at most 8 MiB per request
        session.data_objects.write(path, data[at : at + 8 * MIB], offset=at, truncate=at == 0)


def test_a_lagging_ranged_read_does_not_stop_the_parallel_sftp_writer(remote, session, monkeypatch) -> None:
    data = random.Random(21).randbytes(12 * MIB + 5)
    _put(session, f"{HOME}/lag.bin", data)
    lag = _Lag(monkeypatch)
    report = _down(remote, f"{HOME}/lag.bin", "lag.bin", sftp_connections=2)
    assert report["transferred"] == 1
    # Chunks after the lagging one reached the writer while it was still being read (before: the writer
    # took chunks in order only, so nothing beyond it moved until the hold ran out).
    assert lag.passed_while_held is True
    assert hashlib.sha256(remote.files()["lag.bin"]).hexdigest() == hashlib.sha256(data).hexdigest()
    handed = sorted(lag.handed)
    assert [offset for offset, _ in handed] == [0, *itertools.accumulate(size for _, size in handed[:-1])]
    assert sum(size for _, size in handed) == len(data)  # every byte handed exactly once
    assert report["files"][0]["checksum"] == session.data_objects.calculate_checksum(f"{HOME}/lag.bin")


def test_one_connection_still_writes_in_order(remote, session, monkeypatch) -> None:
    # One SFTP session has no positioned writes: the reads are consumed in order, as before.
    data = random.Random(22).randbytes(5 * MIB + 3)
    _put(session, f"{HOME}/one.bin", data)
    lag = _Lag(monkeypatch, hold=1.0)  # nothing can overtake in order: the hold always runs out
    report = _down(remote, f"{HOME}/one.bin", "one.bin", sftp_connections=1)
    assert report["transferred"] == 1
    assert lag.passed_while_held is False  # the held read ran out its hold: nothing overtook it
    assert lag.handed == []  # the single-session writer is not the parallel one
    assert remote.files()["one.bin"] == data


def test_a_failed_ranged_read_publishes_nothing_while_later_chunks_were_written(
    remote, session, monkeypatch
) -> None:
    # Later chunks reach the temporary before the lagging read fails for good: the task fails, typed, and
    # nothing appears at the final path (the temporary with its holes is never published).
    data = random.Random(23).randbytes(10 * MIB)
    _put(session, f"{HOME}/fail.bin", data)
    lag = _Lag(monkeypatch)
    read_into = DataObjects.read_into

    def failing(self, path, buffer, *, offset=0, **kwargs):  # type: ignore[no-untyped-def]
        if offset == HELD:
            lag.passed_while_held = lag.beyond.wait(HOLD_SECONDS)
            raise IrodsPermissionError(  # the server's refusal (not retried): access revoked mid-copy
                "access denied", http_status=403, irods_code=-818000, operation="data_objects.read", path=path
            )
        return read_into(self, path, buffer, offset=offset, **kwargs)

    monkeypatch.setattr(DataObjects, "read_into", failing)
    with pytest.raises(IrodsError) as caught:
        _down(remote, f"{HOME}/fail.bin", "fail.bin", sftp_connections=2, resume=False)
    assert "fail.bin" in str(caught.value)
    assert "CAT_NO_ACCESS_PERMISSION" in str(caught.value)
    assert lag.passed_while_held is True
    assert max(offset for offset, _ in lag.handed) > HELD  # later chunks were written first
    assert "fail.bin" not in remote.files()
    assert not [name for name in remote.files() if ".fail.bin.irods-part-" in name]  # no resume: removed
