"""Run iRODS triggers in a fresh process, as the triggerer's trigger runner does (Airflow's Stats set up from
the ``[metrics]`` configuration alone).

``python statsd_trigger_run.py '<json>'``: a path trigger that waits through three polls, one that finds its
object at once, and a stable trigger on a missing collection (fails). Prints the events as one JSON line.
Airflow's config comes from the environment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from irods_provider.triggers.irods import IrodsCollectionStableTrigger, IrodsPathTrigger


class _ThreePolls(IrodsPathTrigger):
    """Stops (as a cancelled trigger does) when it would sleep for the third time."""

    sleeps = 0

    async def _sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.sleeps == 3:
            raise asyncio.CancelledError
        await asyncio.sleep(0)


async def _events(trigger: Any) -> list[dict[str, Any]]:
    found = []
    try:
        async for event in trigger.run():
            found.append(event.payload)
    except asyncio.CancelledError:
        found.append({"status": "cancelled"})
    return found


async def main(args: dict[str, Any]) -> None:
    conn = {"irods_conn_id": "irods_default", "poke_interval": 0.01}
    waiting = await _events(_ThreePolls(path=args["missing"], **conn))
    found = await _events(IrodsPathTrigger(path=args["present"], **conn))
    failed = await _events(IrodsCollectionStableTrigger(path=args["missing"], inactivity_period=1, **conn))
    statuses = [[event["status"] for event in events] for events in (waiting, found, failed)]
    print(json.dumps(statuses))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
