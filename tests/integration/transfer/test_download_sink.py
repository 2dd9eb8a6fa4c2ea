"""``download_object`` into a streaming sink (:class:`DownloadSink`), shown with an in-memory sink and real
bytes from the emulator: the one decision asks the destination once, a temporary left by a failed attempt
is resumed only when its bytes hash like the source's first bytes, the sink's own check and the zone's
checksum gate the publish, refusals discard the temporary. (The SFTP sink is the staging tests' subject.)"""

from __future__ import annotations

import hashlib

import pytest

from irods_provider.client.transfer import (
    DownloadSink,
    FileStatus,
    OverwritePolicy,
    PrefixCheck,
    SkipPolicy,
    TransferConfig,
    download_object,
    sha2_checksum,
)
from irods_provider.client.transfer._coordinator import TransferCoordinator
from irods_provider.client.transfer._endpoints import register_temporary
from irods_provider.client.transfer._policy import DestinationState, hashed_checksum
from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsChecksumMismatchError
from irods_provider.testing.pytest_plugin import irods_emulator_variants  # noqa: F401

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
CFG = TransferConfig(streams=2, chunk_size=CHUNK, backoff_base_seconds=0.0)
DATA = (bytes(range(251)) * 1200)[: 4 * CHUNK + 11]


class _Temp:
    """A temporary's writer: copies what it is given (the reader reuses its buffers); may fail."""

    def __init__(self, data: bytearray, fail_after: int | None) -> None:
        self.data = data
        self.fail_after = fail_after
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.fail_after is not None and len(self.data) >= self.fail_after:
            raise OSError("connection dropped")  # what a lost SFTP connection looks like to the engine
        self.data.extend(data)
        return len(data)

    def close(self) -> None:
        self.closed = True


class MemorySink:
    """A final file and its temporaries (kept across attempts by key, like a resume record) in memory."""

    parallel = False

    def __init__(self, final: bytes | None = None, *, fail_after: int | None = None) -> None:
        self.final = final
        self.fail_after = fail_after
        self.temps: dict[str, bytearray] = {}
        self.key: str | None = None
        self.asked = 0
        self.verified: list[str] = []
        self.bad_digest = False
        self.appears: bytes | None = None  # something another writer publishes while the bytes move

    @property
    def name(self) -> str:
        return "mem:/out.bin"

    def destination_state(self) -> DestinationState:
        self.asked += 1
        if self.final is None:
            return DestinationState.absent(self.name)
        final = self.final
        return DestinationState.file(
            self.name,
            len(final),
            hashed_checksum(lambda _scheme: sha2_checksum(hashlib.sha256(final).digest())),
        )

    def resumable(self, key: str) -> bool:
        return key in self.temps

    def open_temp(
        self, *, size: int, key: str, resume: bool, prefix: PrefixCheck, coordinator: TransferCoordinator
    ) -> tuple[_Temp, int]:
        self.key = key
        held = self.temps.get(key) if resume else None
        if held is not None:
            prefix.hasher.update(bytes(held))
            if prefix.matches(len(held)):
                register_temporary(coordinator, self, resume=resume)
                return _Temp(held, self.fail_after), len(held)
        self.temps[key] = bytearray()
        register_temporary(coordinator, self, resume=resume)
        return _Temp(self.temps[key], self.fail_after), 0

    def verify(self, sha256_hex: str) -> bool:
        self.verified.append(sha256_hex)
        if self.bad_digest:
            raise IrodsChecksumMismatchError("differs", expected=sha256_hex, actual="0" * 64, path=self.name)
        if self.appears is not None:
            self.final = self.appears
        return True

    def publish(self, *, replace: bool = True) -> None:
        assert self.key is not None
        if not replace and self.final is not None:
            raise IrodsAlreadyExistsError(f"{self.name} appeared during the copy", path=self.name)
        self.final = bytes(self.temps.pop(self.key))

    def abort(self) -> None:
        pass

    def discard(self) -> None:
        if self.key is not None:
            self.temps.pop(self.key, None)


