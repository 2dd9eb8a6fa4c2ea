"""Planning a download of a big collection pages GenQuery concurrently (15 rows a page, the server's cap)."""

from __future__ import annotations

import sys
from pathlib import Path

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client.transfer._local import PLAN_READ_AHEAD, plan_irods_sources

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from in_flight import InFlight

HOME = "/tempZone/home/rods"
OBJECTS = 600  # 40 pages of 15 rows


def test_plan_lists_a_big_collection_with_pages_in_flight_together(irods_emulator, tmp_path) -> None:
    model = irods_emulator.model
    with model.lock:  # made in the model directly, as the benchmark's 100,000
        for d in range(3):
            model.create_collection("rods", f"{HOME}/wide/d{d}", intermediates=True)
        for i in range(OBJECTS):
            model.create_data_object("rods", f"{HOME}/wide/d{i % 3}/o{i:04d}")
    transport = InFlight(hold=0.05)
    auth = BasicAuth("rods", "rods-emulator")
    with IrodsSession(irods_emulator.base_url, auth=auth, transport=transport) as session:
        plan = plan_irods_sources(session, f"{HOME}/wide", tmp_path / "out")
    assert sorted(p.source for p in plan) == sorted(f"{HOME}/wide/d{i % 3}/o{i:04d}" for i in range(OBJECTS))
    assert all(p.destination == str(tmp_path / "out" / p.source[len(HOME) + 6 :]) for p in plan)
    assert transport.most > 8, transport.most  # more pages in flight than before (8), up to the read-ahead
    assert transport.most <= PLAN_READ_AHEAD
    # 40 pages of the listing, one empty page of the collection itself, at most read-ahead - 1 past the end,
    # and one page listing the 3 sub-collections (a tree's directories are created, empty ones included)
    assert transport.queries <= OBJECTS // 15 + 1 + PLAN_READ_AHEAD + 1
