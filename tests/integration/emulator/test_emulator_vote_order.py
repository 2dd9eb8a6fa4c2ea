"""Which replica a write without a resource lands on when several roots hold one: the server's vote.

resolve_hier_for_open_or_write (irods 4.3.4 server/core/src/irods_resource_redirect.cpp:175-243) puts the
replicas' root resources in a ``std::map`` (name order), asks each for a vote and keeps the first root whose
vote is higher (``vote > max_vote``) than those before. A leaf votes high (1.0) for a good replica on the
server's own host, medium (0.5) for one elsewhere, low (0.25) for a stale one (voting.cpp:42-93,
voting.hpp:13-16). The emulator used to take the newest good replica (ties: the lowest number), and with no
good one the lowest-numbered stale one.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

PATH = f"/{ZONE}/home/rods/voted.bin"


@pytest.fixture
def rapi(irods_emulator_resources: EmulatorServer) -> Iterator[Api]:
    """A raw client against the preset-resources zone (``archiveResc`` beside ``demoResc``)."""
    with httpx2.Client(timeout=10) as http:
        yield Api(irods_emulator_resources, http)


def _on_two_roots(api: Api, newest: str) -> None:
    """``PATH`` with a good replica on ``demoResc`` (number 0) and on ``archiveResc`` (number 1), the one on
    ``newest`` modified last (what the emulator's old choice followed)."""
    assert code(api.post("data-objects", op="touch", lpath=PATH)) == 0
    assert api.write(PATH, b"old").status_code == 200
    r = api.post("data-objects", op="replicate", lpath=PATH, **{"dst-resource": "archiveResc"})
    assert code(r) == 0, r.text
    for rep in api.server.model.data_objects[PATH].replicas:
        rep.modify_time = 2_000_000_000 if rep.resource == newest else 1_000_000_000


def _layout(api: Api) -> dict[str, str]:
    query = "select DATA_RESC_HIER, DATA_REPL_STATUS where DATA_NAME = 'voted.bin'"
    rows = api.get("query", op="execute_genquery", query=query).json()["rows"]
    return dict(rows)


def test_the_first_root_in_name_order_wins_a_tie_of_good_replicas(rapi: Api) -> None:
    """Both replicas good on this host: both roots vote 1.0 and ``archiveResc`` comes first in the map,
    though ``demoResc``'s replica is the newer (the emulator wrote that one)."""
    _on_two_roots(rapi, newest="demoResc")
    assert rapi.write(PATH, b"new bytes").status_code == 200
    assert _layout(rapi) == {"archiveResc": "1", "demoResc": "0"}
    assert rapi.read(PATH, **{"replica-number": 1}).content == b"new bytes"


def test_a_good_replica_on_another_host_votes_medium(rapi: Api) -> None:
    """``archiveResc`` on another host than the server's votes 0.5 (voting.cpp:86-88): ``demoResc``'s 1.0
    wins although ``archiveResc`` comes first and is the newer (the emulator wrote that one)."""
    rapi.server.config.resource_hosts = {"archiveResc": "elsewhere.example.org"}
    rapi.server.reset()
    _on_two_roots(rapi, newest="archiveResc")
    assert rapi.write(PATH, b"new bytes").status_code == 200
    assert _layout(rapi) == {"archiveResc": "0", "demoResc": "1"}


def test_with_no_good_replica_the_first_root_of_equal_low_votes_wins(rapi: Api) -> None:
    """Both replicas stale vote 0.25 each: ``archiveResc`` (replica 1) is written, not the lowest number."""
    _on_two_roots(rapi, newest="demoResc")
    for rep in rapi.server.model.data_objects[PATH].replicas:
        rep.status = "0"
    assert rapi.write(PATH, b"new bytes").status_code == 200
    assert _layout(rapi) == {"archiveResc": "1", "demoResc": "0"}
