"""The four transfer operators on the servers users run: HTTP API 0.4.0-0.6.0, an MD5 zone, a federated zone.

Behaviour only, through the operators' public arguments and reports: bytes arrive exact (SHA-256 both sides),
the reported checksum is in the zone's scheme and equals the server's, the ``checksum`` skip policy skips an
identical file and rewrites a same-size different one, an interrupted copy resumes, and no temporary is left
anywhere. Expected checksum formats are the real server's (iRODS stores ``sha2:<base64>`` for SHA-256 and
32 hex digits for MD5; see /work/shared/docs/irods-http-api-0.7.md, ``calculate_checksum``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsTransferCancelledError
from irods_provider.testing import EmulatorServer
from irods_provider.testing.sftp import EmbeddedSftpServer, SshTestServer
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

KIB = 1024
CHUNK = 64 * KIB
BIG = 5 * CHUNK + 17  # six chunks over three streams
HOSTILE = "r #[1] ü é.txt"  # space, '#', brackets, non-ASCII: all addressable through the API
TEMPORARY_MARKS = (".irods-part-", ".irods-old-")

#: name → (how to get the server, home collection, zone checksum scheme)
VARIANTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "api-0.4.0": ({"api_version": "0.4.0"}, "/tempZone/home/rods", "sha256"),
    "api-0.5.0": ({"api_version": "0.5.0"}, "/tempZone/home/rods", "sha256"),
    "api-0.6.0": ({"api_version": "0.6.0"}, "/tempZone/home/rods", "sha256"),
    "md5-zone": ({"hash_scheme": "md5"}, "/tempZone/home/rods", "md5"),
    "federated": ({"federated_zones": ["otherZone"]}, "/otherZone/home/rods#tempZone", "sha256"),
}


def zone_checksum(scheme: str, data: bytes) -> str:
    """What iRODS stores: ``sha2:`` + base64 of the SHA-256 digest, or the MD5 as 32 lowercase hex digits."""
    if scheme == "md5":
        return hashlib.md5(data).hexdigest()
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Zone:
    """One server variant: the emulator, the collection the test writes under, a session, the scheme."""

    server: EmulatorServer
    home: str
    scheme: str
    session: Any

    def expected(self, data: bytes) -> str:
        return zone_checksum(self.scheme, data)

    def temporaries(self) -> list[str]:
        """Every data object anywhere in the emulator's zones whose name is a transfer temporary."""
        with self.server.model.lock:
            paths = list(self.server.model.data_objects)
        return sorted(p for p in paths if any(m in p.rsplit("/", 1)[1] for m in TEMPORARY_MARKS))

    def temporary_size(self) -> int:
        """The largest size any temporary object's replica has on disk (what a parallel write has put)."""
        with self.server.model.lock:
            objects = [o for p, o in self.server.model.data_objects.items() if ".irods-part-" in p]
            files = [r.spool_file for o in objects for r in o.replicas]
        return max((f.stat().st_size for f in files if f.exists()), default=0)

    def assert_verified(self, report: dict[str, Any], expected: dict[str, bytes]) -> None:
        """Each object holds its bytes and the report's checksum is the zone's, equal to the server's."""
        for path, data in expected.items():
            assert sha256(self.session.data_objects.read(path)) == sha256(data), path
            server_side = self.session.data_objects.calculate_checksum(path)
            assert report["checksums"][path] == self.expected(data) == server_side, path


