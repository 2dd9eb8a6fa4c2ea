"""An overwrite replaces the bytes, not the object's grants and AVUs (as ``iput -f`` does).

The engine publishes by renaming a verified temporary onto the path, so the new object is a new catalog
entry: without carrying them over, a colleague's read grant and the AVUs other workflows set on the object
vanish silently on every re-run with ``overwrite``. The caller's own ``metadata`` and ``permissions`` win
for the attributes and entities they name.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

import httpx2
import pytest

from irods_provider.client import AVU, BasicAuth, IrodsSession, PermissionOperation, RetryPolicy
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_files, upload_object
from irods_provider.exceptions import IrodsChecksumMismatchError, IrodsPermissionError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

HOME = "/tempZone/home/rods"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


def _grants(session, path: str) -> dict[str, str]:
    return {p.name: p.perm for p in session.data_objects.stat(path).permissions}


def _avus(session, path: str) -> set[tuple[str, str]]:
    return {(a.attribute, a.value) for a in session.metadata.list(path)}


@pytest.mark.parametrize("size", [1000, 3 * (1 << 20) + 5], ids=["small", "parallel"])
def test_overwrite_keeps_the_old_objects_grants_and_avus(session, irods_emulator, tmp_path, size) -> None:
    irods_emulator.add_user("alice", "apass")
    irods_emulator.add_user("bob", "bpass")
    path = f"{HOME}/kept-{size}.bin"
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    upload_object(session, str(src), path, config=CFG)
    session.data_objects.modify_permissions(
        path, [PermissionOperation("alice", "read"), PermissionOperation("bob", "write")]
    )
    session.metadata.add(path, AVU("project", "p1"), AVU("stage", "raw"))

    data = os.urandom(size)
    src.write_bytes(data)
    upload_object(
        session,
        str(src),
        path,
        config=CFG,
        overwrite=OverwritePolicy.OVERWRITE,
        metadata={"stage": "cooked"},
        permissions={"bob": "read"},
    )

    assert session.data_objects.read(path) == data
    grants = _grants(session, path)
    assert grants["alice"] == "read_object"
    assert grants["bob"] == "read_object"  # the caller's grant wins over the old one
    assert _avus(session, path) == {("project", "p1"), ("stage", "cooked")}


def test_upload_files_overwrite_keeps_grants_and_avus(session, irods_emulator, tmp_path) -> None:
    """The operators' path (``upload_files``, the small-file lane included) keeps them too."""
    irods_emulator.add_user("alice", "apass")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"one")
    upload_files(session, str(src), f"{HOME}/tree", config=CFG)
    path = f"{HOME}/tree/a.txt"
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "read")])
    session.metadata.add(path, AVU("project", "p1"))
    (src / "a.txt").write_bytes(b"two")
    upload_files(session, str(src), f"{HOME}/tree", config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert session.data_objects.read(path) == b"two"
    assert _grants(session, path)["alice"] == "read_object"
    assert _avus(session, path) == {("project", "p1")}


def test_fsspec_put_over_an_object_keeps_its_grants_and_avus(session, irods_emulator, tmp_path) -> None:
    """An fsspec write of new content (``put``: the atomic writer) replaces bytes, not grants and AVUs."""
    from irods_provider.fs import IrodsFileSystem

    irods_emulator.add_user("alice", "apass")
    path = f"{HOME}/fs.bin"
    session.data_objects.write(path, b"old")
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "read")])
    session.metadata.add(path, AVU("project", "p1"))
    data = os.urandom(3 * (1 << 20))  # past the small in-place write: the atomic writer publishes it
    (tmp_path / "new.bin").write_bytes(data)
    fs = IrodsFileSystem(
        base_url=irods_emulator.base_url,
        username="rods",
        password="rods-emulator",
        chunk_size=1 << 20,
        skip_instance_cache=True,
    )
    try:
        fs.put(str(tmp_path / "new.bin"), path)
    finally:
        fs.close_session()
    assert session.data_objects.read(path) == data
    assert _grants(session, path)["alice"] == "read_object"
    assert _avus(session, path) == {("project", "p1")}


