"""IrodsPublishOperator publishes a dataset whole or not at all: a member without a good replica refuses it.

The server copies a stale replica's bytes (a stale replica votes low, not zero, for the copy's read: irods
4.3.4 voting.cpp:42-93, rsDataObjCopy.cpp:92-114), so a member whose write failed was published as a good,
complete-looking object holding the failed write's partial bytes, with the dataset's AVUs and ACLs. A member
another client is still writing failed the copy half-way, after other members were published.
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.client import IrodsSession
from irods_provider.client._locks import NO_GOOD_REPLICA
from irods_provider.exceptions import IrodsLockedError, IrodsResponseError
from irods_provider.operators.publish import IrodsPublishOperator

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
SRC, DST = f"{HOME}/staging/ds1", f"{HOME}/published/ds1"


@pytest.fixture
def dataset(irods: Any, session: IrodsSession) -> dict[str, str]:
    session.collections.create(f"{SRC}/raw", intermediates=True)
    paths = {"a": f"{SRC}/a.csv", "b": f"{SRC}/raw/b 'ü'.bin"}
    for path in paths.values():
        session.data_objects.write(path, b"complete content of " + path.encode())
    return paths


def _writer(session: IrodsSession, path: str) -> str:
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"half", parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


def _publish() -> None:
    IrodsPublishOperator(
        task_id="publish", source_path=SRC, destination_path=DST, metadata={"dataset": "ds1"}
    ).execute(context={})


def test_a_member_left_stale_refuses_the_publish_before_anything_is_copied(irods, session, dataset) -> None:
    _writer(session, dataset["b"])
    assert irods.drop_parallel_writes(dataset["b"]) == 1  # its writer died: the replica is stale

    with pytest.raises(IrodsResponseError) as raised:
        _publish()
    assert raised.value.irods_code == NO_GOOD_REPLICA
    assert raised.value.path == dataset["b"]
    assert not session.collections.exists(DST)


def test_a_member_being_written_refuses_the_publish_before_anything_is_copied(
    irods, session, dataset
) -> None:
    handle = _writer(session, dataset["b"])
    try:
        with pytest.raises(IrodsLockedError) as raised:
            _publish()
        assert raised.value.path == dataset["b"]
        assert not session.collections.exists(DST)
    finally:
        session.data_objects.parallel_write_shutdown(handle)


def test_the_copy_operator_names_why_a_single_object_cannot_be_copied(irods, session, dataset) -> None:
    """It said IrodsNotFoundError "nothing to copy at this path" for an object that is there."""
    from irods_provider.operators.irods import IrodsCopyOperator

    def copy(source: str) -> None:
        IrodsCopyOperator(task_id="copy", source_path=source, destination_path=f"{HOME}/c.bin").execute({})

    handle = _writer(session, dataset["b"])
    try:
        with pytest.raises(IrodsLockedError) as raised:
            copy(dataset["b"])
        assert raised.value.path == dataset["b"]
    finally:
        session.data_objects.parallel_write_shutdown(handle)
    _writer(session, dataset["a"])
    assert irods.drop_parallel_writes(dataset["a"]) == 1
    with pytest.raises(IrodsResponseError) as raised:
        copy(dataset["a"])
    assert raised.value.irods_code == NO_GOOD_REPLICA
    assert not isinstance(raised.value, IrodsLockedError)
    assert not session.data_objects.exists(f"{HOME}/c.bin")


def _move() -> None:
    IrodsPublishOperator(
        task_id="publish", source_path=SRC, destination_path=DST, metadata={"dataset": "ds1"}, mode="move"
    ).execute(context={})


def test_a_member_left_stale_refuses_a_publish_by_move_before_the_rename(irods, session, dataset) -> None:
    """mode="move" renamed the collection with its stale member and gave that member the dataset's AVUs and
    ACLs, reporting it transferred with the failed write's size: published as complete."""
    _writer(session, dataset["b"])
    assert irods.drop_parallel_writes(dataset["b"]) == 1

    with pytest.raises(IrodsResponseError) as raised:
        _move()
    assert raised.value.irods_code == NO_GOOD_REPLICA
    assert not isinstance(raised.value, IrodsLockedError)
    assert raised.value.path == dataset["b"]
    assert not session.collections.exists(DST)
    assert session.metadata.list(dataset["a"]) == []  # nothing published, the source left as it was


def test_a_member_being_written_refuses_a_publish_by_move_before_the_rename(irods, session, dataset) -> None:
    handle = _writer(session, dataset["b"])
    try:
        with pytest.raises(IrodsLockedError) as raised:
            _move()
        assert raised.value.path == dataset["b"]
        assert not session.collections.exists(DST)
        assert session.collections.exists(SRC)
    finally:
        session.data_objects.parallel_write_shutdown(handle)


def test_a_publish_by_move_of_good_members_reports_them_at_their_new_paths(irods, session, dataset) -> None:
    result = IrodsPublishOperator(
        task_id="publish", source_path=SRC, destination_path=DST, metadata={"dataset": "ds1"}, mode="move"
    ).execute(context={})
    assert result["published"] == 2
    assert not session.collections.exists(SRC)
    for path in dataset.values():
        moved = DST + path[len(SRC) :]
        assert session.data_objects.read(moved) == b"complete content of " + path.encode()
        assert [(a.attribute, a.value) for a in session.metadata.list(moved)] == [("dataset", "ds1")]
