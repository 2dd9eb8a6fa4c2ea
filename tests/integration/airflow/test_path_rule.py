"""One path rule in the Airflow layer: ``//`` collapse, a trailing ``/`` goes, ``.``/``..`` are refused.

Operators, sensors (poke and trigger checks), the hook's one-liners and ``irods://`` paths all address the
same object for ``/a//b/`` and ``/a/b``; the client library itself stays strict (the server's own rule).
"""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest

from irods_provider.client import AVU
from irods_provider.client._paths import normalize_path
from irods_provider.exceptions import IrodsInvalidPathError
from irods_provider.hooks._checks import collection_state, metadata_matches, run_sync
from irods_provider.operators.irods import (
    IrodsCreateCollectionOperator,
    IrodsDeleteOperator,
    IrodsGetMetadataOperator,
    IrodsPathExistsOperator,
    IrodsPutMetadataOperator,
)
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.triggers.irods import IrodsPathTrigger

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


def _poke(path: str) -> bool:
    sensor = IrodsPathSensor(task_id="s", path=path)
    try:
        return bool(sensor.poke(context={}).is_done)
    finally:
        sensor.hook.close()


async def _first_event(trigger):
    with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
        try:
            return await anext(trigger.run())
        except asyncio.CancelledError:
            return None


def test_whitespace_is_part_of_a_path_everywhere(session) -> None:
    """``report `` (a legal iRODS name) is not ``report``: operators, sensors, triggers and client agree."""
    spaced, plain, absent = f"{HOME}/ws/report ", f"{HOME}/ws/DONE", f"{HOME}/ws/DONE "
    session.collections.create(f"{HOME}/ws")
    session.data_objects.write(spaced, b"trailing space")
    session.data_objects.write(plain, b"done")
    for path, there in ((spaced, True), (absent, False)):
        assert IrodsPathExistsOperator(task_id="e", path=path).execute(context={}) is there
        assert _poke(path) is there
        event = asyncio.run(_first_event(IrodsPathTrigger(path=path, irods_conn_id="irods_default")))
        assert (event is not None) is there
        assert session.data_objects.exists(path) is there
    put = IrodsPutMetadataOperator(task_id="m", path=spaced, metadata={"a": "1"}).execute(context={})
    assert put["path"] == spaced
    assert session.metadata.list(spaced) == [AVU("a", "1")]
    assert session.metadata.list(plain) == []
    deleted = IrodsDeleteOperator(task_id="d", paths=spaced, no_trash=True).execute(context={})
    assert deleted["deleted"] == [spaced]
    assert session.data_objects.read(plain) == b"done"


def test_a_leading_space_makes_a_path_relative_everywhere(session) -> None:
    """`` /tempZone/...`` is relative: operators, sensors and the client refuse it, naming it."""
    bad = f" {HOME}"
    with pytest.raises(IrodsInvalidPathError) as by_operator:
        IrodsPathExistsOperator(task_id="e", path=bad).execute(context={})
    with pytest.raises(IrodsInvalidPathError) as by_sensor:
        _poke(bad)
    with pytest.raises(IrodsInvalidPathError) as by_client:
        session.collections.exists(bad)
    assert by_operator.value.path == by_sensor.value.path == by_client.value.path == bad