@pytest.fixture(params=list(VARIANTS))
def zone(
    request: pytest.FixtureRequest,
    irods_emulator_at: Callable[[str], EmulatorServer],
    irods_emulator_variants: Callable[..., EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Zone]:
    """A fresh server of the variant, ``irods_default`` pointing at it as rods (version detected)."""
    from irods_provider.hooks.irods import IrodsHook

    how, home, scheme = VARIANTS[request.param]
    server = irods_emulator_at(how["api_version"]) if "api_version" in how else irods_emulator_variants(**how)
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone",
    )
    with IrodsHook() as hook:
        zone = Zone(server, home, scheme, hook.get_conn())
        yield zone
    assert zone.temporaries() == [], "a temporary object was left in iRODS"


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[SshTestServer]:
    """The embedded asyncssh server only (the OpenSSH variant is covered by test_staging.py)."""
    with EmbeddedSftpServer() as server:
        yield server


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def hashed(files: dict[str, bytes]) -> dict[str, str]:
    return {name: sha256(data) for name, data in files.items()}


def no_local_temporaries(root: Path) -> None:
    leftovers = [p.name for p in root.rglob(".*")]
    assert leftovers == [], f"temporaries left in {root}: {leftovers}"


def payload() -> dict[str, bytes]:
    return {"big.bin": os.urandom(BIG), f"sub/{HOSTILE}": os.urandom(777)}


OPTIONS = {"chunk_size": CHUNK, "streams": 3}


def local_up(**kwargs: Any) -> dict[str, Any]:
    return LocalToIrodsOperator(task_id="up", **{**OPTIONS, **kwargs}).execute({})  # type: ignore[no-any-return]


def local_down(**kwargs: Any) -> dict[str, Any]:
    return IrodsToLocalOperator(task_id="down", **{**OPTIONS, **kwargs}).execute({})  # type: ignore[no-any-return]


def sftp_up(**kwargs: Any) -> dict[str, Any]:
    op = SFTPToIrodsOperator(task_id="up", sftp_conn_id="cluster", **{**OPTIONS, **kwargs})
    return op.execute({})  # type: ignore[no-any-return]


def sftp_down(**kwargs: Any) -> dict[str, Any]:
    op = IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **{**OPTIONS, **kwargs})
    return op.execute({})  # type: ignore[no-any-return]


# ---- round trips -----------------------------------------------------------------------------------------


def test_local_round_trip(zone: Zone, tmp_path: Path) -> None:
    """LocalToIrods then IrodsToLocal: a six-chunk file and a hostile name, byte-exact, zone checksums."""
    data = payload()
    for rel, blob in data.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_bytes(blob)
    target = f"{zone.home}/up"
    report = local_up(source_path=str(tmp_path / "src"), destination_path=target)
    assert (report["transferred"], report["failed"], report["bytes"]) == (2, 0, BIG + 777)
    zone.assert_verified(report, {f"{target}/{rel}": blob for rel, blob in data.items()})
    assert zone.temporaries() == []

    back = local_down(source_path=target, destination_path=str(tmp_path / "back"))
    assert (back["transferred"], back["failed"]) == (2, 0)
    assert sorted(back["checksums"].values()) == sorted(zone.expected(blob) for blob in data.values())
    assert hashed(local_files(tmp_path / "back")) == hashed(data)
    no_local_temporaries(tmp_path / "back")


def test_sftp_round_trip(zone: Zone, remote: Any) -> None:
    """SFTPToIrods then IrodsToSFTP: the same files through the SSH server, byte-exact, zone checksums."""
    data = payload()
    for rel, blob in data.items():
        remote.put(f"src/{rel}", blob)
    target = f"{zone.home}/staged"
    report = sftp_up(source_path=remote.path("src"), destination_path=target)
    assert (report["transferred"], report["failed"], report["bytes"]) == (2, 0, BIG + 777)
    zone.assert_verified(report, {f"{target}/{rel}": blob for rel, blob in data.items()})
    assert zone.temporaries() == []

    back = sftp_down(source_path=target, destination_path=remote.path("back"))
    assert (back["transferred"], back["failed"]) == (2, 0)
    assert sorted(back["checksums"].values()) == sorted(zone.expected(blob) for blob in data.values())
    assert hashed(remote.files("back")) == hashed(data)
    no_local_temporaries(remote.dir)


