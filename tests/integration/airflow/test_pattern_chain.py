"""One pattern rule across the provider (issue 17): a path is a pattern only with ``glob=True``.

The chain the issue names — a sensor (poke and deferred trigger), a download, a delete — run on a literal
``data[1].csv`` beside ``data1.csv`` touches only ``data[1].csv``; a literal ``run[7].h5`` fires a sensor and
transfers; with ``glob=True`` a pattern with ``**`` and an escaped ``[`` (``[[]``) selects the same objects
in every step. Before the rule, sensors and transfers read ``[1]`` as a character class (and had no ``**``)
while exists/delete read it literally, so the chain processed ``data1.csv`` and deleted ``data[1].csv``.
"""

from __future__ import annotations

import asyncio
import contextlib
from unittest import mock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.operators.irods import (
    IrodsDeleteOperator,
    IrodsListCollectionOperator,
    IrodsPathExistsOperator,
)
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
from irods_provider.triggers.events import IrodsPathEventTrigger
from irods_provider.triggers.irods import IrodsPathTrigger

HOME = "/tempZone/home/rods"
INBOX = f"{HOME}/inbox"
BRACKETED = f"{INBOX}/data[1].csv"
PLAIN = f"{INBOX}/data1.csv"


@pytest.fixture
def inbox(session) -> str:
    session.collections.create(f"{INBOX}/deep/er", intermediates=True)
    session.data_objects.write(BRACKETED, b"bracketed")
    session.data_objects.write(PLAIN, b"plain")
    session.data_objects.write(f"{INBOX}/deep/er/data[1].csv", b"deep bracketed")
    session.data_objects.write(f"{INBOX}/deep/data1.csv", b"deep plain")
    return INBOX


def _objects(irods, session) -> dict[str, bytes]:
    """Every data object below the inbox (from the emulator's model) with its bytes."""
    with irods.model.lock:
        paths = sorted(p for p in irods.model.data_objects if p.startswith(INBOX + "/"))
    return {p: session.data_objects.read(p) for p in paths}


def poke(sensor: IrodsPathSensor):
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


async def _first_event(trigger):
    with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
        try:
            return await anext(trigger.run())
        except asyncio.CancelledError:
            return None


def deferred_matches(sensor: IrodsPathSensor) -> tuple[dict, list[str]]:
    """Run the sensor deferred: its first poke must not finish (nothing yet), then its trigger runs in
    this process; returns the trigger's serialized kwargs and the paths ``execute_complete`` returns."""
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, IrodsPathTrigger)
    classpath, kwargs = trigger.serialize()
    rebuilt = IrodsPathTrigger(**kwargs)  # what the triggerer runs: rebuilt from the serialized kwargs
    return kwargs, rebuilt, classpath


def test_literal_bracket_chain_sensor_download_delete_touches_only_that_object(
    irods, session, inbox, tmp_path
) -> None:
    before = _objects(irods, session)
    # Sensor, poke mode: the literal object, not data1.csv.
    found = poke(IrodsPathSensor(task_id="wait", path=BRACKETED))
    assert found.is_done
    assert [(m["path"], m["size"]) for m in found.xcom_value] == [(BRACKETED, len(b"bracketed"))]

    # Download: exactly those bytes, under that name.
    report = IrodsToLocalOperator(
        task_id="get", source_path=BRACKETED, destination_path=str(tmp_path) + "/"
    ).execute({})
    assert [f["source"] for f in report["files"]] == [BRACKETED]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data[1].csv"]
    assert (tmp_path / "data[1].csv").read_bytes() == b"bracketed"

    # Delete: that object only; data1.csv (and everything else) untouched.
    deleted = IrodsDeleteOperator(task_id="rm", paths=BRACKETED, no_trash=True).execute({})
    assert deleted["deleted"] == [BRACKETED]
    assert _objects(irods, session) == {p: d for p, d in before.items() if p != BRACKETED}
    assert _objects(irods, session)[PLAIN] == b"plain"


def test_literal_bracket_sensor_deferred_trigger_fires_on_that_object_only(irods, session) -> None:
    session.collections.create(INBOX)
    session.data_objects.write(PLAIN, b"plain")  # the look-alike is there from the start
    sensor = IrodsPathSensor(task_id="wait", path=BRACKETED, deferrable=True, poke_interval=5, timeout=60)
    kwargs, trigger, _ = deferred_matches(sensor)
    assert (kwargs["path"], kwargs["glob"]) == (BRACKETED, False)
    assert asyncio.run(_first_event(trigger)) is None  # data1.csv does not count
    session.data_objects.write(BRACKETED, b"bracketed")
    event = asyncio.run(_first_event(trigger))
    assert event is not None
    assert event.payload["status"] == "success"
    assert [m["path"] for m in sensor.execute_complete({}, event.payload)] == [BRACKETED]


def test_literal_run7_fires_a_sensor_and_transfers(irods, session, tmp_path) -> None:
    session.collections.create(INBOX)
    target = f"{INBOX}/run[7].h5"
    session.data_objects.write(target, b"\x89HDF\r\n" + bytes(range(256)))
    assert poke(IrodsPathSensor(task_id="w", path=target, kind="data_object")).is_done
    sensor = IrodsPathSensor(task_id="w", path=target, deferrable=True)
    assert [m["path"] for m in sensor.execute({})] == [target]  # the first poke of a deferrable one
    assert IrodsPathExistsOperator(task_id="e", path=target, fail_if_missing=True).execute({}) is True
    out = tmp_path / "run7.h5"
    report = IrodsToLocalOperator(task_id="get", source_path=target, destination_path=str(out)).execute({})
    assert report["transferred"] == 1
    assert out.read_bytes() == b"\x89HDF\r\n" + bytes(range(256))