class DropFirstRemoveOfOld(httpx2.HTTPTransport):
    """Drops the first removal of an ``.irods-old-`` object before the server sees it (a stale connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        if b'name="op"\r\n\r\nremove' in body and b".irods-old-" in body:
            self.count += 1
            if self.count == 1:
                raise httpx2.RemoteProtocolError("Server disconnected without sending a response.")
        return super().handle_request(request)


def test_the_replaced_object_moved_aside_is_removed_despite_a_dropped_connection(
    irods_emulator, tmp_path
) -> None:
    """The last step of an overwrite removes the old object it moved aside; one dropped connection there
    left it behind for good (a hidden ``.irods-old-`` copy of every overwritten file)."""
    path = f"{HOME}/aside.bin"
    (tmp_path / "src").write_bytes(b"new")
    transport = DropFirstRemoveOfOld()
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(
        irods_emulator.base_url,
        auth=auth,
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
        transport=transport,
    ) as session:
        session.data_objects.write(path, b"old")
        upload_object(session, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert session.data_objects.read(path) == b"new"
    assert transport.count >= 1
    with irods_emulator.model.lock:
        left = sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/"))
    assert left == [path]


def _alice_and_rods(irods_emulator, alice_on_object: str):
    """rods's ``shared.bin`` with alice granted ``alice_on_object`` and bob ``read``; alice may write the
    collection (her temporary goes there)."""
    irods_emulator.add_user("alice", "apass")
    irods_emulator.add_user("bob", "bpass")
    rods = IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator"))
    alice = IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apass"))
    rods.data_objects.write(f"{HOME}/shared.bin", b"old")
    rods.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
    rods.data_objects.modify_permissions(
        f"{HOME}/shared.bin",
        [PermissionOperation("alice", alice_on_object), PermissionOperation("bob", "read")],
    )
    return rods, alice


def test_a_co_owner_overwrites_and_everyone_keeps_their_grant(irods_emulator, tmp_path) -> None:
    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "own")
    with rods, alice:
        (tmp_path / "src").write_bytes(b"new from alice")
        upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert rods.data_objects.read(path) == b"new from alice"
        grants = _grants(rods, path)
    assert grants == {"rods": "own", "alice": "own", "bob": "read_object"}


def zone_checksum(data: bytes) -> str:
    """What iRODS stores for SHA-256: ``sha2:`` and the base64 digest."""
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _left(irods_emulator) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/"))


@pytest.mark.parametrize("size", [1000, 3 * (1 << 20) + 5], ids=["small", "parallel"])
def test_a_writer_without_own_overwrites_in_place_by_a_verified_copy(irods_emulator, tmp_path, size) -> None:
    """alice may modify rods's object (``iput -f`` needs no more) but not rename it (iRODS wants own:
    db_plugin.cpp:10793 at 4.3.2): the object is overwritten in place by a server-side copy of her verified
    temporary, so it keeps its catalog entry, grants and AVUs, and gets her AVUs; nothing is left behind."""
    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    with rods, alice:
        rods.metadata.add(path, AVU("project", "p1"), AVU("stage", "raw"))
        with irods_emulator.model.lock:
            data_id = irods_emulator.model.data_objects[path].id
        data = os.urandom(size)
        (tmp_path / "src").write_bytes(data)
        result = upload_object(
            alice,
            str(tmp_path / "src"),
            path,
            config=CFG,
            overwrite=OverwritePolicy.OVERWRITE,
            metadata={"stage": "cooked"},
        )
        assert rods.data_objects.read(path) == data
        assert result.checksum == rods.data_objects.calculate_checksum(path, force=True)
        assert _grants(rods, path) == {"rods": "own", "alice": "modify_object", "bob": "read_object"}
        assert _avus(rods, path) == {("project", "p1"), ("stage", "cooked")}
    with irods_emulator.model.lock:
        assert irods_emulator.model.data_objects[path].id == data_id  # the same object, not a new one
    assert _left(irods_emulator) == [path]


def test_an_overwrite_in_place_that_cannot_set_permissions_changes_nothing(irods_emulator, tmp_path) -> None:
    """Granting needs own: asked for by a writer without it, the overwrite is refused before any change,
    and her temporary is removed."""
    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    with rods, alice:
        (tmp_path / "src").write_bytes(b"new from alice")
        with pytest.raises(IrodsPermissionError, match="needs own"):
            upload_object(
                alice,
                str(tmp_path / "src"),
                path,
                config=CFG,
                overwrite=OverwritePolicy.OVERWRITE,
                permissions={"bob": "write"},
            )
        assert rods.data_objects.read(path) == b"old"
    assert _left(irods_emulator) == [path]


def test_a_wrong_copy_in_place_puts_the_old_bytes_back(irods_emulator, tmp_path, monkeypatch) -> None:
    """A copy onto the object that does not leave the verified bytes there (here: the server's copy of the
    temporary loses its last byte) is caught by the checksum computed afresh: the old bytes are copied back
    from the backup, the error names the path, and nothing is left behind."""
    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    model = irods_emulator.model
    copy_data_object = model.copy_data_object

    def short_copy(caller: str, src: str, dst: str, **kwargs: object) -> None:
        copy_data_object(caller, src, dst, **kwargs)
        if ".irods-part-" in src:
            replica = model.data_objects[dst].replicas[0]
            replica.spool_file.write_bytes(replica.spool_file.read_bytes()[:-1])

    monkeypatch.setattr(model, "copy_data_object", short_copy)
    with rods, alice:
        (tmp_path / "src").write_bytes(b"new from alice")
        with pytest.raises(IrodsChecksumMismatchError) as caught:
            upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert caught.value.path == path
        assert rods.data_objects.read(path) == b"old"
        assert rods.data_objects.calculate_checksum(path, force=True) == zone_checksum(b"old")
    assert _left(irods_emulator) == [path]


def test_an_earlier_backup_is_put_back_and_the_overwrite_proceeds(irods_emulator, tmp_path) -> None:
    """A backup left by an overwrite in place that did not finish (a worker killed while copying onto the
    path: the path is partial, the backup the only good copy) is never swept as an abandoned temporary; the
    next overwrite first copies it back onto the path, proves it, removes it, then overwrites."""
    from irods_provider.client.transfer._copyover import backup_name

    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    with rods, alice:
        backup = backup_name(path)
        alice.data_objects.write(backup, b"old")
        alice.data_objects.write(path, b"ol")  # the killed copy's partial bytes
        swept = alice.collections.remove_temporaries(HOME, min_age=0)
        assert backup not in [t.path for t in swept.removed]
        puts: list[tuple[str, str]] = []
        model = irods_emulator.model
        copy_data_object = model.copy_data_object

        def traced_copy(caller: str, src: str, dst: str, **kwargs: object) -> None:
            if dst == path:
                puts.append((src, model.data_objects[src].replicas[0].spool_file.read_bytes().decode()))
            copy_data_object(caller, src, dst, **kwargs)

        model.copy_data_object = traced_copy  # type: ignore[method-assign]
        try:
            (tmp_path / "src").write_bytes(b"new from alice")
            upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        finally:
            del model.copy_data_object
        assert puts[0] == (backup, "old")  # put back first, then the new bytes
        assert [content for _, content in puts[1:]] == ["new from alice"]
        assert rods.data_objects.read(path) == b"new from alice"
    assert _left(irods_emulator) == [path]


def test_an_earlier_backup_that_cannot_be_put_back_stops_the_overwrite(
    irods_emulator, tmp_path, monkeypatch
) -> None:
    """If the earlier backup cannot be copied back, nothing else is done: the error names the backup,
    which is kept."""
    from irods_provider.client.transfer._copyover import backup_name
    from irods_provider.exceptions import IrodsOverwriteIncompleteError

    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    model = irods_emulator.model
    copy_data_object = model.copy_data_object

    def failing_put_back(caller: str, src: str, dst: str, **kwargs: object) -> None:
        if ".irods-keep-" in src:
            raise OSError("disk full")
        copy_data_object(caller, src, dst, **kwargs)

    with rods, alice:
        backup = backup_name(path)
        alice.data_objects.write(backup, b"old")
        monkeypatch.setattr(model, "copy_data_object", failing_put_back)
        (tmp_path / "src").write_bytes(b"new from alice")
        with pytest.raises(IrodsOverwriteIncompleteError) as caught:
            upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert (caught.value.path, caught.value.backup) == (path, backup)
        assert alice.data_objects.read(backup) == b"old"
    assert _left(irods_emulator) == sorted([path, backup])


def test_an_unfinished_backup_copy_is_swept(irods_emulator, tmp_path) -> None:
    """A backup copy that never got its backup name (a worker killed while making it: the path was not
    touched yet) is an ordinary temporary of that writer's own name: the next overwrite proceeds beside it
    (it may be another live writer's copy) and the cleanup of abandoned temporaries removes it."""
    from irods_provider.client.transfer._claim import Claim

    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    with rods, alice:
        part = Claim.new("a killed transfer", path).part_name(path)
        alice.data_objects.write(part, b"o")
        (tmp_path / "src").write_bytes(b"new from alice")
        upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert rods.data_objects.read(path) == b"new from alice"
        assert _left(irods_emulator) == sorted([path, part])
        swept = alice.collections.remove_temporaries(HOME, min_age=0)
        assert [t.path for t in swept.removed] == [part]
    assert _left(irods_emulator) == [path]


def test_a_finished_overwrites_leftover_backup_is_not_put_back(irods_emulator, tmp_path, monkeypatch) -> None:
    """A worker killed after its copy in place was proven but before it removed the backup leaves the path
    whole with the NEW bytes (and a re-run that skips the file leaves it so). The backup records both
    checksums: a later overwrite sees the path whole and only removes the backup, so when that overwrite
    fails in turn the path keeps what it held just before, not the bytes of two overwrites ago."""
    from irods_provider.client.transfer import _copyover

    path = f"{HOME}/shared.bin"
    rods, alice = _alice_and_rods(irods_emulator, "write")
    with rods, alice:
        keep_backup = _copyover._remove_quietly

        def killed_before_removing_the_backup(session, leftover: str) -> None:  # type: ignore[no-untyped-def]
            if ".irods-keep-" not in leftover:
                keep_backup(session, leftover)

        monkeypatch.setattr(_copyover, "_remove_quietly", killed_before_removing_the_backup)
        (tmp_path / "src").write_bytes(b"new one")
        upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        monkeypatch.setattr(_copyover, "_remove_quietly", keep_backup)
        assert rods.data_objects.read(path) == b"new one"
        assert alice.data_objects.read(_copyover.backup_name(path)) == b"old"  # left behind
        lapse(alice, _copyover.backup_name(path))  # its worker was killed a lease ago: no longer renewed

        model = irods_emulator.model
        copy_data_object = model.copy_data_object

        def short_copy(caller: str, src: str, dst: str, **kwargs: object) -> None:
            copy_data_object(caller, src, dst, **kwargs)
            if (
                ".irods-part-" in src
                and dst == path
                and b"two" in model.data_objects[src].replicas[0].spool_file.read_bytes()
            ):
                replica = model.data_objects[dst].replicas[0]
                replica.spool_file.write_bytes(replica.spool_file.read_bytes()[:-1])

        monkeypatch.setattr(model, "copy_data_object", short_copy)
        (tmp_path / "src").write_bytes(b"new two")
        with pytest.raises(IrodsChecksumMismatchError):
            upload_object(alice, str(tmp_path / "src"), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
        assert rods.data_objects.read(path) == b"new one"  # not b"old"
    assert _left(irods_emulator) == [path]


def test_overwrite_of_a_plus_name_keeps_its_grants(session, irods_emulator, tmp_path) -> None:
    """A '+' name cannot be stat-ed over GET (the API reads it as a space): its grants are read from the
    catalog (``data_objects.permissions``), where they were dropped with a warning."""
    irods_emulator.add_user("alice", "apass")
    path = f"{HOME}/run+1.bin"
    src = tmp_path / "src.bin"
    src.write_bytes(b"first")
    upload_object(session, str(src), path, config=CFG)
    session.data_objects.modify_permissions(path, [PermissionOperation("alice", "read")])
    src.write_bytes(b"second")
    result = upload_object(session, str(src), path, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    assert (result.size, session.collections.lookup(path).size) == (6, 6)
    query = (
        f"select DATA_NAME, USER_NAME, DATA_ACCESS_NAME where COLL_NAME = '{HOME}' "
        "and DATA_NAME like 'run_1.bin' and DATA_TOKEN_NAMESPACE = 'access_type'"  # no '+' in a GET
    )
    grants = {row[1]: row[2] for row in session.query.genquery(query) if row[0] == "run+1.bin"}
    assert grants == {"rods": "own", "alice": "read_object"}
