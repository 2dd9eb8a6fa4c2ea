"""An overwrite replaces the bytes, not the object's grants and AVUs (as ``iput -f`` does).

The engine publishes by renaming a verified temporary onto the path, so the new object is a new catalog
entry: without carrying them over, a colleague's read grant and the AVUs other workflows set on the object
vanish silently on every re-run with ``overwrite``. The caller's own ``metadata`` and ``permissions`` win
for the attributes and entities they name.
"""

from __future__ import annotations

import os

import pytest

from irods_provider.client import AVU, PermissionOperation
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, upload_files, upload_object

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