# ---- '+' in a destination: refused on every version ----------------------------------------------------


def test_plus_in_an_irods_destination_is_refused_before_writing(
    zone: Zone, tmp_path: Path, remote: Any
) -> None:
    """Every version turns '+' into a space in GET parameters after decoding (irods-http-api-versions.md,
    "Quirk in every version", core/src/common.cpp to_argument_list): every later GET of such an object would
    miss it (reading it back needs a server-side copy), so both uploads refuse it by name before anything is
    written."""
    (tmp_path / "a+b.txt").write_bytes(b"plus")
    remote.put("p/a+b.txt", b"plus")
    with pytest.raises(IrodsInvalidPathError, match=r"'\+'"):
        local_up(source_path=str(tmp_path / "a+b.txt"), destination_path=f"{zone.home}/plus/")
    with pytest.raises(IrodsInvalidPathError, match=r"'\+'"):
        sftp_up(source_path=remote.path("p"), destination_path=f"{zone.home}/plus")
    assert not zone.session.collections.exists(f"{zone.home}/plus") or not zone.session.collections.list(
        f"{zone.home}/plus"
    )


# ---- skip policy -----------------------------------------------------------------------------------------


def test_local_checksum_skip_and_same_size_rewrite(zone: Zone, tmp_path: Path) -> None:
    """``skip="checksum"`` skips an identical file; a same-size different one is rewritten (``overwrite``)."""
    source = tmp_path / HOSTILE
    source.write_bytes(b"first version!" * 5000)
    args = {"source_path": str(source), "destination_path": f"{zone.home}/p/{HOSTILE}"}
    path = args["destination_path"]
    assert local_up(**args)["transferred"] == 1
    again = local_up(**args, skip="checksum")
    assert (again["transferred"], again["skipped"]) == (0, 1)
    source.write_bytes(b"second version" * 5000)  # same size, other bytes
    changed = local_up(**args, skip="checksum", overwrite=True)
    assert (changed["transferred"], changed["skipped"]) == (1, 0)
    zone.assert_verified(changed, {path: b"second version" * 5000})

    out = tmp_path / "out" / HOSTILE
    down = {"source_path": path, "destination_path": str(out)}
    assert local_down(**down)["transferred"] == 1
    assert local_down(**down, skip="checksum")["skipped"] == 1
    zone.session.data_objects.write(path, b"third  version" * 5000)
    rewritten = local_down(**down, skip="checksum", overwrite=True)
    assert (rewritten["transferred"], rewritten["skipped"]) == (1, 0)
    assert sha256(out.read_bytes()) == sha256(b"third  version" * 5000)
    no_local_temporaries(tmp_path / "out")


def test_sftp_checksum_skip_and_same_size_rewrite(zone: Zone, remote: Any) -> None:
    """The same policy through SFTP in both directions."""
    remote.put(f"s/{HOSTILE}", b"first version!" * 5000)
    path = f"{zone.home}/ps/{HOSTILE}"
    args = {"source_path": remote.path(f"s/{HOSTILE}"), "destination_path": path}
    assert sftp_up(**args)["transferred"] == 1
    again = sftp_up(**args, skip="checksum")
    assert (again["transferred"], again["skipped"]) == (0, 1)
    remote.put(f"s/{HOSTILE}", b"second version" * 5000)
    changed = sftp_up(**args, skip="checksum", overwrite=True)
    assert (changed["transferred"], changed["skipped"]) == (1, 0)
    zone.assert_verified(changed, {path: b"second version" * 5000})

    down = {"source_path": path, "destination_path": remote.path(f"out/{HOSTILE}")}
    assert sftp_down(**down)["transferred"] == 1
    assert sftp_down(**down, skip="checksum")["skipped"] == 1
    zone.session.data_objects.write(path, b"third  version" * 5000)
    rewritten = sftp_down(**down, skip="checksum", overwrite=True)
    assert (rewritten["transferred"], rewritten["skipped"]) == (1, 0)
    assert hashed(remote.files("out")) == {HOSTILE: sha256(b"third  version" * 5000)}
    no_local_temporaries(remote.dir)