def _object(session, name: str = "src.bin", data: bytes = DATA) -> str:
    path = f"{HOME}/{name}"
    session.data_objects.write(path, data)
    return path


def test_the_memory_sink_is_a_download_sink() -> None:
    assert isinstance(MemorySink(), DownloadSink)


def test_streams_verifies_and_publishes_into_a_sink(session) -> None:
    path, sink = _object(session), MemorySink()
    result = download_object(session, path, sink, config=CFG)
    assert (result.status, result.size, result.resumed_from) == (FileStatus.TRANSFERRED, len(DATA), 0)
    assert sink.final == DATA
    assert result.checksum == session.data_objects.calculate_checksum(path)
    assert result.checksum == sha2_checksum(hashlib.sha256(DATA).digest())
    assert sink.verified == [hashlib.sha256(DATA).hexdigest()]  # the sink's own check saw the bytes' digest
    assert (sink.asked, sink.temps) == (1, {})


def test_skip_and_refuse_are_decided_on_one_answer_and_write_nothing(session) -> None:
    path = _object(session)
    same = MemorySink(DATA)
    result = download_object(session, path, same, config=CFG, skip=SkipPolicy.CHECKSUM)
    assert (result.status, result.reason, same.asked, same.key) == (
        FileStatus.SKIPPED,
        "same checksum",
        1,
        None,
    )
    # Same size, other bytes: CHECKSUM does not skip; OVERWRITE replaces it.
    other = MemorySink(bytes(len(DATA)))
    result = download_object(
        session, path, other, config=CFG, skip=SkipPolicy.CHECKSUM, overwrite=OverwritePolicy.OVERWRITE
    )
    assert (result.status, other.final, other.asked) == (FileStatus.TRANSFERRED, DATA, 1)
    refused = MemorySink(b"old")
    with pytest.raises(IrodsAlreadyExistsError) as caught:
        download_object(session, path, refused, config=CFG)
    assert (caught.value.path, refused.final, refused.key) == ("mem:/out.bin", b"old", None)
    planned = MemorySink()
    result = download_object(session, path, planned, config=CFG, dry_run=True)
    assert (result.status, planned.key, planned.final) == (FileStatus.PLANNED, None, None)


def test_a_failed_attempt_is_resumed_from_its_verified_prefix(session) -> None:
    path = _object(session)
    sink = MemorySink(fail_after=2 * CHUNK)
    with pytest.raises(OSError, match="connection dropped"):
        download_object(session, path, sink, config=CFG)
    (kept,) = sink.temps.values()
    assert bytes(kept) == DATA[: 2 * CHUNK]  # kept for the retry
    assert sink.final is None  # nothing published
    sink.fail_after = None
    result = download_object(session, path, sink, config=CFG)
    assert (result.resumed_from, sink.final, sink.temps) == (2 * CHUNK, DATA, {})
    assert result.checksum == sha2_checksum(hashlib.sha256(DATA).digest())


def test_a_temporary_that_differs_from_the_source_is_not_resumed(session) -> None:
    path = _object(session)
    sink = MemorySink(fail_after=CHUNK)
    with pytest.raises(OSError, match="connection dropped"):
        download_object(session, path, sink, config=CFG)
    (kept,) = sink.temps.values()
    kept[100] ^= 0xFF  # pipelined writes applied out of order leave other bytes than the source's
    sink.fail_after = None
    result = download_object(session, path, sink, config=CFG)
    assert (result.resumed_from, sink.final) == (0, DATA)
    assert sink.verified[-1] == hashlib.sha256(DATA).hexdigest()  # hashed afresh, not over the bad prefix


def test_without_resume_a_failure_discards_the_temporary(session) -> None:
    path = _object(session)
    sink = MemorySink(fail_after=CHUNK)
    with pytest.raises(OSError, match="connection dropped"):
        download_object(session, path, sink, config=CFG, resume=False)
    assert (sink.temps, sink.final) == ({}, None)


