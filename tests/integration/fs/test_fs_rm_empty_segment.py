"""``IrodsFileSystem.rm`` refuses a path with an empty segment (``/zone/home//x``, a trailing ``/``): the
mark of a template part that rendered empty, which the path rule folds into the parent, so ``runs/{run}``
with ``run=""`` would remove every run (the operators' guard, ``refuse_empty_segment``)."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
RUNS = f"{HOME}/fsruns"


@pytest.mark.parametrize(
    "path",
    [f"{RUNS}/", f"{RUNS}//", f"{HOME}//fsruns", f"irods://{RUNS}/", [f"{RUNS}/run1/a.csv", f"{RUNS}/"]],
)
def test_rm_of_a_path_with_an_empty_segment_removes_nothing(irods_fs, path) -> None:
    session = irods_fs.session
    for run in ("run1", "run2"):
        session.collections.create(f"{RUNS}/{run}", intermediates=True, exist_ok=True)
        session.data_objects.write(f"{RUNS}/{run}/a.csv", run.encode())
    with pytest.raises(IrodsInvalidPathError, match="empty segment") as caught:
        irods_fs.rm(path, recursive=True)
    named = str(caught.value.path)
    assert named.endswith("/") or "//" in named
    assert session.data_objects.read(f"{RUNS}/run1/a.csv") == b"run1"
    assert session.data_objects.read(f"{RUNS}/run2/a.csv") == b"run2"
    irods_fs.rm(f"irods://{RUNS}/run1", recursive=True)  # the same call without it removes what it names
    assert not session.collections.exists(f"{RUNS}/run1")
    assert session.data_objects.read(f"{RUNS}/run2/a.csv") == b"run2"
