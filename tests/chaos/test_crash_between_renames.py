"""``kill -9`` exactly between an overwrite's two renames, then the next attempt.

An iRODS rename onto an existing data object is refused (chlRenameObject: CAT_NAME_EXISTS_AS_DATAOBJ,
plugins/database/src/db_plugin.cpp:10775-10786 at irods 4.3.4; the HTTP API's rename passes no force flag,
endpoints/data_objects/src/main.cpp:2274 at 0.7.0), so the engine's publish moves the old object aside to
``.<name>.irods-old-<key>-<nonce>`` and then renames the verified temporary onto the final name. A worker
killed between the two leaves the final name empty and the old object moved aside. The next attempt must
find it whatever it knows (the destination path; not the killed attempt's source state): published, it
removes it; failed, it puts it back onto the final name; never both lost. The kill point is found by a
calibration run in the same worker: the index of its second rename request (see ``_crash_harness``).
"""

from __future__ import annotations

import io
import posixpath
import signal
from pathlib import Path
from typing import Any

import _crash_worker as worker
import pytest
from _crash_harness import CHAOS_TEST_SECONDS, OLD, ROOT, KillSwitch, Snapshot, Zygote

from irods_provider.client.transfer import (
    OverwritePolicy,
    open_writer,
    parallel_upload,
    upload_object,
)
from irods_provider.client.transfer._upload import parked_start

pytestmark = [pytest.mark.timeout(CHAOS_TEST_SECONDS), pytest.mark.slow]

NAME = "data.bin"
RENAME = "data-objects rename"
SIZE = 3 * worker.CHUNK + 4321
PATHS = [
    "parallel_upload",
    "upload_object",
    "open_writer",
    "fs_put",
    "fs_open_wb",
    "local_to_irods_operator_overwrite",
]


class Failing(io.RawIOBase):
    """A source that breaks after its first chunk (the retry fails while it writes its temporary)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pos >= worker.CHUNK:
            raise OSError("the source broke")
        n = min(len(buffer), worker.CHUNK - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _job(server: Any, tmp_path: Path, path: str, label: str, data: bytes) -> tuple[dict[str, Any], str]:
    """A collection whose ``data.bin`` holds :data:`OLD`, and the worker's arguments to replace it."""
    coll = f"{ROOT}/between/{path}/{label}"
    base = {"base_url": server.base_url, "user": "rods", "password": "rods-emulator"}
    with worker._session(base) as session:
        session.collections.create(coll, intermediates=True)
        session.data_objects.write(f"{coll}/{NAME}", OLD)
    local = tmp_path / label / NAME
    local.parent.mkdir(parents=True)
    local.write_bytes(data)
    return dict(base, local=str(local), remote=f"{coll}/{NAME}", remote_dir=coll), coll


def _killed_between_renames(
    path: str, zygote: Zygote, switch: KillSwitch, server: Any, tmp_path: Path, data: bytes
) -> tuple[dict[str, Any], str]:
    """Kill a worker running ``path`` once the server moved the old object aside (its first rename,
    handled; the answer lost), so the second is never sent; the state it leaves is checked (final name
    empty, the old object whole under the name the next attempt looks for)."""
    args, _ = _job(server, tmp_path, path, "calibration", data)
    assert zygote.run(path, args, switch, 10**6, after=False) == 0
    renames = [op for _, op in sorted(switch.ops.items()) if op == RENAME]
    assert len(renames) == 2, switch.ops  # the old object aside, then the temporary onto the final name
    args, coll = _job(server, tmp_path, path, "killed", data)
    assert zygote.run(path, args, switch, 1, after=True, on_op=RENAME) == -signal.SIGKILL
    switch.settle()
    snap = Snapshot.take(server.model, coll)
    final = f"{coll}/{NAME}"
    assert final not in snap.objects
    aside = [p for p in snap.objects if p.startswith(parked_start(final))]
    assert [snap.objects[p][0] for p in aside] == [OLD]
    return args, coll


def _left(server: Any, coll: str) -> dict[str, bytes]:
    return {posixpath.basename(p): o[0] for p, o in Snapshot.take(server.model, coll).objects.items()}


@pytest.mark.parametrize("path", PATHS)
def test_the_retry_publishes_and_removes_the_old_object_moved_aside(
    path: str, zygote: Zygote, switch: KillSwitch, irods_emulator: Any, tmp_path: Path
) -> None:
    data = bytes(range(256)) * (SIZE // 256) + b"x" * (SIZE % 256)
    args, coll = _killed_between_renames(path, zygote, switch, irods_emulator, tmp_path, data)
    worker.WRITE_PATHS[path](args)
    assert _left(irods_emulator, coll) == {NAME: data}


def test_a_retry_of_a_changed_source_finds_the_old_object_moved_aside(
    zygote: Zygote, switch: KillSwitch, irods_emulator: Any, tmp_path: Path
) -> None:
    """The retry's source differs from the killed attempt's (another resume key, another temporary): the
    object moved aside is still found, by the destination path, and removed once the new one is in place."""
    data = b"a" * SIZE
    args, coll = _killed_between_renames("upload_object", zygote, switch, irods_emulator, tmp_path, data)
    Path(args["local"]).write_bytes(b"b" * (SIZE + 1))
    worker.WRITE_PATHS["upload_object"](args)
    left = _left(irods_emulator, coll)
    assert left.pop(NAME) == b"b" * (SIZE + 1)
    assert not [n for n in left if ".irods-old-" in n], left


def _fail_parallel_upload(session: Any, remote: str, data: bytes) -> None:
    parallel_upload(session, Failing(data), remote, config=worker._config(), size=len(data))


def _fail_upload_object(session: Any, remote: str, data: bytes) -> None:
    upload_object(
        session,
        Failing(data),
        remote,
        size=len(data),
        config=worker._config(),
        overwrite=OverwritePolicy.OVERWRITE,
    )


def _fail_open_writer(session: Any, remote: str, data: bytes) -> None:
    with open_writer(session, remote, config=worker._config(), size=len(data)) as writer:
        writer.write(data[: worker.CHUNK])
        raise OSError("the producer broke")


FAILING = {
    "parallel_upload": _fail_parallel_upload,
    "upload_object": _fail_upload_object,
    "open_writer": _fail_open_writer,
}


@pytest.mark.parametrize("path", sorted(FAILING))
def test_a_failed_retry_puts_the_old_object_back(
    path: str, zygote: Zygote, switch: KillSwitch, irods_emulator: Any, tmp_path: Path
) -> None:
    """The retry fails before it publishes: the final name holds the old object again, whole, and nothing
    is left moved aside (before: the final name stayed empty, the old object hidden)."""
    data = b"n" * SIZE
    args, coll = _killed_between_renames(path, zygote, switch, irods_emulator, tmp_path, data)
    with worker._session(args) as session, pytest.raises(OSError, match="broke"):
        FAILING[path](session, args["remote"], data)
    left = _left(irods_emulator, coll)
    assert left.pop(NAME, None) == OLD
    assert not [n for n in left if ".irods-old-" in n], left
