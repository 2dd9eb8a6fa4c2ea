"""IrodsCopyOperator and IrodsMoveOperator honour a destination_path ending in ``/``: "into this collection".

Before, the trailing ``/`` was dropped with the rest of the path normalisation, so copying ``a.csv`` to
``.../archive/`` made a data object named ``archive`` (and a later upload into ``archive/`` then failed on
it). The transfer operators, the planner and ``IrodsFileSystem.mv`` already read ``dest/`` as "into ``dest``,
created if missing" (icp/imv put a source into an existing collection the same way).
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError, IrodsUsageError
from irods_provider.operators.irods import IrodsCopyOperator, IrodsMoveOperator

HOME = "/tempZone/home/rods"


def run(op, try_number: int = 1):
    class _Ti:
        pass

    ti = _Ti()
    ti.try_number = try_number  # type: ignore[attr-defined]
    return op.execute(context={"ti": ti})


@pytest.fixture
def src(session) -> str:
    session.collections.create(f"{HOME}/src/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/src/a.csv", b"1,2,3\n")
    session.data_objects.write(f"{HOME}/src/sub/b.bin", bytes(range(256)))
    return f"{HOME}/src"


def test_copying_an_object_into_a_new_collection(session, src) -> None:
    copy = IrodsCopyOperator(task_id="c", source_path=f"{src}/a.csv", destination_path=f"{HOME}/arch/d/")
    result = run(copy)
    assert result == {"source": f"{src}/a.csv", "destination": f"{HOME}/arch/d/a.csv"}
    assert session.collections.exists(f"{HOME}/arch/d")  # a collection, not a data object named "d"
    assert not session.data_objects.exists(f"{HOME}/arch/d")
    assert session.data_objects.read(f"{HOME}/arch/d/a.csv") == b"1,2,3\n"


def test_copying_an_object_into_an_existing_collection(session, src) -> None:
    session.collections.create(f"{HOME}/arch")
    result = run(IrodsCopyOperator(task_id="c", source_path=f"{src}/a.csv", destination_path=f"{HOME}/arch/"))
    assert result["destination"] == f"{HOME}/arch/a.csv"
    assert session.data_objects.read(f"{HOME}/arch/a.csv") == b"1,2,3\n"
    with pytest.raises(IrodsAlreadyExistsError) as again:  # overwrite stays explicit
        run(IrodsCopyOperator(task_id="c", source_path=f"{src}/a.csv", destination_path=f"{HOME}/arch/"))
    assert again.value.path == f"{HOME}/arch/a.csv"


def test_copying_a_collection_into_a_collection(session, src) -> None:
    result = run(IrodsCopyOperator(task_id="c", source_path=src, destination_path=f"{HOME}/snap/"))
    assert result["destination"] == f"{HOME}/snap/src"
    assert session.data_objects.read(f"{HOME}/snap/src/sub/b.bin") == bytes(range(256))
    assert session.data_objects.read(f"{HOME}/snap/src/a.csv") == b"1,2,3\n"


def test_a_plan_only_copy_into_a_missing_collection_creates_nothing(session, src) -> None:
    result = run(
        IrodsCopyOperator(task_id="c", source_path=src, destination_path=f"{HOME}/snap/", plan_only=True)
    )
    assert result["destination"] == f"{HOME}/snap/src"
    assert not session.collections.exists(f"{HOME}/snap")


def test_without_the_slash_the_destination_is_still_the_new_path(session, src) -> None:
    run(IrodsCopyOperator(task_id="c", source_path=f"{src}/a.csv", destination_path=f"{HOME}/a2.csv"))
    assert session.data_objects.read(f"{HOME}/a2.csv") == b"1,2,3\n"
    with pytest.raises(IrodsUsageError, match="the same"):
        run(IrodsCopyOperator(task_id="c", source_path=f"{src}/a.csv", destination_path=f"{src}/a.csv/"))


def test_moving_an_object_and_a_collection_into_a_collection(session, src) -> None:
    moved = run(IrodsMoveOperator(task_id="m", source_path=f"{src}/a.csv", destination_path=f"{HOME}/done/"))
    assert moved == {"source": f"{src}/a.csv", "destination": f"{HOME}/done/a.csv", "kind": "data_object"}
    assert session.data_objects.read(f"{HOME}/done/a.csv") == b"1,2,3\n"
    assert not session.data_objects.exists(f"{HOME}/done")
    assert not session.data_objects.exists(f"{src}/a.csv")
    moved = run(IrodsMoveOperator(task_id="m", source_path=f"{src}/sub", destination_path=f"{HOME}/done/"))
    assert moved["destination"] == f"{HOME}/done/sub"
    assert session.data_objects.read(f"{HOME}/done/sub/b.bin") == bytes(range(256))


def test_a_retried_move_into_a_collection_finds_its_earlier_rename(session, src) -> None:
    run(IrodsMoveOperator(task_id="m", source_path=f"{src}/a.csv", destination_path=f"{HOME}/done/"))
    again = run(
        IrodsMoveOperator(task_id="m", source_path=f"{src}/a.csv", destination_path=f"{HOME}/done/"),
        try_number=2,
    )
    assert again["destination"] == f"{HOME}/done/a.csv"
    assert again["already_moved"] is True


def test_a_plan_only_copy_of_a_data_object_copies_nothing(session, src) -> None:
    source, into = f"{src}/a.csv", f"{HOME}/b/"
    result = run(IrodsCopyOperator(task_id="c", source_path=source, destination_path=into, plan_only=True))
    assert result == {"source": f"{src}/a.csv", "destination": f"{HOME}/b/a.csv", "dry_run": True}
    assert not session.collections.exists(f"{HOME}/b")
    to = f"{HOME}/c.csv"
    run(IrodsCopyOperator(task_id="c", source_path=f"{src}/a.csv", destination_path=to, plan_only=True))
    assert not session.data_objects.exists(f"{HOME}/c.csv")


@pytest.mark.parametrize("mode", ["copy", "move"])
def test_publishing_into_a_scope_that_holds_other_datasets(session, src, mode) -> None:
    from irods_provider.operators.publish import IrodsPublishOperator

    session.collections.create(f"{HOME}/public/older", intermediates=True)
    session.data_objects.write(f"{HOME}/public/older/a.csv", b"older")
    result = run(
        IrodsPublishOperator(
            task_id="p", source_path=src, destination_path=f"{HOME}/public/", mode=mode, metadata={"k": "v"}
        )
    )
    assert result["destination"] == f"{HOME}/public/src"
    assert session.data_objects.read(f"{HOME}/public/src/a.csv") == b"1,2,3\n"
    assert not session.data_objects.exists(f"{HOME}/public/a.csv")  # not spilled among the other datasets
    assert session.data_objects.read(f"{HOME}/public/older/a.csv") == b"older"