def test_a_failed_sink_check_discards_the_temporary_even_with_resume(session) -> None:
    path = _object(session)
    sink = MemorySink()
    sink.bad_digest = True
    with pytest.raises(IrodsChecksumMismatchError):
        download_object(session, path, sink, config=CFG)
    assert (sink.temps, sink.final) == ({}, None)


def test_a_destination_that_appears_during_the_copy_is_refused_under_refuse(session) -> None:
    path = _object(session)
    sink = MemorySink()
    sink.appears = b"someone else's"
    with pytest.raises(IrodsAlreadyExistsError, match="appeared during the copy"):
        download_object(session, path, sink, config=CFG)
    assert (sink.final, sink.temps) == (b"someone else's", {})


def test_a_download_hashes_only_the_zones_scheme_from_the_first_file(session, tmp_path, monkeypatch) -> None:
    """A fresh process knows no zone scheme yet; the source's checksum (stored, or asked for before the
    bytes move) tells it, so the bytes are hashed once in SHA-256 only, not in MD5 as well (2.4x the CPU)."""
    from irods_provider.client.transfer import _copy, _download, _sink_download

    monkeypatch.setattr(_copy, "_SCHEMES", type(_copy._SCHEMES)())  # forget what earlier tests taught
    made: list[bool] = []

    def spy(*args: object, **kwargs: object) -> _copy.StreamHasher:
        hasher = _copy.hasher_for(*args, **kwargs)  # type: ignore[arg-type]
        made.append(hasher.result().md5 is not None)
        return hasher

    monkeypatch.setattr(_sink_download, "hasher_for", spy)
    monkeypatch.setattr(_download, "hasher_for", spy)
    path = _object(session, "no-checksum-yet.bin")  # no stored checksum: the sink path asks for one first
    sink = MemorySink()
    assert download_object(session, path, sink, config=CFG).status is FileStatus.TRANSFERRED
    assert sink.final == DATA
    assert made == [False]
    monkeypatch.setattr(_copy, "_SCHEMES", type(_copy._SCHEMES)())
    made.clear()
    stored = _object(session, "stored.bin")
    session.data_objects.calculate_checksum(stored)  # stored now: the local path learns it from the stat
    local = tmp_path / "stored.bin"
    assert download_object(session, stored, local, config=CFG).status is FileStatus.TRANSFERRED
    assert local.read_bytes() == DATA
    assert made == [False]


@pytest.mark.parametrize("into", ["local", "sink"])
def test_a_checksum_kept_from_another_scheme_does_not_teach_the_zones(
    irods_emulator_variants,  # noqa: F811
    tmp_path,
    into,
):
    """An MD5 zone whose object keeps the SHA-256 checksum it got before the zone changed its scheme: its
    download hashes SHA-256 to compare with it, but must not teach the session that the zone is SHA-256, or
    every later upload hashed SHA-256 only and failed at its verification (the zone answers MD5)."""
    import base64
    import io

    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.client.transfer import _copy, upload_object

    server = irods_emulator_variants(hash_scheme="md5")
    old = f"{HOME}/kept-sha2.bin"
    with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as s:
        s.data_objects.write(old, DATA)
        kept = "sha2:" + base64.b64encode(hashlib.sha256(DATA).digest()).decode()
        s.data_objects.modify_replica(old, {"checksum": kept}, replica_number=0)
        destination = tmp_path / "old.bin" if into == "local" else MemorySink()
        assert download_object(s, old, destination, config=CFG).checksum == kept
        result = upload_object(s, io.BytesIO(b"new bytes"), f"{HOME}/new.bin", size=9)
        assert result.checksum == hashlib.md5(b"new bytes").hexdigest()
        assert _copy.known_checksum_scheme(s, old) is _copy.ChecksumScheme.MD5  # learned from the upload
