"""A path argument of a sensor's or trigger's check that is no iRODS logical path is a typed error, decided
by the one check both run (``hooks/_checks.py``), before anything is asked of the server.

Rendered templates give anything: a list, a number, a ``PurePath`` (``render_template_as_native_obj``),
bytes, ``""``, a ``..`` component, a NUL. Before, the path sensors and their triggers crashed with
``AttributeError``/``TypeError`` (a trigger's crash escaped its ``run``, so no error event reached the sensor
and ``never_fail``/``silent_fail`` could not apply), ``IrodsMetadataTrigger(under="")`` and
``IrodsMetadataEventTrigger(under="")`` searched the whole zone, and an ``under`` iRODS cannot hold (``..``,
a newline, over 1,087 bytes) made the metadata sensor wait until its timeout for what cannot exist.
iRODS refuses such paths itself: ``.``/``..`` components and over-long names (irods 4.3.4
lib/filesystem/src/filesystem.cpp:1017-1018 ``throw_if_path_length_exceeds_limit``; MAX_NAME_LEN 1088).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from unittest import mock

import pytest

from irods_provider.client import AVU
from irods_provider.exceptions import IrodsInvalidPathError, IrodsUsageError
from irods_provider.sensors.irods import IrodsCollectionStableSensor, IrodsMetadataSensor, IrodsPathSensor
from irods_provider.triggers.events import IrodsMetadataEventTrigger
from irods_provider.triggers.irods import IrodsCollectionStableTrigger, IrodsMetadataTrigger, IrodsPathTrigger

pytestmark = pytest.mark.timeout(120)

HOME = "/tempZone/home/rods"
NOT_STRINGS = [["/tempZone/home/rods/x"], 5, PurePosixPath("/tempZone/home/rods/x"), b"/tempZone/home/rods/x"]
UNHOLDABLE = [f"{HOME}/a/../b", f"{HOME}/x\n", f"{HOME}/" + "y" * 1100]


def _first_event(trigger: Any) -> dict[str, Any]:
    """The trigger's first event; its sleep cancels, so a trigger that keeps waiting fails the test."""

    async def first() -> dict[str, Any]:
        with mock.patch.object(type(trigger), "_sleep", side_effect=asyncio.CancelledError):
            event = await anext(trigger.run())
        return event.payload  # type: ignore[no-any-return]

    return asyncio.run(first())


@pytest.mark.parametrize("value", NOT_STRINGS, ids=type)
def test_path_and_stable_sensors_refuse_a_rendered_non_string(irods, value) -> None:
    for sensor in (
        IrodsPathSensor(task_id="p", path=value),
        IrodsCollectionStableSensor(task_id="s", path=value, inactivity_period=1),
    ):
        with pytest.raises(IrodsInvalidPathError, match="expected a str"):
            sensor.poke({})


@pytest.mark.parametrize("value", NOT_STRINGS, ids=type)
def test_triggers_end_with_a_typed_error_event_for_a_non_string(irods, value) -> None:
    for trigger in (
        IrodsPathTrigger(path=value, irods_conn_id="irods_default", poke_interval=1),
        IrodsCollectionStableTrigger(
            path=value, inactivity_period=1, irods_conn_id="irods_default", poke_interval=1
        ),
        IrodsMetadataTrigger(attribute="a", under=value, irods_conn_id="irods_default", poke_interval=1),
    ):
        payload = _first_event(trigger)
        assert (payload["status"], payload["error_class"]) == ("error", "IrodsInvalidPathError")


def test_an_empty_under_never_widens_a_metadata_trigger_to_the_zone(session) -> None:
    session.collections.create(f"{HOME}/other_run")
    session.metadata.add(f"{HOME}/other_run", AVU("status", "approved"))  # another run, elsewhere
    trigger = IrodsMetadataTrigger(
        attribute="status", value="approved", under="", irods_conn_id="irods_default", poke_interval=1
    )
    payload = _first_event(trigger)
    assert (payload["status"], payload["matches"]) == ("error", [])
    assert payload["error_class"] == "IrodsInvalidPathError"
    with pytest.raises(IrodsInvalidPathError, match="under"):  # refused when the DAG file is parsed
        IrodsMetadataEventTrigger(attribute="status", under="", irods_conn_id="irods_default")


@pytest.mark.parametrize("under", UNHOLDABLE)
def test_a_metadata_sensor_refuses_an_under_irods_cannot_hold(irods, under) -> None:
    with pytest.raises(IrodsInvalidPathError, match="under"):
        IrodsMetadataSensor(task_id="m", attribute="a", under=under).poke({})


@pytest.mark.parametrize("attribute", [5, ["status"], {"a": 1}])
def test_a_metadata_sensor_refuses_an_attribute_the_put_operator_cannot_store(irods, attribute) -> None:
    with pytest.raises(IrodsUsageError, match="attribute"):
        IrodsMetadataSensor(task_id="m", attribute=attribute, path=HOME).poke({})


@pytest.mark.parametrize("newer_than", ["5", datetime(2026, 1, 1, tzinfo=UTC)], ids=type)
def test_a_path_trigger_given_newer_than_as_text_or_a_datetime_fires_a_typed_error(irods, newer_than) -> None:
    """``newer_than`` is epoch seconds (the sensor converts ISO text and datetimes before deferring); a
    custom deferral passing another type made the literal check raise TypeError out of the trigger."""
    trigger = IrodsPathTrigger(
        path=HOME, newer_than=newer_than, irods_conn_id="irods_default", poke_interval=1
    )
    payload = _first_event(trigger)
    assert (payload["status"], payload["error_class"]) == ("error", "IrodsUsageError")
