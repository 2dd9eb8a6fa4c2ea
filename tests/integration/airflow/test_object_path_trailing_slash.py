"""A data object to be written whose path ends in ``/`` is refused, not created under the collection's name.

``path="/zone/home/u/reports/"`` names a collection (the transfer operators read such a destination as "into
this collection"); IrodsCreateObjectOperator used to drop the ``/`` and write a data object ``reports``, and
a ``manifest_path`` ending in ``/`` did the same.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.operators.catalog import IrodsCreateObjectOperator
from irods_provider.operators.irods import IrodsListCollectionOperator

HOME = "/tempZone/home/rods"


def run(op):
    return op.execute(context={})


def test_create_object_refuses_a_collection_path(session) -> None:
    with pytest.raises(IrodsInvalidPathError, match="ends in '/'") as refused:
        run(IrodsCreateObjectOperator(task_id="c", path=f"{HOME}/reports/", content="x"))
    assert refused.value.path == f"{HOME}/reports/"
    assert not session.data_objects.exists(f"{HOME}/reports")
    assert not session.collections.exists(f"{HOME}/reports")


def test_a_manifest_path_ending_in_a_slash_is_refused_before_the_listing(session) -> None:
    session.collections.create(f"{HOME}/many")
    for i in range(3):
        session.data_objects.write(f"{HOME}/many/f{i}", b"x")
    op = IrodsListCollectionOperator(
        task_id="l", path=f"{HOME}/many", max_entries=1, manifest_path=f"{HOME}/man/"
    )
    with pytest.raises(IrodsInvalidPathError, match="manifest_path"):
        run(op)
    assert not session.data_objects.exists(f"{HOME}/man")
