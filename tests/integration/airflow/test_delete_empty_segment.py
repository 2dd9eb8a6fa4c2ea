"""IrodsDeleteOperator refuses a path with an empty segment (a trailing ``/`` or a ``//``) before deleting.

``paths="/zone/home/u/scratch/{{ params.run }}"`` with ``run`` rendered empty names ``scratch/``, which the
path rule normalises to ``scratch`` itself: with ``recurse=True`` the whole scratch collection went, every run
in it. ``.../scratch/{{ params.run }}/*.tmp`` with ``glob=True`` likewise widened to ``scratch/*.tmp``.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.operators.irods import IrodsDeleteOperator

HOME = "/tempZone/home/rods"
SCRATCH = f"{HOME}/scratch"


@pytest.fixture
def scratch(session) -> str:
    for run in ("run1", "run2"):
        session.collections.create(f"{SCRATCH}/{run}", intermediates=True)
        session.data_objects.write(f"{SCRATCH}/{run}/a.tmp", run.encode())
    session.data_objects.write(f"{SCRATCH}/keep.tmp", b"keep")
    return SCRATCH


def objects(irods) -> list[str]:
    with irods.model.lock:
        return sorted(p for p in irods.model.data_objects if p.startswith(SCRATCH + "/"))


@pytest.mark.parametrize(
    ("template", "glob"),
    [
        (SCRATCH + "/{{ params.run }}", False),
        (SCRATCH + "/{{ params.run }}/*.tmp", True),
        (["/tempZone/home/rods/other", SCRATCH + "/{{ params.run }}"], False),
    ],
)
def test_an_empty_rendered_segment_deletes_nothing(irods, scratch, template, glob) -> None:
    before = objects(irods)
    op = IrodsDeleteOperator(task_id="d", paths=template, recurse=True, glob=glob, ignore_missing=True)
    op.render_template_fields(context={"params": {"run": ""}})  # type: ignore[arg-type]
    with pytest.raises(IrodsInvalidPathError, match=r"paths .* empty segment") as refused:
        op.execute({})
    assert refused.value.path is not None
    assert refused.value.path.startswith(SCRATCH + "/")
    assert objects(irods) == before


def test_a_rendered_run_deletes_only_that_run(irods, scratch) -> None:
    op = IrodsDeleteOperator(task_id="d", paths=SCRATCH + "/{{ params.run }}", recurse=True)
    op.render_template_fields(context={"params": {"run": "run1"}})  # type: ignore[arg-type]
    assert op.execute({})["deleted"] == [f"{SCRATCH}/run1"]
    assert objects(irods) == [f"{SCRATCH}/keep.tmp", f"{SCRATCH}/run2/a.tmp"]


def test_a_move_whose_source_rendered_an_empty_segment_moves_nothing(irods, scratch) -> None:
    from irods_provider.operators.irods import IrodsMoveOperator

    before = objects(irods)
    op = IrodsMoveOperator(
        task_id="m", source_path=SCRATCH + "/{{ params.run }}", destination_path=f"{HOME}/archive/"
    )
    op.render_template_fields(context={"params": {"run": ""}})  # type: ignore[arg-type]
    with pytest.raises(IrodsInvalidPathError, match=r"source_path .* empty segment"):
        op.execute({})
    assert objects(irods) == before


def test_publishing_or_granting_a_rendered_empty_segment_exposes_nothing(irods, scratch, session) -> None:
    from irods_provider.operators.catalog import IrodsSetPermissionsOperator
    from irods_provider.operators.publish import IrodsPublishOperator

    grant = IrodsSetPermissionsOperator(
        task_id="g", path=SCRATCH + "/{{ params.run }}", permissions={"alice": "read_object"}, recursive=True
    )
    publish = IrodsPublishOperator(
        task_id="p",
        source_path=SCRATCH + "/{{ params.run }}",
        destination_path=f"{HOME}/public/",
        permissions={"alice": "read_object"},
    )
    for op in (grant, publish):
        op.render_template_fields(context={"params": {"run": ""}})  # type: ignore[arg-type]
        with pytest.raises(IrodsInvalidPathError, match="empty segment"):
            op.execute({})
    readers = {p.name for p in session.data_objects.stat(f"{SCRATCH}/keep.tmp").permissions}
    assert "alice" not in readers
    assert not session.collections.exists(f"{HOME}/public")


def test_a_cleanup_whose_path_rendered_an_empty_segment_removes_nothing(irods, scratch, session) -> None:
    """The cleanup operator walks its collection recursively: ``scratch/`` cleaned every run's temporaries."""
    from irods_provider.client.transfer._resume import temp_name
    from irods_provider.operators.cleanup import IrodsCleanupTemporaryObjectsOperator

    abandoned = [temp_name(f"{SCRATCH}/run{n}/big.bin", f"ab00000000000{n}01") for n in (1, 2)]
    for path in abandoned:
        session.data_objects.write(path, b"partial")
    before = objects(irods)

    def clean(run: str) -> dict:
        op = IrodsCleanupTemporaryObjectsOperator(
            task_id="c", path=SCRATCH + "/{{ params.run }}", min_age_seconds=0
        )
        op.render_template_fields(context={"params": {"run": run}})  # type: ignore[arg-type]
        return op.execute({})

    with pytest.raises(IrodsInvalidPathError, match=r"path .* empty segment"):
        clean("")
    assert objects(irods) == before
    assert [t["path"] for t in clean("run1")["removed"]] == [abandoned[0]]
    assert objects(irods) == sorted(set(before) - {abandoned[0]})


def test_a_ticket_whose_path_rendered_an_empty_segment_is_not_created(irods, scratch, session) -> None:
    """A ticket on a collection opens everything below it (iRODS 4.3.4 mid_level_routines.cpp
    ``checkObjIdByTicket`` walks the object's collection up to the zone looking for one): a ticket on
    ``scratch/`` shared every run."""
    from irods_provider.operators.catalog import IrodsCreateTicketOperator

    def share(run: str) -> dict:
        op = IrodsCreateTicketOperator(task_id="share", path=SCRATCH + "/{{ params.run }}")
        op.render_template_fields(context={"params": {"run": run}})  # type: ignore[arg-type]
        return op.execute({})

    with pytest.raises(IrodsInvalidPathError, match=r"path .* empty segment"):
        share("")
    assert session.tickets.on_path(SCRATCH) == []
    assert share("run1")["path"] == f"{SCRATCH}/run1"
    assert len(session.tickets.on_path(f"{SCRATCH}/run1")) == 1
