"""A file that fits one request body costs a write, a checksum and a rename (one more call for AVUs; the
session's first upload to a resource one more, to learn its replica layout): no destination check, no resume
bookkeeping; an existing destination is still refused, nothing left behind."""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import logging
import sys
import threading
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import AVU, BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import (
    OverwritePolicy,
    SkipPolicy,
    TransferConfig,
    upload_files,
    upload_object,
)
from irods_provider.client.transfer._coordinator import TransferCoordinator
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsNotADataObjectError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from op_counter import request_op

HOME = "/tempZone/home/rods"
DATA = bytes(range(256)) * 16  # 4 KiB


class Counting(httpx2.HTTPTransport):
    """Counts API calls by operation; drops the answer of the first ``drop_renames`` renames (applied)."""

    def __init__(self, drop_renames: int = 0) -> None:
        super().__init__()
        self.ops: collections.Counter[str] = collections.Counter()
        self.drop_renames = drop_renames
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        op = request_op(request)
        with self._lock:
            self.ops[op] += 1
            drop = op == "rename" and self.ops["rename"] <= self.drop_renames
        response = super().handle_request(request)
        if drop:
            response.read()
            raise httpx2.ReadError("connection dropped", request=request)
        return response


def _session(server, transport: Counting) -> IrodsSession:
    retry = RetryPolicy(max_attempts=4, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    return IrodsSession(
        server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry, transport=transport
    )


def _objects(server) -> list[str]:
    with server.model.lock:
        return sorted(p for p in server.model.data_objects if p.startswith(f"{HOME}/small/"))


def _sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.mark.parametrize(("avus", "expected_calls"), [((), 3), ((AVU("run", "7"),), 4)])
def test_a_small_file_costs_three_calls_four_with_avus(irods_emulator, avus, expected_calls) -> None:
    transport = Counting()
    with _session(irods_emulator, transport) as session:
        session.collections.create(f"{HOME}/small")
        assert session.limits.max_write_payload_bytes > len(DATA)  # once per session, not per file
        # Once per session and resource, too: the first upload lists its replicas (one GenQuery) to learn
        # whether uploads there get several (TransferConfig.verify_replicas); demoResc makes one.
        transport.ops.clear()
        upload_object(session, io.BytesIO(DATA), f"{HOME}/small/first.bin", size=len(DATA))
        assert dict(transport.ops) == {
            "write": 1,
            "execute_genquery": 1,
            "calculate_checksum": 1,
            "rename": 1,
        }
        transport.ops.clear()
        result = upload_object(
            session, io.BytesIO(DATA), f"{HOME}/small/a.bin", size=len(DATA), metadata=avus
        )
        calls = dict(transport.ops)
        assert session.data_objects.read(f"{HOME}/small/a.bin") == DATA
        assert [(a.attribute, a.value) for a in session.metadata.list(f"{HOME}/small/a.bin")] == [
            (a.attribute, a.value) for a in avus
        ]
    assert result.checksum == _sha2(DATA)
    expected = {"write": 1, "calculate_checksum": 1, "rename": 1}
    if avus:
        expected["modify_metadata"] = 1
    assert calls == expected
    assert sum(calls.values()) == expected_calls
    assert _objects(irods_emulator) == [f"{HOME}/small/a.bin", f"{HOME}/small/first.bin"]


def test_an_existing_destination_is_refused_by_the_rename_and_nothing_is_left(irods_emulator) -> None:
    transport = Counting()
    with _session(irods_emulator, transport) as session:
        session.collections.create(f"{HOME}/small")
        session.data_objects.write(f"{HOME}/small/a.bin", b"keep me")
        with pytest.raises(IrodsAlreadyExistsError) as info:
            upload_object(session, io.BytesIO(DATA), f"{HOME}/small/a.bin", size=len(DATA))
        assert info.value.path == f"{HOME}/small/a.bin"
        assert session.data_objects.read(f"{HOME}/small/a.bin") == b"keep me"
    assert _objects(irods_emulator) == [f"{HOME}/small/a.bin"]  # the temporary object is gone


def test_a_refused_rename_whose_answer_is_lost_is_still_a_typed_refusal(irods_emulator) -> None:
    transport = Counting(drop_renames=1)
    with _session(irods_emulator, transport) as session:
        session.collections.create(f"{HOME}/small")
        session.data_objects.write(f"{HOME}/small/a.bin", b"keep me")
        with pytest.raises(IrodsAlreadyExistsError):
            upload_object(session, io.BytesIO(DATA), f"{HOME}/small/a.bin", size=len(DATA))
        assert session.data_objects.read(f"{HOME}/small/a.bin") == b"keep me"
    assert transport.ops["rename"] == 1  # read back, not resent
    assert _objects(irods_emulator) == [f"{HOME}/small/a.bin"]


def test_skip_and_overwrite_policies_still_ask_first(irods_emulator) -> None:
    transport = Counting()
    with _session(irods_emulator, transport) as session:
        session.collections.create(f"{HOME}/small")
        session.data_objects.write(f"{HOME}/small/a.bin", DATA)
        skipped = upload_object(
            session, io.BytesIO(DATA), f"{HOME}/small/a.bin", size=len(DATA), skip=SkipPolicy.CHECKSUM
        )
        assert skipped.status.value == "skipped"
        replaced = upload_object(
            session, io.BytesIO(b"new"), f"{HOME}/small/a.bin", size=3, overwrite=OverwritePolicy.OVERWRITE
        )
        assert replaced.status.value == "transferred"
        assert session.data_objects.read(f"{HOME}/small/a.bin") == b"new"
    assert _objects(irods_emulator) == [f"{HOME}/small/a.bin"]


def test_a_small_file_onto_a_collection_is_refused_and_leaves_nothing(irods_emulator) -> None:
    with _session(irods_emulator, Counting()) as session:
        session.collections.create(f"{HOME}/small/taken", intermediates=True)
        with pytest.raises((IrodsAlreadyExistsError, IrodsNotADataObjectError)) as info:
            upload_object(session, io.BytesIO(DATA), f"{HOME}/small/taken", size=len(DATA))
        assert info.value.path == f"{HOME}/small/taken"
        assert session.collections.exists(f"{HOME}/small/taken")
        assert [e.path for e in session.collections.iterate(f"{HOME}/small/taken")] == []
    assert _objects(irods_emulator) == []


class _Killed(BaseException):
    """Stands for the worker dying at this point: no cleanup code of the engine handles it."""


class KillAtRename(Counting):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and b'name="op"\r\n\r\nrename' in request.read():
            raise _Killed
        return super().handle_request(request)


def test_a_retry_after_a_kill_before_publishing_leaves_no_temporary(
    irods_emulator, tmp_path, monkeypatch
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(DATA)
    with _session(irods_emulator, KillAtRename()) as session, monkeypatch.context() as patch:
        patch.setattr(TransferCoordinator, "run_failure_cleanups", lambda self, exc: None)  # killed: none run
        session.collections.create(f"{HOME}/small")
        with pytest.raises(_Killed):
            upload_object(session, str(source), f"{HOME}/small/a.bin")
    left = _objects(irods_emulator)
    assert len(left) == 1
    assert left[0].startswith(f"{HOME}/small/.a.bin.irods-part-")  # what the dead worker left
    with _session(irods_emulator, Counting()) as session:
        result = upload_object(session, str(source), f"{HOME}/small/a.bin")
        assert session.data_objects.read(f"{HOME}/small/a.bin") == DATA
    assert result.checksum == _sha2(DATA)
    assert _objects(irods_emulator) == [f"{HOME}/small/a.bin"]  # the retry wrote over it and published it


def test_small_files_under_injected_503s_verify_every_byte_and_narrow_the_lane(
    irods_emulator, tmp_path, caplog
) -> None:
    """The adaptive lane halves on the server's 503s (retried, so every file still lands, verified)."""
    folder = tmp_path / "many"
    folder.mkdir()
    expected = {f"f{i:03d}.dat": hashlib.sha256(b"%d" % i).digest() * (8 + i % 5) for i in range(96)}
    for name, data in expected.items():
        (folder / name).write_bytes(data)
    caplog.set_level(logging.INFO, logger="irods_provider.client.transfer._adaptive")
    config = TransferConfig(retries=10, backoff_base_seconds=0.005, backoff_max_seconds=0.05)
    policy = RetryPolicy(max_attempts=10, initial_backoff=0.005, max_backoff=0.05)
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=policy) as s:
        s.collections.create(f"{HOME}/many", exist_ok=True)
        irods_emulator.set_faults(error_503=0.1, seed=17)
        try:
            report = upload_files(s, folder, f"{HOME}/many", config=config)
        finally:
            irods_emulator.set_faults(error_503=0.0)
        assert irods_emulator.injected_faults().get("error_503", 0) > 0
        assert (report.transferred, report.failed) == (96, 0)
        for name, data in expected.items():
            assert s.data_objects.read(f"{HOME}/many/{name}") == data, name
            digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
            assert report.checksums[f"{HOME}/many/{name}"] == f"sha2:{digest}"
    changes = [r.args for r in caplog.records if r.getMessage().startswith("small files at once")]
    cuts = [(old, new) for old, new, reason in changes if "503" in str(reason)]
    assert cuts, changes
    assert all(new == max(1, old // 2) for old, new in cuts), changes
    assert min(new for _old, new in cuts) < 16, changes  # narrower than where it started


def test_a_small_local_file_starts_no_helper_thread(irods_emulator, tmp_path, monkeypatch) -> None:
    """A small local file has no round trip to overlap with another (its temporary is chosen without asking,
    its stability check is a stat): no per-file helper thread, each of which costs more client CPU than the
    file's requests take to build. The bytes, the checksum and the three calls are as before."""
    source = tmp_path / "a.bin"
    source.write_bytes(DATA)
    started: list[str] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        real_start(thread)

    transport = Counting()
    with _session(irods_emulator, transport) as session:
        session.collections.create(f"{HOME}/small")
        assert session.limits.max_write_payload_bytes > len(DATA)  # /info read once, before counting
        upload_object(session, io.BytesIO(b"x"), f"{HOME}/small/first.bin", size=1)  # replica layout learned
        transport.ops.clear()
        monkeypatch.setattr(threading.Thread, "start", start)
        result = upload_object(session, str(source), f"{HOME}/small/a.bin")
        monkeypatch.undo()
        calls = dict(transport.ops)
        assert session.data_objects.read(f"{HOME}/small/a.bin") == DATA
    assert started == []
    assert result.checksum == _sha2(DATA)
    assert calls == {"write": 1, "calculate_checksum": 1, "rename": 1}
    assert _objects(irods_emulator) == [f"{HOME}/small/a.bin", f"{HOME}/small/first.bin"]
