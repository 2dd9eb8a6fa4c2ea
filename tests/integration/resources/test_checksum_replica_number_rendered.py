"""IrodsChecksumOperator's ``replica_number`` is templated and read as the replica operators read it.

It was neither templated nor checked: ``replica_number="{{ params.replica }}"`` reached the client as the
literal template text, and any string (a rendered value, a Param) failed with a ``TypeError`` comparing it
with 0, where IrodsTrimOperator and IrodsReplicateOperator take the rendered number.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators.catalog import IrodsChecksumOperator

HOME = "/tempZone/home/rods"
OBJ = f"{HOME}/sums/a.csv"


@pytest.fixture
def two_replicas(session) -> str:
    session.collections.create(f"{HOME}/sums")
    session.data_objects.write(OBJ, b"1,2,3\n")
    session.data_objects.replicate(OBJ, "archiveResc")
    return OBJ


def test_a_rendered_replica_number_picks_that_replica(session, two_replicas) -> None:
    op = IrodsChecksumOperator(task_id="c", path=two_replicas, replica_number="{{ params.replica }}")
    op.render_template_fields(context={"params": {"replica": 1}})  # type: ignore[arg-type]
    result = op.execute({})
    assert result["checked"] == 1
    by_number = {r.number: r.checksum for r in session.data_objects.replicas(two_replicas)}
    assert by_number[1] == result["checksums"][two_replicas]  # replica 1 got the checksum...
    assert by_number[0] in (None, "")  # ...and replica 0 was left alone


def test_a_replica_number_that_is_no_number_is_a_usage_error(two_replicas) -> None:
    with pytest.raises(IrodsUsageError, match="replica_number"):
        IrodsChecksumOperator(task_id="c", path=two_replicas, replica_number="first").execute({})
