"""Paths and values as DAG authors write them: nothing is written that the API cannot read back."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError
from irods_provider.operators.irods import IrodsCopyOperator, IrodsCreateCollectionOperator
from irods_provider.operators.metadata import IrodsPutMetadataOperator
from irods_provider.operators.transfer import LocalToIrodsOperator

HOME = "/tempZone/home/rods"
RUN_ID = "scheduled__2026-12-04T00:00:00+00:00"


def _names(session, path: str) -> list[str]:
    return sorted(e.path.rsplit("/", 1)[-1] for e in session.collections.list(path))


def test_plus_paths_are_refused_before_anything_is_created(session, tmp_path) -> None:
    (tmp_path / "a.csv").write_bytes(b"1,2\n")
    session.collections.create(f"{HOME}/w", intermediates=True)
    before = _names(session, f"{HOME}/w")
    ops = [
        IrodsCreateCollectionOperator(task_id="c", path=f"{HOME}/w/{RUN_ID}/in"),
        LocalToIrodsOperator(
            task_id="u", source_path=str(tmp_path / "a.csv"), destination_path=f"{HOME}/w/{RUN_ID}"
        ),
        IrodsCopyOperator(task_id="cp", source_path=f"{HOME}/w", destination_path=f"{HOME}/w/{RUN_ID}.csv"),
    ]
    for op in ops:
        with pytest.raises(IrodsInvalidPathError, match=r"contains '\+'.*irods_safe") as err:
            op.execute(context={})
        assert "+" in (err.value.path or "")
    assert _names(session, f"{HOME}/w") == before  # nothing was created by any of them


def test_a_folder_holding_a_plus_name_is_refused_before_any_upload(session, tmp_path) -> None:
    (tmp_path / "ok.csv").write_bytes(b"fine")
    (tmp_path / "a+b.csv").write_bytes(b"unaddressable")
    op = LocalToIrodsOperator(task_id="u", source_path=str(tmp_path), destination_path=f"{HOME}/folder/")
    with pytest.raises(IrodsInvalidPathError, match=r"a planned destination '.*/a\+b\.csv' contains '\+'"):
        op.execute(context={})
    assert not session.collections.exists(f"{HOME}/folder")


def test_irods_safe_run_id_round_trips_through_create_and_upload(session, tmp_path) -> None:
    (tmp_path / "a.csv").write_bytes(b"1,2\n")
    context = {"run_id": RUN_ID}
    create = IrodsCreateCollectionOperator(task_id="c", path=HOME + "/{{ run_id | irods_safe }}")
    create.render_template_fields(context=context)  # type: ignore[arg-type]
    create.execute(context={})
    up = LocalToIrodsOperator(
        task_id="u", source_path=str(tmp_path / "a.csv"), destination_path=HOME + "/{{ irods_safe_run_id }}/"
    )
    up.render_template_fields(context=context)  # type: ignore[arg-type]
    up.execute(context={})
    safe = RUN_ID.replace("+", "_")
    assert session.data_objects.read(f"{HOME}/{safe}/a.csv") == b"1,2\n"


def test_typed_metadata_on_upload_and_put(session, tmp_path) -> None:
    (tmp_path / "a.csv").write_bytes(b"x")
    up = LocalToIrodsOperator(
        task_id="u",
        source_path=str(tmp_path / "a.csv"),
        destination_path=f"{HOME}/m.csv",
        metadata={"size": (1024, "B"), "ok": True, "n": 2},
    )
    up.execute(context={})
    avus = sorted((a.attribute, a.value, a.units or "") for a in session.metadata.list(f"{HOME}/m.csv"))
    assert [a for a in avus if not a[0].startswith("irods")] == [
        ("n", "2", ""),
        ("ok", "true", ""),
        ("size", "1024", "B"),
    ]
    bad = LocalToIrodsOperator(
        task_id="b",
        source_path=str(tmp_path / "a.csv"),
        destination_path=f"{HOME}/bad.csv",
        metadata={"cfg": {"a": 1}},
    )
    with pytest.raises(IrodsUsageError, match=r"metadata\['cfg'\]"):
        bad.execute(context={})
    assert not session.data_objects.exists(f"{HOME}/bad.csv")
    put = IrodsPutMetadataOperator(task_id="p", path=f"{HOME}/m.csv", metadata={"size": [1024, 2]})
    with pytest.raises(IrodsUsageError, match=r"metadata\['size'\].*got list"):
        put.execute(context={})
    assert ("size", "1024", "2") not in {
        (a.attribute, a.value, a.units) for a in session.metadata.list(f"{HOME}/m.csv")
    }


def test_list_operator_bounds_its_xcom(session) -> None:
    import json

    from irods_provider.operators.irods import IrodsListCollectionOperator

    session.collections.create(f"{HOME}/big", intermediates=True)
    for i in range(25):
        session.data_objects.write(f"{HOME}/big/f{i:02d}", b"x")
    op = IrodsListCollectionOperator(task_id="l", path=f"{HOME}/big", with_stat=True, max_entries=10)
    value = op.execute(context={})
    assert (value["count"], value["truncated"], len(value["entries"])) == (25, True, 10)
    assert [e["path"] for e in value["entries"]] == [f"{HOME}/big/f{i:02d}" for i in range(10)]
    full = IrodsListCollectionOperator(task_id="l", path=f"{HOME}/big", with_stat=True).execute(context={})
    assert (full["count"], full["truncated"], len(full["entries"])) == (25, False, 25)
    assert len(json.dumps(full)) < 64 * 1024
