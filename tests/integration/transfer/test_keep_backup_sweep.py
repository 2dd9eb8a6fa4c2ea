"""The cleanup of abandoned temporaries and an overwrite in place's backups (``.<name>.irods-keep-<key>``).

A worker killed after its copy in place was proven, but before it removed the backup, leaves the path whole
and a full hidden copy of the old bytes beside it; a re-run that skips the file never comes back for it. The
sweep removes such a backup once the path provably holds (checksum computed afresh) the content the backup
recorded from before or after the overwrite, and keeps every other one: it may be the only good copy.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

import pytest

from irods_provider.client import AVU, BasicAuth, IrodsSession, PermissionOperation
from irods_provider.client._temporaries import KEEP_ATTRIBUTE
from irods_provider.client.transfer import OverwritePolicy, TransferConfig, _copyover, upload_object

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from claim_lease import lapse

HOME = "/tempZone/home/rods"
PATH = f"{HOME}/shared.bin"
CFG = TransferConfig(chunk_size=1 << 20, small_file_threshold=1 << 20)


def _sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def alice(irods_emulator):
    """alice may modify rods's ``shared.bin`` but not rename it, so she overwrites it in place."""
    irods_emulator.add_user("alice", "apass")
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods:
        rods.data_objects.write(PATH, b"old")
        rods.collections.modify_permissions(HOME, [PermissionOperation("alice", "own")])
        rods.data_objects.modify_permissions(PATH, [PermissionOperation("alice", "write")])
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("alice", "apass")) as session:
        yield session


def _left(irods_emulator) -> list[str]:
    with irods_emulator.model.lock:
        return sorted(p for p in irods_emulator.model.data_objects if p.startswith(f"{HOME}/"))


def _overwrite_killed_before_removing_the_backup(alice, tmp_path, monkeypatch) -> str:
    """Overwrite ``PATH`` in place with b"new one", the worker 'killed' just before removing its backup."""
    remove = _copyover._remove_quietly

    def keep_the_backup(session, leftover: str) -> None:  # type: ignore[no-untyped-def]
        if ".irods-keep-" not in leftover:
            remove(session, leftover)

    monkeypatch.setattr(_copyover, "_remove_quietly", keep_the_backup)
    (tmp_path / "src").write_bytes(b"new one")
    upload_object(alice, str(tmp_path / "src"), PATH, config=CFG, overwrite=OverwritePolicy.OVERWRITE)
    monkeypatch.setattr(_copyover, "_remove_quietly", remove)
    backup = _copyover.backup_name(PATH)
    assert alice.data_objects.read(backup) == b"old"
    lapse(alice, backup)  # killed a lease ago: its claim is no longer renewed
    return backup


def test_a_served_backup_is_swept_once_old_enough(irods_emulator, alice, tmp_path, monkeypatch) -> None:
    """The path holds the new bytes whole: the backup has served. Young, it counts as fresh; a dry run
    lists it without touching it; the sweep removes it."""
    backup = _overwrite_killed_before_removing_the_backup(alice, tmp_path, monkeypatch)
    young = alice.collections.remove_temporaries(HOME, min_age=3600)
    assert (young.fresh, young.removed, young.failed) == (1, [], [])
    dry = alice.collections.remove_temporaries(HOME, min_age=0, dry_run=True)
    assert [t.path for t in dry.removed] == [backup]
    assert _left(irods_emulator) == sorted([PATH, backup])
    swept = alice.collections.remove_temporaries(HOME, min_age=0)
    assert ([t.path for t in swept.removed], swept.failed) == ([backup], [])
    assert swept.bytes_removed == 3
    assert _left(irods_emulator) == [PATH]
    assert alice.data_objects.read(PATH) == b"new one"


def test_a_backup_of_a_path_that_still_holds_the_old_bytes_is_swept(irods_emulator, alice) -> None:
    """Killed after the backup was proven but before the copy onto the path: the path holds the old bytes
    whole, so the backup is a duplicate."""
    backup = _copyover.backup_name(PATH)
    alice.data_objects.write(backup, b"old")
    alice.metadata.add(backup, AVU(KEEP_ATTRIBUTE, f"old {_sha2(b'old')}"), AVU(KEEP_ATTRIBUTE, "new sha2:x"))
    swept = alice.collections.remove_temporaries(HOME, min_age=0)
    assert [t.path for t in swept.removed] == [backup]
    assert _left(irods_emulator) == [PATH]


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "unrecorded"])
def test_a_backup_of_a_partial_path_is_kept_and_reported(irods_emulator, alice, recorded) -> None:
    """The path holds neither recorded content and no good replica (a copy onto it that failed leaves the
    replica it wrote stale: rsDataObjClose.cpp:545-553 at irods 4.3.2), or the backup records nothing to
    compare with: the backup may be the only good copy. It is kept, and reported under ``failed`` naming
    the path, so the cleanup operator fails and a person looks."""
    backup = _copyover.backup_name(PATH)
    alice.data_objects.write(backup, b"old")
    if recorded:
        alice.metadata.add(backup, AVU(KEEP_ATTRIBUTE, f"old {_sha2(b'old')}"), AVU(KEEP_ATTRIBUTE, "new x"))
    alice.data_objects.write(PATH, b"ol")
    with irods_emulator.model.lock:
        irods_emulator.model.data_objects[PATH].replicas[0].status = "0"
    swept = alice.collections.remove_temporaries(HOME, min_age=0)
    assert swept.removed == []
    assert [t.path for t in swept.failed] == [backup]
    error = swept.failed[0].error or ""
    assert error.startswith("kept: ")
    assert (PATH in error) if recorded else (KEEP_ATTRIBUTE in error)
    assert alice.data_objects.read(backup) == b"old"
    assert _left(irods_emulator) == sorted([PATH, backup])


def test_a_backup_of_a_path_written_since_is_swept(irods_emulator, alice) -> None:
    """The path holds other content in a good replica: someone uploaded since the interrupted overwrite, so
    the backup is obsolete (putting it back would revert their upload)."""
    backup = _copyover.backup_name(PATH)
    alice.data_objects.write(backup, b"old")
    alice.metadata.add(backup, AVU(KEEP_ATTRIBUTE, f"old {_sha2(b'old')}"), AVU(KEEP_ATTRIBUTE, "new x"))
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods:
        rods.data_objects.write(PATH, b"rods 2")
    swept = alice.collections.remove_temporaries(HOME, min_age=0)
    assert ([t.path for t in swept.removed], swept.failed) == ([backup], [])
    assert alice.data_objects.read(PATH) == b"rods 2"
    assert _left(irods_emulator) == [PATH]


def test_a_backup_whose_path_is_gone_is_kept(irods_emulator, alice) -> None:
    """Nothing at the path any more: the backup holds the only copy of what was there; kept, reported."""
    backup = _copyover.backup_name(PATH)
    alice.data_objects.write(backup, b"old")
    alice.metadata.add(backup, AVU(KEEP_ATTRIBUTE, f"old {_sha2(b'old')}"))
    with IrodsSession(irods_emulator.base_url, auth=BasicAuth("rods", "rods-emulator")) as rods:
        rods.data_objects.remove(PATH, no_trash=True)
    swept = alice.collections.remove_temporaries(HOME, min_age=0)
    assert ([t.path for t in swept.failed], swept.removed) == ([backup], [])
    assert "is gone" in (swept.failed[0].error or "")
    assert _left(irods_emulator) == [backup]
