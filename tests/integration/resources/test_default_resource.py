"""The connection's ``default_resource`` and the ``resource`` argument decide where every write lands.

Each test asserts the replica layout from the catalog (GenQuery ``DATA_RESC_HIER``/``DATA_REPL_STATUS``
through ``data_objects.replicas``). Before this change the extra was parsed and ignored: every object
landed on ``demoResc``, so the ``irods_archive`` assertions fail on that code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsNotFoundError, IrodsResponseError, IrodsUsageError
from irods_provider.fs import IrodsFileSystem
from irods_provider.operators.irods import IrodsCopyOperator
from irods_provider.operators.transfer import IrodsToLocalOperator, LocalToIrodsOperator

HOME = "/tempZone/home/rods"
CHUNK = 64 * 1024
ARCHIVE = ["archiveResc:1"]
REPL = ["replResc;replResc_ufs0:1", "replResc;replResc_ufs1:1"]


def hierarchies(session, path: str) -> list[str]:
    return [f"{r.hierarchy}:{r.status}" for r in session.data_objects.replicas(path)]


def upload(tmp_path: Path, name: str, size: int, **kwargs) -> tuple[str, bytes]:
    data = os.urandom(size)
    (tmp_path / name).write_bytes(data)
    destination = f"{HOME}/up/{name}"
    LocalToIrodsOperator(
        task_id="up",
        source_path=str(tmp_path / name),
        destination_path=destination,
        chunk_size=CHUNK,
        **kwargs,
    ).execute({})
    return destination, data


def test_upload_operator_honours_default_resource_and_resource_argument(zone, session, tmp_path) -> None:
    # A small (one request) and a parallel (several chunks, 3 streams) upload through irods_archive.
    for name, size in (("small.bin", 100), ("big.bin", 5 * CHUNK + 7)):
        path, data = upload(tmp_path, name, size, irods_conn_id="irods_archive")
        assert hierarchies(session, path) == ARCHIVE
        assert session.data_objects.read(path) == data
    # The argument wins over the connection's default; a replication resource fills both children.
    path, data = upload(tmp_path, "repl.bin", 3 * CHUNK, irods_conn_id="irods_archive", resource="replResc")
    assert hierarchies(session, path) == REPL
    assert session.data_objects.read(path, replica_number=1) == data
    # No default and no argument: the server's default resource.
    path, _ = upload(tmp_path, "plain.bin", 10)
    assert hierarchies(session, path) == ["demoResc:1"]


def test_upload_operator_tree_and_templated_resource(zone, session, tmp_path) -> None:
    for rel in ("a.bin", "sub/b.bin"):
        (tmp_path / "tree" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / rel).write_bytes(os.urandom(2 * CHUNK + 1))
    op = LocalToIrodsOperator(
        task_id="up",
        source_path=str(tmp_path / "tree"),
        destination_path=f"{HOME}/tree",
        chunk_size=CHUNK,
        resource="{{ params.tier }}",
    )
    op.render_template_fields(context={"params": {"tier": "replResc"}})
    assert op.resource == "replResc"
    op.execute({})
    for rel in ("a.bin", "sub/b.bin"):
        assert hierarchies(session, f"{HOME}/tree/{rel}") == REPL


def test_overwrite_replaces_the_object_on_the_chosen_resource(zone, session, tmp_path) -> None:
    path, _ = upload(tmp_path, "again.bin", 50)
    assert hierarchies(session, path) == ["demoResc:1"]
    path, data = upload(tmp_path, "again.bin", 70, irods_conn_id="irods_archive", overwrite=True)
    assert hierarchies(session, path) == ARCHIVE
    assert session.data_objects.read(path) == data


def test_bad_resource_arguments_fail_before_writing(zone, session, tmp_path) -> None:
    (tmp_path / "f.bin").write_bytes(b"x")
    with pytest.raises(IrodsUsageError, match="resource"):
        LocalToIrodsOperator(
            task_id="up", source_path=str(tmp_path / "f.bin"), destination_path=f"{HOME}/f", resource="a;b"
        ).execute({})
    with pytest.raises(IrodsUsageError, match="does not write to iRODS"):
        IrodsToLocalOperator(
            task_id="down",
            source_path=f"{HOME}/f",
            destination_path=str(tmp_path / "o"),
            resource="archiveResc",
        ).execute({})
    assert not session.data_objects.exists(f"{HOME}/f")


def test_upload_to_an_unknown_resource_fails_and_publishes_nothing(zone, session, tmp_path) -> None:
    (tmp_path / "f.bin").write_bytes(b"payload")

    def attempt() -> None:
        LocalToIrodsOperator(
            task_id="up",
            source_path=str(tmp_path / "f.bin"),
            destination_path=f"{HOME}/f",
            resource="noSuchResc",
        ).execute({})

    # Default server builds answer an open failure with INVALID_HANDLE (the notes, section 4.3) ...
    with pytest.raises(IrodsResponseError) as default_build:
        attempt()
    assert default_build.value.irods_name == "INVALID_HANDLE"
    # ... builds against iRODS >= 5.1 expose the real code, which maps to a typed not-found error.
    zone.set_limits(dstream_exposes_irods_error_codes=True)
    with pytest.raises(IrodsNotFoundError) as real_code:
        attempt()
    assert real_code.value.irods_name == "SYS_RESC_DOES_NOT_EXIST"
    assert not session.data_objects.exists(f"{HOME}/f")


def test_copy_operator_uses_resource_or_default(zone, session) -> None:
    session.data_objects.write(f"{HOME}/src", b"copy me")
    IrodsCopyOperator(
        task_id="c", irods_conn_id="irods_archive", source_path=f"{HOME}/src", destination_path=f"{HOME}/c1"
    ).execute({})
    assert hierarchies(session, f"{HOME}/c1") == ARCHIVE
    IrodsCopyOperator(
        task_id="c",
        irods_conn_id="irods_archive",
        source_path=f"{HOME}/src",
        destination_path=f"{HOME}/c2",
        resource="replResc",
    ).execute({})
    assert hierarchies(session, f"{HOME}/c2") == REPL
    with pytest.raises(IrodsUsageError):
        IrodsCopyOperator(
            task_id="c",
            source_path=f"{HOME}/src",
            destination_path=f"{HOME}/c3",
            resource="replResc",
            destination_resource="archiveResc",
        ).execute({})
    with pytest.raises(IrodsNotFoundError) as missing:
        IrodsCopyOperator(
            task_id="c", source_path=f"{HOME}/src", destination_path=f"{HOME}/c4", resource="noSuchResc"
        ).execute({})
    assert missing.value.irods_name == "SYS_RESC_DOES_NOT_EXIST"
    assert not session.data_objects.exists(f"{HOME}/c3")
    assert not session.data_objects.exists(f"{HOME}/c4")


def test_fsspec_writes_follow_the_connection_default_and_the_storage_option(zone, session, tmp_path) -> None:
    fs = IrodsFileSystem(conn_id="irods_archive", chunk_size=CHUNK, skip_instance_cache=True)
    try:
        assert fs.resource == "archiveResc"
        fs.pipe_file(f"{HOME}/fs/small", b"tiny")
        big = os.urandom(4 * CHUNK + 3)
        with fs.open(f"{HOME}/fs/big", "wb") as f:
            f.write(big)
        (tmp_path / "local.bin").write_bytes(big)
        fs.put_file(str(tmp_path / "local.bin"), f"{HOME}/fs/put")
        fs.touch(f"{HOME}/fs/empty")
        fs.cp_file(f"{HOME}/fs/small", f"{HOME}/fs/copied")
        for name in ("small", "big", "put", "empty", "copied"):
            assert hierarchies(session, f"{HOME}/fs/{name}") == ARCHIVE, name
        assert fs.cat_file(f"{HOME}/fs/big") == big
        # Appending keeps the object on its resource (no new empty replica elsewhere).
        with fs.open(f"{HOME}/fs/small", "ab") as f:
            f.write(b"+more")
        assert hierarchies(session, f"{HOME}/fs/small") == ARCHIVE
        assert session.data_objects.read(f"{HOME}/fs/small") == b"tiny+more"
    finally:
        fs.close_session()
    explicit = IrodsFileSystem(
        base_url=zone.base_url,
        username="rods",
        password="rods-emulator",
        resource="replResc",
        chunk_size=CHUNK,
        skip_instance_cache=True,
    )
    try:
        explicit.pipe_file(f"{HOME}/fs/repl", b"both children")
        assert hierarchies(session, f"{HOME}/fs/repl") == REPL
    finally:
        explicit.close_session()
    with pytest.raises(ValueError, match="resource"):
        IrodsFileSystem(base_url=zone.base_url, resource="a/b", skip_instance_cache=True)
