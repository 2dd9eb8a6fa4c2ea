"""A retried operator (same arguments, a later try) ends as the first try would have: idempotent re-runs."""

from __future__ import annotations

from types import SimpleNamespace

from irods_provider.operators.irods import IrodsMoveOperator
from irods_provider.operators.metadata import IrodsPutMetadataOperator

HOME = "/tempZone/home/rods"


def test_put_metadata_add_twice_is_not_an_error(session) -> None:
    session.collections.create(f"{HOME}/run")
    op = IrodsPutMetadataOperator(task_id="t", path=f"{HOME}/run", metadata={"project": "x", "n": 1})
    first = op.execute({})
    again = IrodsPutMetadataOperator(task_id="t", path=f"{HOME}/run", metadata={"project": "x", "n": 1})
    assert again.execute({}) == first
    assert sorted((a.attribute, a.value) for a in session.metadata.list(f"{HOME}/run")) == [
        ("n", "1"),
        ("project", "x"),
    ]


def test_a_retried_move_whose_first_try_moved_succeeds(session) -> None:
    """The first try's rename was applied but its reply lost: the retry finds the source gone and the
    destination there, and reports the move instead of failing with 'nothing to move'."""
    session.data_objects.write(f"{HOME}/a.txt", b"abc")
    op = IrodsMoveOperator(task_id="m", source_path=f"{HOME}/a.txt", destination_path=f"{HOME}/b.txt")
    first = op.execute({})
    retry = IrodsMoveOperator(task_id="m", source_path=f"{HOME}/a.txt", destination_path=f"{HOME}/b.txt")
    context = {"ti": SimpleNamespace(try_number=2)}
    assert retry.execute(context) == {**first, "already_moved": True}


def test_a_missing_source_still_fails_a_first_try_or_a_retry_without_destination(session) -> None:
    import pytest

    from irods_provider.exceptions import IrodsNotFoundError

    session.data_objects.write(f"{HOME}/there.txt", b"x")
    first_try = IrodsMoveOperator(
        task_id="m", source_path=f"{HOME}/gone", destination_path=f"{HOME}/there.txt"
    )
    with pytest.raises(IrodsNotFoundError, match="nothing to move"):
        first_try.execute({"ti": SimpleNamespace(try_number=1)})
    nowhere = IrodsMoveOperator(task_id="m", source_path=f"{HOME}/gone", destination_path=f"{HOME}/nowhere")
    with pytest.raises(IrodsNotFoundError, match="nothing to move"):
        nowhere.execute({"ti": SimpleNamespace(try_number=3)})


def test_a_retried_create_object_finds_its_own_earlier_object(session) -> None:
    """The first try published the object (and its AVUs) but died before it could report: the retry, with
    overwrite=False, finds the same bytes there and succeeds; different bytes are still refused."""
    import pytest

    from irods_provider.exceptions import IrodsAlreadyExistsError
    from irods_provider.operators.catalog import IrodsCreateObjectOperator

    path = f"{HOME}/runs/manifest.json"
    args = {"task_id": "w", "path": path, "content": '{"n": 1}', "metadata": {"kind": "manifest"}}
    first = IrodsCreateObjectOperator(**args).execute({"ti": SimpleNamespace(try_number=1)})
    again = IrodsCreateObjectOperator(**args).execute({"ti": SimpleNamespace(try_number=2)})
    assert again == {**first, "already_created": True}
    assert [(a.attribute, a.value) for a in session.metadata.list(path)] == [("kind", "manifest")]
    with pytest.raises(IrodsAlreadyExistsError):  # a first try never takes an existing object for its own
        IrodsCreateObjectOperator(**args).execute({"ti": SimpleNamespace(try_number=1)})
    changed = IrodsCreateObjectOperator(**{**args, "content": '{"n": 2}'})
    with pytest.raises(IrodsAlreadyExistsError):  # other bytes: not this task's object
        changed.execute({"ti": SimpleNamespace(try_number=2)})
    assert session.data_objects.read(path) == b'{"n": 1}'


def test_a_retried_delete_takes_what_is_gone_as_deleted(session) -> None:
    """paths=[a, b]: the first try deleted a, then failed on b; the retry must not fail on a."""
    import pytest

    from irods_provider.exceptions import IrodsNotFoundError
    from irods_provider.operators.irods import IrodsDeleteOperator

    session.data_objects.write(f"{HOME}/b.txt", b"b")
    op = IrodsDeleteOperator(task_id="d", paths=[f"{HOME}/a.txt", f"{HOME}/b.txt"])
    with pytest.raises(IrodsNotFoundError):  # a first try still refuses a missing path
        op.execute({"ti": SimpleNamespace(try_number=1)})
    result = op.execute({"ti": SimpleNamespace(try_number=2)})
    assert (result["deleted"], result["missing"]) == ([f"{HOME}/b.txt"], [f"{HOME}/a.txt"])
    assert not session.data_objects.exists(f"{HOME}/b.txt")


def test_a_retried_ticket_removal_finds_it_removed(session) -> None:
    import pytest

    from irods_provider.exceptions import IrodsNotFoundError
    from irods_provider.operators.catalog import IrodsRemoveTicketOperator

    ticket = session.tickets.create(HOME)
    assert IrodsRemoveTicketOperator(task_id="r", ticket=ticket).execute({}) == {"removed": True}
    with pytest.raises(IrodsNotFoundError):
        IrodsRemoveTicketOperator(task_id="r", ticket=ticket).execute({"ti": SimpleNamespace(try_number=1)})
    again = IrodsRemoveTicketOperator(task_id="r", ticket=ticket)
    assert again.execute({"ti": SimpleNamespace(try_number=2)}) == {"removed": True, "already_removed": True}


def test_a_retried_publish_move_finishes_the_metadata_and_permissions(irods, session) -> None:
    """The first try renamed the collection, then died before its AVUs and ACLs: the retry adds them."""
    from irods_provider.operators.publish import IrodsPublishOperator

    session.collections.create(f"{HOME}/src")
    session.data_objects.write(f"{HOME}/src/a.dat", b"abc")
    session.collections.rename(f"{HOME}/src", f"{HOME}/pub")  # what the first try did before it died
    op = IrodsPublishOperator(
        task_id="p",
        source_path=f"{HOME}/src",
        destination_path=f"{HOME}/pub",
        mode="move",
        metadata={"dataset": "d1"},
        permissions={"alice": "read"},
    )
    result = op.execute({"ti": SimpleNamespace(try_number=2)})
    assert (result["published"], result["files"][0]["destination"]) == (1, f"{HOME}/pub/a.dat")
    assert [(a.attribute, a.value) for a in session.metadata.list(f"{HOME}/pub/a.dat")] == [("dataset", "d1")]
    with irods_hook("irods_alice") as alice:
        assert alice.get_conn().data_objects.read(f"{HOME}/pub/a.dat") == b"abc"


def irods_hook(conn_id: str):
    from irods_provider.hooks.irods import IrodsHook

    return IrodsHook(conn_id)
