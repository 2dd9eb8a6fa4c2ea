"""Event-driven scheduling: a DAG run starts when a data object lands in an iRODS collection.

An ``AssetWatcher`` runs :class:`~irods_provider.triggers.events.IrodsPathEventTrigger` in the triggerer;
each new data object matching the glob becomes one asset event (its path, size and modify time in the
event's ``extra["payload"]``), and each asset event schedules this DAG. The trigger remembers what it
already reported in the asset's state store (Airflow's metadata database), so a restarted triggerer does
not start the DAG again for the same object. Objects still being written (the engine's hidden
``.<name>.irods-part-*`` temporaries) are not seen until they are published under their final name.

A second watcher, :class:`~irods_provider.triggers.events.IrodsMetadataEventTrigger`, does the same for
objects tagged with the AVU ``lexis.status = ready`` anywhere under the collection.

Uses the ``irods_default`` connection. The watched glob and poll interval come from the environment
(``IRODS_EVENT_DRIVEN_PATH``, ``IRODS_EVENT_DRIVEN_POKE_INTERVAL``), since a watcher's trigger is built when
the DAG file is parsed.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.sdk import Asset, AssetWatcher, dag, task

from irods_provider.assets.irods import asset_uri
from irods_provider.triggers.events import IrodsMetadataEventTrigger, IrodsPathEventTrigger

PATTERN = os.environ.get("IRODS_EVENT_DRIVEN_PATH", "/tempZone/home/rods/landing/*")
POKE_INTERVAL = float(os.environ.get("IRODS_EVENT_DRIVEN_POKE_INTERVAL", "60"))
LANDING = PATTERN.rsplit("/", 1)[0]

# One asset, two watchers: a run per landed object, and a run per object tagged ready. Each trigger keeps
# its own seen set in this asset's state store (under a key derived from what it watches).
landing = Asset(
    name="irods_landing",
    uri=asset_uri(LANDING),
    watchers=[
        AssetWatcher(
            name="irods_landing_objects",
            trigger=IrodsPathEventTrigger(
                path=PATTERN, glob=True, irods_conn_id="irods_default", poke_interval=POKE_INTERVAL
            ),
        ),
        AssetWatcher(
            name="irods_landing_ready",
            trigger=IrodsMetadataEventTrigger(
                attribute="lexis.status",
                value="ready",
                under=LANDING,
                kind="data_object",
                irods_conn_id="irods_default",
                poke_interval=POKE_INTERVAL,
            ),
        ),
    ],
)


@dag(
    dag_id="irods_event_driven",
    schedule=[landing],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["irods", "example", "event-driven"],
    doc_md=__doc__,
)
def irods_event_driven() -> None:
    @task
    def process(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """Read what landed from the asset events that started this run (one per object)."""
        from irods_provider.hooks.irods import IrodsHook

        landed_objects = []
        with IrodsHook("irods_default") as hook:
            for events in (triggering_asset_events or {}).values():
                for event in events:
                    payload = (event.extra or {}).get("payload", {})
                    path = payload.get("path")
                    if path is None:
                        continue
                    size = hook.get_conn().data_objects.stat(path).size
                    landed_objects.append({"path": path, "event": payload.get("event"), "size": size})
                    print(f"landed: {path} ({payload.get('event')})")
        return landed_objects

    process()


irods_event_driven()
