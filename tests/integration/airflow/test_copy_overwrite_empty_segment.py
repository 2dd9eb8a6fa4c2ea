"""``IrodsCopyOperator(overwrite=True)`` refuses a ``destination_path`` with an empty segment (a ``//``):
``.../runs/{{ params.run }}/a.csv`` with ``run`` rendered empty would fold to ``.../runs/a.csv`` and replace
that object. A trailing ``/`` keeps its meaning ("into this collection"); without ``overwrite`` nothing is
replaced, so nothing is refused."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.operators.irods import IrodsCopyOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def _copy(run: str, template: str, **kwargs) -> dict:
    op = IrodsCopyOperator(task_id="cp", source_path=f"{HOME}/new.csv", destination_path=template, **kwargs)
    op.render_template_fields(context={"params": {"run": run}})  # type: ignore[arg-type]
    return op.execute({})


def test_an_overwriting_copy_to_a_destination_with_an_empty_segment_replaces_nothing(session) -> None:
    session.collections.create(f"{HOME}/runs/r1", intermediates=True)
    session.data_objects.write(f"{HOME}/runs/a.csv", b"the collection's own object")
    session.data_objects.write(f"{HOME}/new.csv", b"new")
    template = HOME + "/runs/{{ params.run }}/a.csv"
    with pytest.raises(IrodsInvalidPathError, match=r"destination_path .* empty segment") as caught:
        _copy("", template, overwrite=True)
    assert caught.value.path == f"{HOME}/runs//a.csv"
    assert session.data_objects.read(f"{HOME}/runs/a.csv") == b"the collection's own object"
    with pytest.raises(IrodsInvalidPathError, match="empty segment"):
        _copy("", HOME + "/runs/{{ params.run }}/", overwrite=True)  # runs// : not "into runs"
    assert _copy("r1", template, overwrite=True)["destination"] == f"{HOME}/runs/r1/a.csv"
    assert _copy("", HOME + "/runs/r1/", overwrite=True)["destination"] == f"{HOME}/runs/r1/new.csv"
    assert session.data_objects.read(f"{HOME}/runs/r1/a.csv") == b"new"
    assert session.data_objects.read(f"{HOME}/runs/a.csv") == b"the collection's own object"