def test_a_missing_literal_with_glob_characters_says_pass_glob(irods, session, tmp_path, capsys) -> None:
    session.collections.create(INBOX)
    session.data_objects.write(f"{INBOX}/run7.h5", b"x")  # what the glob reading would have matched
    with pytest.raises(IrodsNotFoundError, match=r"pass glob=True to use it as a pattern") as caught:
        IrodsToLocalOperator(
            task_id="get", source_path=f"{INBOX}/run[7].h5", destination_path=str(tmp_path) + "/"
        ).execute({})
    assert caught.value.path == f"{INBOX}/run[7].h5"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IrodsNotFoundError, match=r"pass glob=True"):
        IrodsDeleteOperator(task_id="rm", paths=f"{INBOX}/run[7].h5").execute({})
    with pytest.raises(IrodsNotFoundError, match=r"pass glob=True"):
        IrodsPathExistsOperator(task_id="e", path=f"{INBOX}/run[7].h5", fail_if_missing=True).execute({})
    assert session.data_objects.read(f"{INBOX}/run7.h5") == b"x"
    capsys.readouterr()
    assert poke(IrodsPathSensor(task_id="w", path=f"{INBOX}/*.h5")).is_done is False  # run7.h5 is there
    out = capsys.readouterr().out
    assert "Nothing at the literal path /tempZone/home/rods/inbox/*.h5 yet" in out
    assert "pass glob=True to use it as a pattern" in out


def test_glob_chain_with_double_star_and_an_escaped_bracket(irods, session, inbox, tmp_path) -> None:
    pattern = f"{INBOX}/**/data[[]1].csv"
    expected = [f"{INBOX}/data[1].csv", f"{INBOX}/deep/er/data[1].csv"]
    found = poke(IrodsPathSensor(task_id="wait", path=pattern, glob=True))
    assert [m["path"] for m in found.xcom_value] == expected
    assert IrodsPathExistsOperator(task_id="e", path=pattern, glob=True).execute({}) is True

    report = IrodsToLocalOperator(
        task_id="get", source_path=pattern, glob=True, destination_path=str(tmp_path)
    ).execute({})
    assert sorted(f["source"] for f in report["files"]) == expected
    assert (tmp_path / "data[1].csv").read_bytes() == b"bracketed"
    assert (tmp_path / "deep" / "er" / "data[1].csv").read_bytes() == b"deep bracketed"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "data[1].csv",
        "deep/er/data[1].csv",
    ]  # and neither data1.csv

    listed = IrodsListCollectionOperator(
        task_id="ls", path=INBOX, recursive=True, kind="data_objects", pattern="data[[]1].csv"
    ).execute({})
    assert [e["path"] for e in listed["entries"]] == expected

    # With glob=True a pattern without a wildcard ([[] escapes only) names one path, in every step.
    escaped = f"{INBOX}/data[[]1].csv"
    assert [m["path"] for m in poke(IrodsPathSensor(task_id="w", path=escaped, glob=True)).xcom_value] == [
        BRACKETED
    ]
    one = tmp_path / "one.csv"
    IrodsToLocalOperator(task_id="get1", source_path=escaped, glob=True, destination_path=str(one)).execute(
        {}
    )
    assert one.read_bytes() == b"bracketed"

    deleted = IrodsDeleteOperator(task_id="rm", paths=pattern, glob=True, no_trash=True).execute({})
    assert deleted["deleted"] == expected
    assert sorted(_objects(irods, session)) == [f"{INBOX}/data1.csv", f"{INBOX}/deep/data1.csv"]


def test_glob_sensor_deferred_trigger_with_double_star(irods, session) -> None:
    session.collections.create(f"{INBOX}/a/b", intermediates=True)
    session.data_objects.write(f"{INBOX}/a/data1.csv", b"plain")
    sensor = IrodsPathSensor(
        task_id="wait", path=f"{INBOX}/**/data[[]1].csv", glob=True, deferrable=True, timeout=60
    )
    kwargs, trigger, _ = deferred_matches(sensor)
    assert kwargs["glob"] is True
    assert asyncio.run(_first_event(trigger)) is None
    session.data_objects.write(f"{INBOX}/a/b/data[1].csv", b"deep")  # two levels below the base
    event = asyncio.run(_first_event(trigger))
    assert [m["path"] for m in sensor.execute_complete({}, event.payload)] == [f"{INBOX}/a/b/data[1].csv"]


async def test_path_event_trigger_literal_and_glob(irods, inbox) -> None:
    async def events(trigger: IrodsPathEventTrigger) -> list[str]:
        found: list[str] = []

        async def sleep(_seconds: float) -> None:
            raise asyncio.CancelledError

        trigger._sleep = sleep  # type: ignore[method-assign]
        with contextlib.suppress(asyncio.CancelledError):
            async for event in trigger.run():
                found.append(event.payload["path"])
        return sorted(found)

    literal = IrodsPathEventTrigger(path=BRACKETED, irods_conn_id="irods_default", fire_on_existing=True)
    assert await events(literal) == [BRACKETED]
    globbed = IrodsPathEventTrigger(
        path=f"{INBOX}/**/data[[]1].csv", glob=True, irods_conn_id="irods_default", fire_on_existing=True
    )
    assert globbed.serialize()[1]["glob"] is True
    assert await events(globbed) == [BRACKETED, f"{INBOX}/deep/er/data[1].csv"]
