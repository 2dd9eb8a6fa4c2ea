"""IrodsTrimOperator refuses a path with an empty segment before trimming, as the delete operator does.

``path="/zone/home/u/scratch/{{ params.run }}"`` with ``run`` rendered empty names ``scratch/``, which the
path rule folds into ``scratch`` itself: every run's replicas on the resource went, not one run's. The
replica layout is read back from the catalog.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.operators.replicas import IrodsTrimOperator

HOME = "/tempZone/home/rods"
SCRATCH = f"{HOME}/scratch"


def roots(session, path: str) -> list[str]:
    return sorted(r.root for r in session.data_objects.replicas(path))


@pytest.mark.parametrize("recursive", [True, False])
def test_a_trim_whose_path_rendered_an_empty_segment_trims_nothing(zone, session, recursive) -> None:
    paths = [f"{SCRATCH}/run1/a.bin", f"{SCRATCH}/keep.bin"]
    session.collections.create(f"{SCRATCH}/run1", intermediates=True)
    for path in paths:
        session.data_objects.write(path, b"data", resource="demoResc")
        session.data_objects.replicate(path, dst_resource="archiveResc")

    def trim(run: str) -> dict:
        op = IrodsTrimOperator(
            task_id="t", path=SCRATCH + "/{{ params.run }}", resource="demoResc", recursive=recursive
        )
        op.render_template_fields(context={"params": {"run": run}})  # type: ignore[arg-type]
        return op.execute({})

    with pytest.raises(IrodsInvalidPathError, match=r"path .* empty segment") as refused:
        trim("")
    assert refused.value.path == SCRATCH + "/"
    assert [roots(session, p) for p in paths] == [["archiveResc", "demoResc"]] * 2

    assert trim("run1")["trimmed_count"] == 1
    assert [roots(session, p) for p in paths] == [["archiveResc"], ["archiveResc", "demoResc"]]
