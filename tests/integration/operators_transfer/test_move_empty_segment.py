"""``move=True`` refuses a source path with an empty segment (a trailing ``/`` or a ``//``) before copying.

``source_path=".../runs/{{ params.run }}"`` with ``run`` rendered empty names ``runs/``: the copy took the
whole ``runs`` tree and the move then removed every run's files, not one run's (the delete operator's
guard, :func:`~irods_provider.operators._base.refuse_empty_segment`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def _render(op, run: str):
    op.render_template_fields(context={"params": {"run": run}})  # type: ignore[arg-type]
    return op


def test_a_local_move_whose_source_rendered_an_empty_segment_moves_nothing(session, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for run in ("run1", "run2"):
        (runs / run).mkdir(parents=True)
        (runs / run / "a.csv").write_bytes(run.encode())

    def up(run: str, template: str, glob: bool = False) -> dict:
        op = LocalToIrodsOperator(
            task_id="up", source_path=template, glob=glob, destination_path=f"{HOME}/in", move=True
        )
        return _render(op, run).execute({})

    for template, glob in (
        (f"{runs}/{{{{ params.run }}}}", False),
        (f"{runs}/{{{{ params.run }}}}/*.csv", True),
    ):
        with pytest.raises(IrodsInvalidPathError, match=r"source_path .* empty segment"):
            up("", template, glob)
    assert sorted(p.relative_to(runs).as_posix() for p in runs.rglob("*.csv")) == ["run1/a.csv", "run2/a.csv"]
    assert not session.collections.exists(f"{HOME}/in")
    assert up("run1", f"{runs}/{{{{ params.run }}}}")["transferred"] == 1
    assert sorted(p.relative_to(runs).as_posix() for p in runs.rglob("*.csv")) == ["run2/a.csv"]


def test_an_irods_move_whose_source_rendered_an_empty_segment_moves_nothing(session, tmp_path: Path) -> None:
    for run in ("run1", "run2"):
        session.collections.create(f"{HOME}/runs/{run}", intermediates=True)
        session.data_objects.write(f"{HOME}/runs/{run}/a.csv", run.encode())
    op = IrodsToLocalOperator(
        task_id="down",
        source_path=HOME + "/runs/{{ params.run }}",
        destination_path=str(tmp_path / "got"),
        move=True,
    )
    with pytest.raises(IrodsInvalidPathError, match=r"source_path .* empty segment"):
        _render(op, "").execute({})
    assert [session.data_objects.read(f"{HOME}/runs/{r}/a.csv") for r in ("run1", "run2")] == [
        b"run1",
        b"run2",
    ]
    assert not (tmp_path / "got").exists()
