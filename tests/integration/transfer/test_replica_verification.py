"""Every replica of an upload is verified before it is published (TransferConfig.verify_replicas).

Against the preset-resources emulator: ``replResc`` replicates a closed write onto ``replResc_ufs0`` and
``replResc_ufs1``; ``set_replica_fault`` makes that copy damaged or stale, as a bad disk or a failed
replication would. Requests are counted on the wire, by operation.
"""

from __future__ import annotations

import collections
import io
import random
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import (
    ReplicaVerification,
    TransferConfig,
    open_writer,
    parallel_upload,
    upload_object,
)
from irods_provider.exceptions import (
    IrodsChecksumMismatchError,
    IrodsConfigurationError,
    IrodsStaleReplicaError,
)
from irods_provider.testing._config import RESOURCE_PRESET
from irods_provider.testing.pytest_plugin import (  # noqa: F401
    irods_emulator_at,
    irods_emulator_factory,
    irods_emulator_resources,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from op_counter import request_op

HOME = "/tempZone/home/rods"
DIR = f"{HOME}/repl"
SMALL = bytes(range(256)) * 16
CHUNK = 64 * 1024
LARGE = random.Random(5).randbytes(5 * CHUNK + 11)  # parallel streams, several chunks each
REPL = TransferConfig(resource="replResc", chunk_size=CHUNK, small_file_threshold=CHUNK)


class Counting(httpx2.HTTPTransport):
    """Counts API calls by operation (``/info`` and ``/authenticate`` by their path)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        op = request_op(request)
        with self._lock:
            self.ops[op] += 1
        return super().handle_request(request)

    def take(self) -> dict[str, int]:
        with self._lock:
            taken = dict(self.ops)
            self.ops.clear()
        return taken


@pytest.fixture
def zone(irods_emulator_resources):  # noqa: F811
    return irods_emulator_resources


@pytest.fixture
def counted(zone) -> tuple[IrodsSession, Counting]:
    transport = Counting()
    retry = RetryPolicy(max_attempts=4, initial_backoff=0.0, max_backoff=0.0, sleep=lambda s: None)
    with IrodsSession(
        zone.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=retry, transport=transport
    ) as session:
        session.collections.create(DIR)
        assert session.limits.max_write_payload_bytes > len(SMALL)  # /info read once, before counting
        transport.take()
        yield session, transport


def layout(session: IrodsSession, path: str) -> list[tuple[int, str, str, str | None]]:
    return [(r.number, r.hierarchy, r.status, r.checksum) for r in session.data_objects.replicas(path)]


def test_a_clean_replicated_upload_verifies_each_replica_once(counted) -> None:
    session, transport = counted
    result = upload_object(session, io.BytesIO(SMALL), f"{DIR}/a.bin", size=len(SMALL), config=REPL)
    # The session's first upload to replResc lists its replicas; each is hashed afresh by the server.
    assert transport.take() == {"write": 1, "execute_genquery": 1, "calculate_checksum": 2, "rename": 1}
    assert layout(session, f"{DIR}/a.bin") == [
        (0, "replResc;replResc_ufs0", "1", result.checksum),
        (1, "replResc;replResc_ufs1", "1", result.checksum),
    ]
    # Learned: replResc makes two replicas, so the next upload there lists them at once (no plain checksum).
    upload_object(session, io.BytesIO(LARGE), f"{DIR}/b.bin", size=len(LARGE), config=REPL)
    assert transport.take()["calculate_checksum"] == 2  # one per replica, none for the voted one alone
    for number in (0, 1):
        assert session.data_objects.read(f"{DIR}/b.bin", replica_number=number) == LARGE


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["one-request", "parallel"])
def test_a_corrupted_second_replica_is_caught_and_nothing_is_published(counted, zone, data) -> None:
    session, _ = counted
    zone.set_replica_fault("replResc_ufs1", "corrupt")
    with pytest.raises(IrodsChecksumMismatchError) as caught:
        upload_object(session, io.BytesIO(data), f"{DIR}/bad.bin", size=len(data), config=REPL)
    error = caught.value
    assert (error.replica_number, error.resource) == (1, "replResc;replResc_ufs1")
    assert error.path is not None
    assert error.path.startswith(f"{DIR}/")
    assert "replica=1" in str(error)
    assert "resource='replResc;replResc_ufs1'" in str(error)
    assert session.collections.list(DIR) == []  # neither published nor a temporary left behind


def test_a_stale_second_replica_is_caught(counted, zone) -> None:
    session, _ = counted
    zone.set_replica_fault("replResc_ufs1", "stale")
    with pytest.raises(IrodsStaleReplicaError) as caught:
        upload_object(session, io.BytesIO(SMALL), f"{DIR}/stale.bin", size=len(SMALL), config=REPL)
    assert (caught.value.replica_number, caught.value.resource, caught.value.status) == (
        1,
        "replResc;replResc_ufs1",
        "0",
    )
    assert session.collections.list(DIR) == []


def test_single_replica_uploads_ask_once_per_session_then_nothing_more(counted) -> None:
    session, transport = counted
    upload_object(session, io.BytesIO(SMALL), f"{DIR}/one.bin", size=len(SMALL))
    assert transport.take() == {"write": 1, "execute_genquery": 1, "calculate_checksum": 1, "rename": 1}
    for name in ("two.bin", "three.bin"):
        upload_object(session, io.BytesIO(SMALL), f"{DIR}/{name}", size=len(SMALL))
        assert transport.take() == {"write": 1, "calculate_checksum": 1, "rename": 1}
    archive = TransferConfig(resource="archiveResc")  # another resource: learned on its own
    upload_object(session, io.BytesIO(SMALL), f"{DIR}/four.bin", size=len(SMALL), config=archive)
    assert transport.take()["execute_genquery"] == 1


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("default", {"write": 1, "calculate_checksum": 1, "rename": 1}),
        ("all", {"write": 1, "execute_genquery": 1, "calculate_checksum": 1, "rename": 1}),
    ],
)
def test_the_mode_decides_what_every_upload_asks(counted, mode, expected) -> None:
    session, transport = counted
    config = TransferConfig(verify_replicas=mode)
    assert config.verify_replicas is ReplicaVerification(mode)
    for name in ("x.bin", "y.bin"):
        upload_object(session, io.BytesIO(SMALL), f"{DIR}/{name}", size=len(SMALL), config=config)
        assert transport.take() == expected


def test_default_mode_keeps_the_old_single_replica_check(counted, zone) -> None:
    session, _ = counted
    zone.set_replica_fault("replResc_ufs1", "corrupt")
    config = TransferConfig(resource="replResc", verify_replicas=ReplicaVerification.DEFAULT)
    upload_object(session, io.BytesIO(SMALL), f"{DIR}/unchecked.bin", size=len(SMALL), config=config)
    assert session.data_objects.read(f"{DIR}/unchecked.bin", replica_number=1) != SMALL


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(IrodsConfigurationError, match="verify_replicas"):
        TransferConfig(verify_replicas="some")


def test_parallel_upload_verifies_every_replica(counted, zone) -> None:
    session, _ = counted
    zone.set_replica_fault("replResc_ufs1", "corrupt")
    with pytest.raises(IrodsChecksumMismatchError) as caught:
        parallel_upload(session, io.BytesIO(LARGE), f"{DIR}/p.bin", size=len(LARGE), config=REPL)
    assert caught.value.replica_number == 1
    assert not session.data_objects.exists(f"{DIR}/p.bin")


def test_replica_checksums_are_targeted_on_0_5_0_too(irods_emulator_at: Callable) -> None:  # noqa: F811
    """calculate_checksum passes replica-number on in every release (data_objects:2095 at 0.5.0)."""
    server = irods_emulator_at("0.5.0")
    server.config.resources = RESOURCE_PRESET
    server.reset()
    server.set_replica_fault("replResc_ufs1", "corrupt")
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as session:
        session.collections.create(DIR)
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            upload_object(session, io.BytesIO(SMALL), f"{DIR}/old.bin", size=len(SMALL), config=REPL)
        assert caught.value.replica_number == 1
        server.set_replica_fault("replResc_ufs1", None)
        upload_object(session, io.BytesIO(SMALL), f"{DIR}/old.bin", size=len(SMALL), config=REPL)
        assert [r.checksum for r in session.data_objects.replicas(f"{DIR}/old.bin")] == [
            session.data_objects.calculate_checksum(f"{DIR}/old.bin")
        ] * 2


def _replicated_fs(zone, **options):
    from irods_provider.fs import IrodsFileSystem

    return IrodsFileSystem(
        base_url=zone.base_url,
        username="rods",
        password="rods-emulator",
        resource="replResc",
        chunk_size=CHUNK,
        skip_instance_cache=True,
        **options,
    )


@pytest.mark.parametrize("how", ["open-wb", "put", "open_writer"])
def test_the_atomic_writer_verifies_every_replica_before_it_publishes(counted, zone, tmp_path, how) -> None:
    """fsspec writes (and ``open_writer``) go through the atomic writer: a corrupted second replica of its
    temporary is caught as an upload's is, the object there is kept and nothing else is left."""
    session, _ = counted
    path = f"{DIR}/fs.bin"
    session.data_objects.write(path, b"old", resource="replResc")
    zone.set_replica_fault("replResc_ufs1", "corrupt")
    fs = _replicated_fs(zone)
    (tmp_path / "src.bin").write_bytes(LARGE)

    def write() -> None:
        if how == "open-wb":
            with fs.open(path, "wb") as out:
                out.write(LARGE)
        elif how == "put":
            fs.put(str(tmp_path / "src.bin"), path)
        else:
            with open_writer(session, path, config=REPL, size=len(LARGE)) as writer:
                writer.write(LARGE)

    try:
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            write()
    finally:
        fs.close_session()
    assert (caught.value.replica_number, caught.value.resource) == (1, "replResc;replResc_ufs1")
    assert "resource='replResc;replResc_ufs1'" in str(caught.value)
    assert session.data_objects.read(path) == b"old"
    assert session.collections.list(DIR) == [path]  # no temporary left behind


def test_the_atomic_writer_catches_a_stale_replica(counted, zone) -> None:
    session, _ = counted
    zone.set_replica_fault("replResc_ufs1", "stale")
    fs = _replicated_fs(zone)
    try:
        with pytest.raises(IrodsStaleReplicaError) as caught, fs.open(f"{DIR}/st.bin", "wb") as out:
            out.write(LARGE)
    finally:
        fs.close_session()
    assert (caught.value.replica_number, caught.value.status) == (1, "0")
    assert session.collections.list(DIR) == []


def test_the_filesystem_takes_the_verification_mode(counted, zone) -> None:
    """``verify_replicas="default"`` (storage option) checks the voted replica alone, as before; an unknown
    mode is refused when the filesystem is made."""
    session, _ = counted
    zone.set_replica_fault("replResc_ufs1", "corrupt")
    fs = _replicated_fs(zone, verify_replicas="default")
    try:
        with fs.open(f"{DIR}/voted.bin", "wb") as out:
            out.write(LARGE)
    finally:
        fs.close_session()
    assert session.data_objects.read(f"{DIR}/voted.bin", replica_number=0) == LARGE
    with pytest.raises(IrodsConfigurationError, match="verify_replicas"):
        _replicated_fs(zone, verify_replicas="some")