# ---- resume after an interruption ------------------------------------------------------------------------


def kill_when(op: Any, ready: Callable[[], bool]) -> BaseException:
    """Run ``op`` in a thread, call ``on_kill`` once ``ready()`` holds, return what ``execute`` raised."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            op.execute({})
        except BaseException as exc:  # the cancellation is the expected outcome
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 20
    while not ready() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)  # polling, bounded by the deadline
    op.on_kill()
    thread.join(30)
    assert not thread.is_alive()
    assert outcome, "the transfer finished before it could be cancelled"
    return outcome[0]


RESUME_SIZE = 24 * CHUNK  # 1.5 MiB: long enough under 20 ms latency to be interrupted midway


def test_uploads_resume_after_a_kill(zone: Zone, tmp_path: Path, remote: Any) -> None:
    """Both uploads, killed once the temporary holds a third of the file, resume from committed bytes.

    In a federated zone too: the resume record, an AVU iRODS's atomic metadata call cannot set on a remote
    object (it writes the local catalog by the remote id), is kept on a journal in the local home.
    """
    blob = os.urandom(RESUME_SIZE)
    (tmp_path / "big.bin").write_bytes(blob)
    remote.put("r/big.bin", blob)
    ops: list[tuple[Callable[..., dict[str, Any]], type, dict[str, Any]]] = [
        (local_up, LocalToIrodsOperator, {"source_path": str(tmp_path / "big.bin")}),
        (sftp_up, SFTPToIrodsOperator, {"source_path": remote.path("r/big.bin"), "sftp_conn_id": "cluster"}),
    ]
    for n, (run, kind, args) in enumerate(ops):
        path = f"{zone.home}/resumed{n}.bin"
        zone.server.set_faults(latency_seconds=0.02)
        op = kind(task_id="up", destination_path=path, chunk_size=CHUNK, streams=1, **args)
        error = kill_when(op, lambda: zone.temporary_size() >= RESUME_SIZE // 3)
        zone.server.set_faults(latency_seconds=0.0)
        assert isinstance(error, IrodsTransferCancelledError), n
        assert not zone.session.data_objects.exists(path)
        retry = {k: v for k, v in args.items() if k != "sftp_conn_id"}
        again = run(destination_path=path, streams=1, **retry)
        assert again["files"][0]["resumed_from"] >= CHUNK, n
        zone.assert_verified(again, {path: blob})
        assert zone.temporaries() == []


def test_downloads_resume_after_a_kill(zone: Zone, tmp_path: Path, remote: Any) -> None:
    """Both downloads, killed once the hidden partial file holds a third, publish exact bytes on the retry.

    IrodsToSFTP resumes its recorded temporary (README: "records the temporary it may resume"); IrodsToLocal
    promises only that no partial file survives a retry (README promises resume for uploads; issue 17:
    "resumes from the verified prefix ... or cleans up"), so from it any ``resumed_from`` is accepted.
    """
    blob = os.urandom(RESUME_SIZE)
    path = f"{zone.home}/dl.bin"
    zone.session.data_objects.write(path, blob)
    targets: list[tuple[Callable[..., dict[str, Any]], type, Path, str, dict[str, Any], int]] = [
        (local_down, IrodsToLocalOperator, tmp_path / "dl", str(tmp_path / "dl") + "/", {}, 0),
        (
            sftp_down,
            IrodsToSFTPOperator,
            remote.dir / "dl",
            remote.path("dl/"),
            {"sftp_conn_id": "cluster"},
            CHUNK,
        ),
    ]
    for run, kind, folder, destination, extra, resumes_from in targets:
        folder.mkdir(exist_ok=True)
        os.chown(folder, remote.server.root.stat().st_uid, remote.server.root.stat().st_gid)

        def partial(folder: Path = folder) -> bool:
            return any(p.stat().st_size >= RESUME_SIZE // 3 for p in folder.glob(".*") if p.is_file())

        zone.server.set_faults(latency_seconds=0.02)
        op = kind(
            task_id="down",
            source_path=path,
            destination_path=destination,
            chunk_size=CHUNK,
            streams=1,
            **extra,
        )
        error = kill_when(op, partial)
        zone.server.set_faults(latency_seconds=0.0)
        assert isinstance(error, IrodsTransferCancelledError), destination
        assert not (folder / "dl.bin").exists()
        again = run(source_path=path, destination_path=destination, streams=1)
        assert resumes_from <= again["files"][0]["resumed_from"] < RESUME_SIZE, destination
        assert list(again["checksums"].values()) == [zone.expected(blob)]
        assert hashed(local_files(folder)) == {"dl.bin": sha256(blob)}
        no_local_temporaries(folder)


# ---- several resources: honoured on every release -------------------------------------------------------


@pytest.mark.parametrize("api_version", ["0.4.0", "0.5.0", "0.6.0"])
def test_uploads_to_a_second_resource(
    api_version: str,
    irods_emulator_at: Callable[[str], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    remote: Any,
) -> None:
    """``resource=`` lands every replica of a multi-chunk upload on that resource. 0.4.0/0.5.0 silently
    ignore ``resource`` on ``parallel_write_init`` (irods-http-api-versions.md, section 2 row 8, #399), so
    there the temporary is created on it by an empty ``write`` (which honours ``resource``) and opened
    without truncating: iRODS 4.3 then resolves the write to the object's one replica (rsDataObjOpen.cpp
    :763-778, irods_resource_redirect.cpp:408-426 at 4.3.2), not to the default resource."""
    from irods_provider.testing._config import RESOURCE_PRESET

    server = irods_emulator_at(api_version)
    server.config.resources = RESOURCE_PRESET  # irods_emulator_at restores the defaults on its next use
    server.reset()
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT", f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone"
    )
    home = "/tempZone/home/rods"
    blob = os.urandom(BIG)
    (tmp_path / "big.bin").write_bytes(blob)
    remote.put("res/big.bin", blob)
    runs: list[tuple[Callable[..., dict[str, Any]], str, str]] = [
        (local_up, str(tmp_path / "big.bin"), f"{home}/res-local.bin"),
        (sftp_up, remote.path("res/big.bin"), f"{home}/res-sftp.bin"),
    ]
    for run, source, path in runs:
        report = run(source_path=source, destination_path=path, resource="archiveResc")
        _assert_on_archive(server, report, path, blob)
    # The connection's default resource takes the same way; an existing object is replaced there.
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT",
        f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?zone=tempZone&default_resource=archiveResc",
    )
    path = f"{home}/res-local.bin"
    (tmp_path / "big.bin").write_bytes(blob := os.urandom(BIG))
    report = local_up(source_path=str(tmp_path / "big.bin"), destination_path=path, overwrite="overwrite")
    _assert_on_archive(server, report, path, blob)


def _assert_on_archive(server: EmulatorServer, report: dict[str, Any], path: str, blob: bytes) -> None:
    """One upload reported, with the zone's checksum, whose only replica is ``blob`` on archiveResc."""
    assert report["transferred"] == 1
    assert report["checksums"][path] == zone_checksum("sha256", blob)
    with server.model.lock:
        replicas = [(r.resource, r.spool_file.read_bytes()) for r in server.model.data_objects[path].replicas]
        leftovers = [p for p in server.model.data_objects if any(m in p for m in TEMPORARY_MARKS)]
    assert [(resource, sha256(data)) for resource, data in replicas] == [("archiveResc", sha256(blob))]
    assert leftovers == []
