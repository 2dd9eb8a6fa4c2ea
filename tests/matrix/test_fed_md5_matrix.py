"""Federated zones and MD5 zones end to end: the provider against emulator variants over real HTTP.

Each scenario runs against a fresh emulator of the setup it names (``irods_emulator_variants``): a zone
``tempZone`` federated with ``otherZone`` (local users act there as ``user#tempZone`` and own
``/otherZone/home/user#tempZone``), and zones whose ``default_hash_scheme`` is sha256 or md5.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irods_provider.testing import EmulatorServer

LOCAL, REMOTE = "tempZone", "otherZone"
REMOTE_HOME = f"/{REMOTE}/home/alice#{LOCAL}"
LOCAL_HOME = f"/{LOCAL}/home/alice"
Variants = Callable[..., EmulatorServer]


def _connect(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, **extras: str) -> None:
    """``irods_default`` as alice on ``server`` (extras appended to the URI)."""
    query = "&".join(f"{k}={v}" for k, v in {"zone": LOCAL, **extras}.items())
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT", f"irods://alice:alice@127.0.0.1:{server.port}/http?{query}"
    )


@pytest.fixture
def federated(irods_emulator_variants: Variants, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """A fresh federated emulator with alice, and ``irods_default`` pointing at it as alice."""
    server = irods_emulator_variants(federated_zones=[REMOTE])
    server.add_user("alice", "alice")
    _connect(monkeypatch, server)
    return server


@pytest.fixture
def session(federated: EmulatorServer) -> Iterator[Any]:
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()


def test_transfer_operator_to_a_hash_path_succeeds_with_lineage(session: Any, tmp_path: Path) -> None:
    """A federated home holds ``#``: the copy succeeds and lineage names the path (percent-encoded URI)."""
    from irods_provider.operators.transfer import LocalToIrodsOperator

    data = os.urandom(100_000)
    (tmp_path / "x.bin").write_bytes(data)
    op = LocalToIrodsOperator(
        task_id="up", source_path=str(tmp_path / "x.bin"), destination_path=f"{REMOTE_HOME}/in/x.bin"
    )
    report = op.execute({})
    assert report["transferred"] == 1
    assert session.data_objects.read(f"{REMOTE_HOME}/in/x.bin") == data
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        (f"irods://{REMOTE}", f"{REMOTE_HOME}/in/x.bin")
    ]


# ---- federated zone ------------------------------------------------------------------------------------


