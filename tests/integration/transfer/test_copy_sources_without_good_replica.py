"""A server-side copy never makes a good replica out of an object that cannot be read: the source side.

A write whose agent died leaves its replica stale (irods 4.3.4 initServer.cpp
``finalize_replica_opened_for_create_or_write``), and the server still opens such an object for reading:
a stale replica votes low, not zero (voting.cpp:42-93), so ``rsDataObjCopy`` (open_source_data_obj,
rsDataObjCopy.cpp:92-114) copies its bytes, and the copy's target closes good (rsDataObjClose.cpp:145
skips the checksum check of a stale source). A tree copy or a publish of a collection holding such a
member turned the failed write's partial bytes into a good, complete-looking object. An object another
client is writing votes zero (HIERARCHY_ERROR) and failed the whole tree copy half-way.

Tree copies now leave both out, reported as skipped with the reason, as tree downloads do (also a member
another client starts writing after the plan).
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client.transfer import FileStatus
from irods_provider.client.transfer._leftout import BEING_WRITTEN
from irods_provider.client.transfer._leftout import NO_GOOD_REPLICA as NO_GOOD_REPLICA_REASON
from irods_provider.client.transfer._tree import copy_collection

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
SRC, DST = f"{HOME}/src", f"{HOME}/dst"
OLD = b"the good old content of this object"


def leave_stale(session: IrodsSession, server: Any, path: str) -> None:
    """``path`` (holding ``OLD``) rewritten by a writer that died after 4 bytes: its only replica is stale."""
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"half", parallel_write_handle=handle, stream_index=0, offset=0)
    assert server.drop_parallel_writes(path) == 1
    assert [r.status for r in session.data_objects.replicas(path)] == ["0"]


def start_writing(session: IrodsSession, path: str) -> str:
    """Another client's open parallel-write handle on ``path``, 2 bytes written (the object is locked)."""
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"xx", parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


@pytest.fixture
def tree(session: IrodsSession, irods_emulator: Any) -> dict[str, str]:
    """SRC with a complete object, one left stale and (in a sub-collection, odd names) one being written."""
    session.collections.create(f"{SRC}/sub dir", intermediates=True)
    paths = {
        "ok": f"{SRC}/ok.txt",
        "stale": f"{SRC}/stale 'ü'.txt",
        "busy": f"{SRC}/sub dir/busy #[1]%_.txt",
    }
    for path in paths.values():
        session.data_objects.write(path, OLD)
    leave_stale(session, irods_emulator, paths["stale"])
    paths["handle"] = start_writing(session, paths["busy"])
    return paths


def test_a_tree_copy_leaves_out_members_without_a_good_replica(session: IrodsSession, tree) -> None:
    report = copy_collection(session, SRC, DST)

    by_source = {f.source: f for f in report.files}
    assert by_source[tree["ok"]].status is FileStatus.TRANSFERRED
    assert session.data_objects.read(f"{DST}/ok.txt") == OLD
    assert by_source[tree["stale"]].status is FileStatus.SKIPPED
    assert by_source[tree["stale"]].reason == NO_GOOD_REPLICA_REASON
    assert by_source[tree["busy"]].status is FileStatus.SKIPPED
    assert by_source[tree["busy"]].reason == BEING_WRITTEN
    # the failed write's 4 bytes never became a good object at the destination, nor anything of the busy one
    assert not session.data_objects.exists(f"{DST}/stale 'ü'.txt")
    assert not session.data_objects.exists(f"{DST}/sub dir/busy #[1]%_.txt")
    session.data_objects.parallel_write_shutdown(tree["handle"])


def test_a_member_another_client_starts_writing_after_the_plan_is_left_out(
    session: IrodsSession, irods_emulator: Any
) -> None:
    session.collections.create(SRC)
    for name in ("a.txt", "b.txt"):
        session.data_objects.write(f"{SRC}/{name}", OLD)
    real_copy = session.data_objects.copy
    handles: list[str] = []

    def copy(source: str, target: str, **kwargs: Any) -> None:
        if source.endswith("/b.txt") and not handles:
            handles.append(start_writing(session, source))  # between the plan and this member's copy
        real_copy(source, target, **kwargs)

    session.data_objects.copy = copy  # type: ignore[method-assign]
    report = copy_collection(session, SRC, DST)

    by_source = {f.source: f for f in report.files}
    assert by_source[f"{SRC}/a.txt"].status is FileStatus.TRANSFERRED
    assert by_source[f"{SRC}/b.txt"].status is FileStatus.SKIPPED
    assert by_source[f"{SRC}/b.txt"].reason == BEING_WRITTEN
    assert session.data_objects.read(f"{DST}/a.txt") == OLD
    assert not session.data_objects.exists(f"{DST}/b.txt")
    session.data_objects.parallel_write_shutdown(handles[0])
