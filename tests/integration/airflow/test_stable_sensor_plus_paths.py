"""The collection-stable sensor and its trigger watch a collection whose path holds ``+``.

No GET can address such a path: the HTTP API decodes a query string and then turns every ``+`` into a space
(core/src/common.cpp:138-139 ``to_argument_list`` at 0.7.0, the same at 0.5.0 and 0.6.0), so a collection
``stat`` of ``/zone/home/u/run+1`` asks for ``run 1``. Collections named by other clients (``iput``, a
``{{ ts }}`` rendered into a path: ``...T00:00:00+00:00``) hold one; the path sensor and the filesystem look
such paths up in the catalog, and the stable sensor must too instead of failing its first poke.
"""

from __future__ import annotations

import asyncio
import contextlib
from unittest import mock

import pytest

from irods_provider.exceptions import IrodsNotACollectionError, IrodsNotFoundError
from irods_provider.sensors.irods import IrodsCollectionStableSensor
from irods_provider.triggers.irods import IrodsCollectionStableTrigger

HOME = "/tempZone/home/rods"
RUN = f"{HOME}/run 2026-12-07T00:00:00+00:00"


def poke(sensor):
    try:
        return sensor.poke({})
    finally:
        sensor.hook.close()


@pytest.fixture
def run_collection(irods, session) -> str:
    """``RUN`` (its name holds ``+``): two objects, 3 + 4 bytes; a sibling named as a GET would read it."""
    session.collections.create(RUN)
    session.data_objects.write(f"{RUN}/a.dat", b"abc")
    session.data_objects.write(f"{RUN}/b.dat", b"defg")
    twin = RUN.replace("+", " ")  # what a GET of RUN would stat instead; the aggregate's like matches it too
    session.collections.create(twin)
    session.data_objects.write(f"{twin}/c.dat", b"not in RUN")
    return RUN


def test_poke_settles_on_a_plus_collection(run_collection) -> None:
    sensor = IrodsCollectionStableSensor(task_id="s", path=run_collection, inactivity_period=0)
    assert poke(sensor).is_done is False  # the first observation starts the clock
    done = poke(sensor)
    assert done.is_done is True
    assert done.xcom_value == [{"path": run_collection, "objects": 2, "bytes": 7}]


def test_trigger_settles_on_a_plus_collection(run_collection) -> None:
    trigger = IrodsCollectionStableTrigger(
        path=run_collection, irods_conn_id="irods_default", inactivity_period=0
    )

    async def first_event():
        with mock.patch.object(IrodsCollectionStableTrigger, "_sleep", return_value=None):
            async with contextlib.aclosing(trigger.run()) as events:
                return await anext(events)

    event = asyncio.run(first_event())
    assert event.payload["status"] == "success", event.payload
    assert event.payload["state"] == {"objects": 2, "bytes": 7}


def test_a_missing_or_data_object_plus_path_is_still_told_apart(run_collection, session) -> None:
    missing = f"{HOME}/run+2"
    session.collections.create(missing.replace("+", " "))  # a GET's stat would find this one
    with pytest.raises(IrodsNotFoundError) as err:
        poke(IrodsCollectionStableSensor(task_id="s", path=missing, inactivity_period=0))
    assert err.value.path == missing
    obj = f"{HOME}/obj+1"
    session.data_objects.write(obj, b"x")
    with pytest.raises(IrodsNotACollectionError) as not_coll:
        poke(IrodsCollectionStableSensor(task_id="s", path=obj, inactivity_period=0))
    assert not_coll.value.path == obj