def test_lineage_asset_uri_percent_encodes_and_round_trips(
    session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hook lineage carries ``#`` percent-encoded; the URI maps back to the exact logical path."""
    from airflow.sdk import lineage

    from irods_provider.assets.irods import asset_uri, logical_path, openlineage_name
    from irods_provider.operators.transfer import LocalToIrodsOperator

    collector = lineage.HookLineageCollector()
    monkeypatch.setattr(lineage, "get_hook_lineage_collector", lambda: collector)
    (tmp_path / "a b%.txt").write_bytes(b"odd name")
    target = f"{REMOTE_HOME}/q?x/a b%.txt"
    LocalToIrodsOperator(
        task_id="up", source_path=str(tmp_path / "a b%.txt"), destination_path=target
    ).execute({})
    uris = [i.asset.uri for i in collector.collected_assets.outputs]
    assert uris == [f"irods://{REMOTE}/home/alice%23{LOCAL}/q%3Fx/a%20b%25.txt"]
    assert logical_path(uris[0]) == target
    assert openlineage_name(uris[0]) == (f"irods://{REMOTE}", target)
    assert asset_uri(target) == uris[0]
    assert session.data_objects.read(target) == b"odd name"


def test_lineage_failure_never_fails_a_finished_copy(
    session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The bytes are published; a broken lineage backend only logs a warning."""
    import irods_provider._lineage as lineage_module
    from irods_provider.operators.transfer import LocalToIrodsOperator

    def broken(**_: Any) -> None:
        raise RuntimeError("lineage backend down")

    monkeypatch.setattr(lineage_module, "report_hook_lineage", broken)
    (tmp_path / "f").write_bytes(b"payload")
    op = LocalToIrodsOperator(
        task_id="up", source_path=str(tmp_path / "f"), destination_path=f"{REMOTE_HOME}/f"
    )
    with caplog.at_level("WARNING"):
        assert op.execute({})["transferred"] == 1
    assert session.data_objects.read(f"{REMOTE_HOME}/f") == b"payload"
    assert "lineage not reported: RuntimeError: lineage backend down" in caplog.text


def test_parallel_round_trip_in_the_remote_zone(session: Any, tmp_path: Path) -> None:
    """Parallel upload and download (several streams, many chunks) of a remote-zone object, bytes compared."""
    from irods_provider.client.transfer import TransferConfig, download_object, upload_object

    cfg = TransferConfig(streams=3, chunk_size=64 * 1024, small_file_threshold=64 * 1024)
    data = os.urandom(3 * 1024 * 1024 + 12_345)
    (tmp_path / "src").write_bytes(data)
    up = upload_object(session, tmp_path / "src", f"{REMOTE_HOME}/big.bin", config=cfg)
    assert up.checksum == session.data_objects.calculate_checksum(f"{REMOTE_HOME}/big.bin")
    down = download_object(session, f"{REMOTE_HOME}/big.bin", tmp_path / "dst", config=cfg)
    assert hashlib.sha256((tmp_path / "dst").read_bytes()).digest() == hashlib.sha256(data).digest()
    assert down.checksum == up.checksum


def test_remote_listing_walk_and_list_operator_are_not_empty(session: Any) -> None:
    from irods_provider.operators.irods import IrodsListCollectionOperator

    session.collections.create(f"{REMOTE_HOME}/d/e", intermediates=True)
    session.data_objects.write(f"{REMOTE_HOME}/d/one.csv", b"1")
    session.data_objects.write(f"{REMOTE_HOME}/d/e/two.csv", b"22")
    assert sorted(e.path for e in session.collections.iterate(f"{REMOTE_HOME}/d")) == [
        f"{REMOTE_HOME}/d/e",
        f"{REMOTE_HOME}/d/one.csv",
    ]
    walked = {e.path: e.size for e in session.collections.walk(f"{REMOTE_HOME}/d", with_stat=True)}
    assert walked == {
        f"{REMOTE_HOME}/d/e": None,
        f"{REMOTE_HOME}/d/one.csv": 1,
        f"{REMOTE_HOME}/d/e/two.csv": 2,
    }
    op = IrodsListCollectionOperator(
        task_id="ls", path=f"{REMOTE_HOME}/d", recursive=True, kind="data_objects"
    )
    listed = op.execute({})
    assert [e["path"] for e in listed["entries"]] == [
        f"{REMOTE_HOME}/d/e/two.csv",
        f"{REMOTE_HOME}/d/one.csv",
    ]


def test_remote_listing_fails_typed_when_it_cannot_be_listed(session: Any, federated: EmulatorServer) -> None:
    """A missing remote collection or a data object has no entries (as in the local zone); a server that
    cannot query the zone: IrodsListingError."""
    from irods_provider.exceptions import IrodsListingError

    session.data_objects.write(f"{REMOTE_HOME}/seen.txt", b"x")
    for path in (f"{REMOTE_HOME}/nope", f"{REMOTE_HOME}/seen.txt", f"/{LOCAL}/home/alice/nope"):
        assert list(session.collections.iterate(path)) == []
    model = federated.model
    local_only = model.fetch_rows
    # a server whose GenQuery ignores the zone hint (answers from the local catalog only)
    federated.model.fetch_rows = lambda caller, tables, zone=None, **kw: local_only(caller, tables, **kw)  # type: ignore[method-assign]
    try:
        with pytest.raises(IrodsListingError) as blind:
            list(session.collections.iterate(REMOTE_HOME))
    finally:
        del federated.model.fetch_rows
    assert blind.value.path == REMOTE_HOME
    assert f"{REMOTE_HOME}/seen.txt" in str(blind.value)
    assert "otherZone" in str(blind.value)


def test_metadata_and_sensors_on_remote_paths(session: Any, federated: EmulatorServer) -> None:
    """AVUs of a remote object are read through the zone hint; the atomic call cannot set them (iRODS writes
    the local catalog by the remote id: refused typed), so a client of that zone sets them."""
    from irods_provider.client import AVU, EntryKind, Kinds
    from irods_provider.exceptions import IrodsUsageError
    from irods_provider.sensors.irods import IrodsMetadataSensor, IrodsPathSensor

    path = f"{REMOTE_HOME}/m.txt"
    session.data_objects.write(path, b"m")
    with pytest.raises(IrodsUsageError, match=REMOTE):
        session.metadata.add(path, AVU("site", "LRZ", "u"))
    federated.add_avu(path, "site", "LRZ", "u")
    federated.add_avu(path, "state", "ready")
    assert sorted(session.metadata.list(path), key=lambda a: a.attribute) == [
        AVU("site", "LRZ", "u"),
        AVU("state", "ready", ""),
    ]
    assert session.metadata.kind_of(path) is EntryKind.DATA_OBJECT
    assert list(session.metadata.find("site", "LRZ", zone=REMOTE)) == [(path, EntryKind.DATA_OBJECT)]
    assert list(session.metadata.find("site", "LRZ")) == []  # the local catalog does not hold it
    assert list(session.metadata.find("site", kinds=Kinds.COLLECTIONS, zone=REMOTE)) == []
    sensor = IrodsMetadataSensor(task_id="s", attribute="state", value="ready", under=REMOTE_HOME)
    try:
        found = sensor.poke({})
    finally:
        sensor.hook.close()
    assert found.is_done is True
    assert found.xcom_value == [{"path": path, "kind": "data_object"}]
    glob = IrodsPathSensor(task_id="p", path=f"{REMOTE_HOME}/*.txt", glob=True)
    try:
        hit = glob.poke({})
    finally:
        glob.hook.close()
    assert [m["path"] for m in hit.xcom_value] == [path]


def test_fsspec_ls_find_glob_du_in_the_remote_zone(session: Any) -> None:
    from irods_provider.fs import IrodsFileSystem

    session.collections.create(f"{REMOTE_HOME}/fs/sub", intermediates=True)
    session.data_objects.write(f"{REMOTE_HOME}/fs/a.csv", b"aaa")
    session.data_objects.write(f"{REMOTE_HOME}/fs/sub/b.csv", b"bbbbb")
    fs = IrodsFileSystem(session=session, skip_instance_cache=True)
    assert sorted(fs.ls(f"{REMOTE_HOME}/fs", detail=False)) == [
        f"{REMOTE_HOME}/fs/a.csv",
        f"{REMOTE_HOME}/fs/sub",
    ]
    assert fs.find(f"{REMOTE_HOME}/fs") == [f"{REMOTE_HOME}/fs/a.csv", f"{REMOTE_HOME}/fs/sub/b.csv"]
    assert fs.glob(f"{REMOTE_HOME}/fs/**/*.csv") == [f"{REMOTE_HOME}/fs/a.csv", f"{REMOTE_HOME}/fs/sub/b.csv"]
    assert fs.du(f"{REMOTE_HOME}/fs") == 8


# ---- MD5 zones -------------------------------------------------------------------------------------------


@pytest.fixture
def md5_zone(irods_emulator_variants: Variants, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """A fresh emulator whose zone keeps MD5 checksums, ``irods_default`` = alice there (no extras)."""
    server = irods_emulator_variants(hash_scheme="md5")
    server.add_user("alice", "alice")
    _connect(monkeypatch, server)
    return server


@pytest.fixture
def md5_session(md5_zone: EmulatorServer) -> Iterator[Any]:
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        yield hook.get_conn()


def test_md5_zone_parallel_round_trip_learns_the_scheme(md5_session: Any, tmp_path: Path) -> None:
    from irods_provider.client.transfer import TransferConfig, download_object, upload_object

    cfg = TransferConfig(streams=3, chunk_size=64 * 1024, small_file_threshold=64 * 1024)
    data = os.urandom(2 * 1024 * 1024 + 777)
    (tmp_path / "src").write_bytes(data)
    up = upload_object(md5_session, tmp_path / "src", f"{LOCAL_HOME}/m.bin", config=cfg)
    assert up.checksum == hashlib.md5(data).hexdigest()
    down = download_object(md5_session, f"{LOCAL_HOME}/m.bin", tmp_path / "dst", config=cfg)
    assert hashlib.sha256((tmp_path / "dst").read_bytes()).digest() == hashlib.sha256(data).digest()
    assert down.checksum == hashlib.md5(data).hexdigest()


def test_md5_zone_skip_checksum_and_overrides(
    md5_zone: EmulatorServer, md5_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_bytes(b"alpha" * 1000)
    up = {
        "task_id": "up",
        "source_path": str(tmp_path / "in" / "a.txt"),
        "destination_path": f"{LOCAL_HOME}/a.txt",
    }
    assert LocalToIrodsOperator(**up).execute({})["transferred"] == 1
    again = LocalToIrodsOperator(**up, skip="checksum").execute({})
    assert (again["transferred"], again["skipped"]) == (0, 1)
    (tmp_path / "in" / "a.txt").write_bytes(b"ALPHA" * 1000)  # same size, other bytes: not skipped
    changed = LocalToIrodsOperator(**up, skip="checksum", overwrite=True).execute({})
    assert changed["transferred"] == 1
    assert md5_session.data_objects.read(f"{LOCAL_HOME}/a.txt") == b"ALPHA" * 1000
    down = {
        "task_id": "down",
        "source_path": f"{LOCAL_HOME}/a.txt",
        "destination_path": str(tmp_path / "out.txt"),
    }
    assert IrodsToLocalOperator(**down).execute({})["transferred"] == 1
    assert IrodsToLocalOperator(**down, skip="checksum").execute({})["skipped"] == 1
    # explicit overrides: md5 works, sha256 on an MD5 zone is refused by name (operator and connection)
    assert (
        LocalToIrodsOperator(
            **{**up, "destination_path": f"{LOCAL_HOME}/b.txt"}, checksum_scheme="md5"
        ).execute({})["transferred"]
        == 1
    )
    pinned = LocalToIrodsOperator(
        **{**up, "destination_path": f"{LOCAL_HOME}/c.txt"}, checksum_scheme="sha256"
    )
    _assert_refused_as_md5(pinned)
    _connect(monkeypatch, md5_zone, checksum_scheme="sha256")
    _assert_refused_as_md5(LocalToIrodsOperator(**{**up, "destination_path": f"{LOCAL_HOME}/d.txt"}))
    assert not md5_session.data_objects.exists(f"{LOCAL_HOME}/d.txt")
    _connect(monkeypatch, md5_zone, checksum_scheme="md5")
    assert (
        LocalToIrodsOperator(**{**up, "destination_path": f"{LOCAL_HOME}/e.txt"}).execute({})["transferred"]
        == 1
    )


def _assert_refused_as_md5(operator: Any) -> None:
    """The operator fails with the integrity error that names the MD5 zone (nothing published)."""
    from irods_provider.exceptions import IrodsIntegrityError

    with pytest.raises(IrodsIntegrityError, match="the zone answers MD5 checksums but only SHA-256"):
        operator.execute({})


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[Any]:
    from irods_provider.testing.sftp import EmbeddedSftpServer

    with EmbeddedSftpServer() as server:
        yield server


def test_md5_zone_staging_to_and_from_sftp(
    md5_session: Any, sftp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SFTP → iRODS and iRODS → SFTP on an MD5 zone, both verified; re-runs skip by MD5 checksum."""
    from irods_provider.testing.sftp import airflow_connection_json
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp_server))
    base = sftp_server.root / "md5stage"
    base.mkdir(exist_ok=True)
    owner = sftp_server.root.stat()
    os.chown(base, owner.st_uid, owner.st_gid)
    data = os.urandom(300_000)
    (base / "in.bin").write_bytes(data)
    os.chown(base / "in.bin", owner.st_uid, owner.st_gid)
    up = {
        "task_id": "up",
        "sftp_conn_id": "cluster",
        "source_path": "md5stage/in.bin",
        "destination_path": f"{LOCAL_HOME}/staged.bin",
    }
    report = SFTPToIrodsOperator(**up).execute({})
    assert report["transferred"] == 1
    assert md5_session.data_objects.read(f"{LOCAL_HOME}/staged.bin") == data
    assert md5_session.data_objects.stat(f"{LOCAL_HOME}/staged.bin").checksum == hashlib.md5(data).hexdigest()
    assert SFTPToIrodsOperator(**up, skip="checksum").execute({})["skipped"] == 1
    down = {
        "task_id": "down",
        "sftp_conn_id": "cluster",
        "source_path": f"{LOCAL_HOME}/staged.bin",
        "destination_path": "md5stage/out.bin",
    }
    assert IrodsToSFTPOperator(**down).execute({})["transferred"] == 1
    assert hashlib.sha256((base / "out.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    assert IrodsToSFTPOperator(**down, skip="checksum").execute({})["skipped"] == 1


def test_hash_paths_in_server_side_operators_and_sftp_staging(
    session: Any, sftp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copy, create-collection and SFTP staging into ``user#zone`` paths: data right, lineage names them."""
    from irods_provider.operators.irods import IrodsCopyOperator, IrodsCreateCollectionOperator
    from irods_provider.testing.sftp import airflow_connection_json
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    created = IrodsCreateCollectionOperator(task_id="mk", path=f"{REMOTE_HOME}/c#1")
    created.execute({})
    outputs = created.get_openlineage_facets_on_complete(None).outputs
    assert [(d.namespace, d.name) for d in outputs] == [(f"irods://{REMOTE}", f"{REMOTE_HOME}/c#1")]
    session.data_objects.write(f"{REMOTE_HOME}/c#1/src", b"copy me")
    copy_op = IrodsCopyOperator(
        task_id="cp", source_path=f"{REMOTE_HOME}/c#1/src", destination_path=f"{REMOTE_HOME}/c#1/dst"
    )
    copy_op.execute({})
    assert session.data_objects.read(f"{REMOTE_HOME}/c#1/dst") == b"copy me"
    lineage = copy_op.get_openlineage_facets_on_complete(None)
    assert [d.name for d in lineage.inputs] == [f"{REMOTE_HOME}/c#1/src"]
    assert [d.name for d in lineage.outputs] == [f"{REMOTE_HOME}/c#1/dst"]
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(sftp_server))
    base = sftp_server.root / "fedstage"
    base.mkdir(exist_ok=True)
    owner = sftp_server.root.stat()
    os.chown(base, owner.st_uid, owner.st_gid)
    (base / "s.bin").write_bytes(b"staged bytes")
    os.chown(base / "s.bin", owner.st_uid, owner.st_gid)
    stage = SFTPToIrodsOperator(
        task_id="st",
        sftp_conn_id="cluster",
        source_path="fedstage/s.bin",
        destination_path=f"{REMOTE_HOME}/c#1/",
    )
    assert stage.execute({})["transferred"] == 1
    assert session.data_objects.read(f"{REMOTE_HOME}/c#1/s.bin") == b"staged bytes"
    staged = stage.get_openlineage_facets_on_complete(None).outputs
    assert [(d.namespace, d.name) for d in staged] == [(f"irods://{REMOTE}", f"{REMOTE_HOME}/c#1/s.bin")]


def test_fsspec_checksum_scheme_option_on_an_md5_zone(md5_zone: EmulatorServer, tmp_path: Path) -> None:
    """fsspec's ``checksum_scheme`` pins its own session: md5 verifies, sha256 is refused by name."""
    from irods_provider.client.transfer import ChecksumScheme, upload_object
    from irods_provider.exceptions import IrodsIntegrityError
    from irods_provider.fs import IrodsFileSystem

    (tmp_path / "x").write_bytes(b"fsspec bytes")
    good = IrodsFileSystem(conn_id="irods_default", checksum_scheme="md5", skip_instance_cache=True)
    bad = IrodsFileSystem(conn_id="irods_default", checksum_scheme="sha256", skip_instance_cache=True)
    try:
        assert good.transfer_config.checksum_scheme is ChecksumScheme.MD5
        done = upload_object(good.session, tmp_path / "x", f"{LOCAL_HOME}/fs-md5")
        assert done.checksum == hashlib.md5(b"fsspec bytes").hexdigest()
        assert good.cat_file(f"{LOCAL_HOME}/fs-md5") == b"fsspec bytes"
        with pytest.raises(IrodsIntegrityError, match="answers MD5 checksums"):
            upload_object(bad.session, tmp_path / "x", f"{LOCAL_HOME}/fs-sha")
    finally:
        good.close_session()
        bad.close_session()


async def _first_event(trigger: Any) -> Any:
    """The trigger's first event, or None if it would sleep (its sleep is patched to cancel)."""
    import asyncio
    from unittest import mock

    with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
        try:
            return await anext(trigger.run())
        except asyncio.CancelledError:
            return None


async def test_deferred_sensors_fire_on_remote_paths(federated: EmulatorServer) -> None:
    """The triggers (async session) pass the zone hint too: they fire on a remote-zone glob and AVU."""
    from irods_provider.hooks.irods import IrodsHook
    from irods_provider.triggers.irods import IrodsMetadataTrigger, IrodsPathTrigger

    path_trigger = IrodsPathTrigger(
        path=f"{REMOTE_HOME}/in/*.csv", glob=True, irods_conn_id="irods_default", poke_interval=1.0
    )
    meta_trigger = IrodsMetadataTrigger(
        attribute="ready", value="yes", under=REMOTE_HOME, irods_conn_id="irods_default", poke_interval=1.0
    )
    assert await _first_event(path_trigger) is None
    assert await _first_event(meta_trigger) is None
    with IrodsHook() as hook:
        session = hook.get_conn()
        session.collections.create(f"{REMOTE_HOME}/in")
        session.data_objects.write(f"{REMOTE_HOME}/in/a.csv", b"1,2")
    federated.add_avu(f"{REMOTE_HOME}/in/a.csv", "ready", "yes")  # by a client of that zone
    fired = await _first_event(path_trigger)
    assert [m["path"] for m in fired.payload["matches"]] == [f"{REMOTE_HOME}/in/a.csv"]
    tagged = await _first_event(meta_trigger)
    assert tagged.payload["matches"] == [{"path": f"{REMOTE_HOME}/in/a.csv", "kind": "data_object"}]
