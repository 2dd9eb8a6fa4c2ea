"""One path rule in the Airflow layer: ``//`` collapse, a trailing ``/`` goes, ``.``/``..`` are refused.

Operators, sensors (poke and trigger checks), the hook's one-liners and ``irods://`` paths all address the
same object for ``/a//b/`` and ``/a/b``; the client library itself stays strict (the server's own rule).
"""

from __future__ import annotations

import pytest

from irods_provider.client import AVU
from irods_provider.client._paths import normalize_path
from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.hooks._checks import collection_state, metadata_matches, run_sync
from irods_provider.operators.irods import (
    IrodsCreateCollectionOperator,
    IrodsGetMetadataOperator,
    IrodsPathExistsOperator,
)
from irods_provider.sensors.irods import IrodsPathSensor

HOME = "/tempZone/home/rods"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/tempZone//home/rods/", "/tempZone/home/rods"),
        ("/tempZone/home///rods//x.txt", "/tempZone/home/rods/x.txt"),
        ("/", "/"),
        ("//", "/"),
        ("/tempZone/home/rods/a./b", "/tempZone/home/rods/a./b"),
        ("/tempZone/x/../y/", "/tempZone/x/../y"),  # left for validation to refuse, never resolved
        ("relative/x/", "relative/x/"),  # left for validation to refuse
    ],
)
def test_normalize_path(given: str, expected: str) -> None:
    assert normalize_path(given) == expected


@pytest.fixture
def tree(session):
    session.collections.create(f"{HOME}/rule/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/rule/sub/x.txt", b"x" * 7)
    session.metadata.add(f"{HOME}/rule/sub/x.txt", AVU("stage", "done"))
    return session


def test_operators_sensors_and_hook_agree_on_slashes(tree, monkeypatch) -> None:
    messy = f"{HOME}//rule///sub/"
    assert IrodsPathExistsOperator(task_id="e", path=messy).execute(context={}) is True
    avus = IrodsGetMetadataOperator(task_id="m", path=f"{HOME}/rule//sub//x.txt").execute(context={})
    assert avus["path"] == f"{HOME}/rule/sub/x.txt"
    assert [(a["attribute"], a["value"]) for a in avus["avus"]] == [("stage", "done")]
    created = IrodsCreateCollectionOperator(task_id="c", path=f"{HOME}/rule//new/").execute(context={})
    assert created["path"] == f"{HOME}/rule/new"
    assert tree.collections.exists(f"{HOME}/rule/new")

    sensor = IrodsPathSensor(task_id="s", path=f"{HOME}/rule//sub/x.txt/")
    try:
        poked = sensor.poke(context={})
    finally:
        sensor.hook.close()
    assert poked.is_done
    assert [m["path"] for m in poked.xcom_value] == [f"{HOME}/rule/sub/x.txt"]
    assert [m["path"] for m in run_sync(metadata_matches(attribute="stage", path=messy + "x.txt"), tree)] == [
        f"{HOME}/rule/sub/x.txt"
    ]
    assert run_sync(collection_state(messy), tree).to_dict() == {"objects": 1, "bytes": 7}

    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook() as hook:
        assert hook.exists(f"{HOME}//rule/sub//x.txt")
        assert hook.read_bytes(f"{HOME}/rule//sub/x.txt") == b"x" * 7
        assert hook.list(f"{HOME}/rule/sub//") == [f"{HOME}/rule/sub/x.txt"]
        assert hook.write_text(f"{HOME}//rule/sub//y.txt", "y")["destination"] == f"{HOME}/rule/sub/y.txt"
    assert tree.data_objects.read(f"{HOME}/rule/sub/y.txt") == b"y"


@pytest.mark.parametrize("bad", [f"{HOME}/rule/../rule/sub", f"{HOME}/./rule"])
def test_dot_components_are_refused_not_resolved(tree, bad: str) -> None:
    with pytest.raises(IrodsInvalidPathError, match=r"'\.' or '\.\.' component"):
        IrodsPathExistsOperator(task_id="e", path=bad).execute(context={})
    with pytest.raises(IrodsInvalidPathError):
        IrodsCreateCollectionOperator(task_id="c", path=bad + "/new").execute(context={})
    assert not tree.collections.exists(f"{HOME}/rule/sub/new")


def test_the_client_stays_strict(tree) -> None:
    with pytest.raises(IrodsInvalidPathError, match="empty component"):
        tree.collections.exists(f"{HOME}//rule")
