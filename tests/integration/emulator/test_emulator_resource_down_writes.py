"""A write to an object whose every replica is on a resource marked down: each replica's vote throws
SYS_RESC_IS_DOWN (irods 4.3.4 voting.cpp:21-26, :46), the redirect skips it
(irods_resource_redirect.cpp:216-218) and, no vote left, refuses with HIERARCHY_ERROR (:244-245); the
HTTP API 0.7.0 answers INVALID_HANDLE for the stream's open failure unless built to expose the real code.
Nothing is locked: the replicas stay as they were."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from emulator_http import ZONE, Api, code

from irods_provider.testing import EmulatorServer

HOME = f"/{ZONE}/home/rods"
REPLICAS = "select DATA_REPL_NUM, RESC_NAME, DATA_REPL_STATUS where DATA_NAME = '{}'"


@pytest.fixture
def rapi(irods_emulator_resources: EmulatorServer) -> Iterator[Api]:
    with httpx2.Client(timeout=10) as http:
        yield Api(irods_emulator_resources, http)


def _mark(api: Api, resource: str, status: str) -> None:
    reply = api.post("resources", op="modify", name=resource, property="status", value=status)
    assert (reply.status_code, code(reply)) == (200, 0)


@pytest.mark.parametrize(("exposed", "expected"), [(False, -175000), (True, -1803000)])
def test_a_write_to_an_object_only_on_a_down_resource_is_refused_unlocked(
    rapi: Api, irods_emulator_resources: EmulatorServer, exposed: bool, expected: int
) -> None:
    irods_emulator_resources.set_limits(dstream_exposes_irods_error_codes=exposed)
    path = f"{HOME}/on-archive"
    assert code(rapi.write(path, b"kept", resource="archiveResc")) == 0
    _mark(rapi, "archiveResc", "down")
    assert code(rapi.write(path, b"refused")) == expected  # INVALID_HANDLE / HIERARCHY_ERROR
    rows = rapi.get("query", op="execute_genquery", query=REPLICAS.format("on-archive")).json()["rows"]
    assert rows == [["0", "archiveResc", "1"]]  # not intermediate: no write holds it
    _mark(rapi, "archiveResc", "up")
    assert code(rapi.write(path, b"written")) == 0
    assert rapi.read(path).content == b"written"


def test_a_replica_on_an_up_resource_still_takes_the_write(rapi: Api) -> None:
    path = f"{HOME}/two-replicas"
    assert code(rapi.write(path, b"both", resource="archiveResc")) == 0
    reply = rapi.post("data-objects", op="replicate", lpath=path, **{"dst-resource": "demoResc"})
    assert code(reply) == 0
    _mark(rapi, "archiveResc", "down")
    assert code(rapi.write(path, b"on demo")) == 0
    rows = rapi.get("query", op="execute_genquery", query=REPLICAS.format("two-replicas")).json()["rows"]
    assert sorted(rows) == [["0", "archiveResc", "0"], ["1", "demoResc", "1"]]
