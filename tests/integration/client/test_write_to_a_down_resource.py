"""A write whose object has replicas only on resources marked down, on servers that answer it with the bare
INVALID_HANDLE (0.4.0/0.5.0: an empty HTTP 500, data_objects/src/main.cpp:911-915 at 0.5.0; 0.6.0 and a 0.7.0
built against iRODS < 5.1: 200 + INVALID_HANDLE, :1197-1212 at 0.7.0). iRODS refuses the open because no
resource votes for a replica on a down resource (irods 4.3.4 voting.cpp:21-26, SYS_RESC_IS_DOWN); the
client reads the replicas and the resources' status and says so, as it does for 0.7.0's HIERARCHY_ERROR.
"""

from __future__ import annotations

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsLockedError, IrodsReplicaUnavailableError
from irods_provider.testing._config import RESOURCE_PRESET

HOME = "/tempZone/home/rods"


def _mark(server, resource: str, status: str) -> None:
    with httpx2.Client(timeout=10) as http:
        token = http.post(f"{server.base_url}/authenticate", auth=("rods", "rods-emulator")).text
        data = {"op": "modify", "name": resource, "property": "status", "value": status}
        reply = http.post(
            f"{server.base_url}/resources", data=data, headers={"Authorization": f"Bearer {token}"}
        )
    assert (reply.status_code, reply.json()["irods_response"]["status_code"]) == (200, 0)


@pytest.mark.parametrize("version", ["0.4.0", "0.5.0", "0.6.0", "0.7.0"])
def test_a_write_to_an_object_whose_resources_are_down_says_so(irods_emulator_at, version) -> None:
    server = irods_emulator_at(version)
    server.config.resources = RESOURCE_PRESET
    server.reset()
    path = f"{HOME}/on-archive"
    with IrodsSession(
        server.base_url, auth=BasicAuth("rods", "rods-emulator"), retry=RetryPolicy.never()
    ) as s:
        s.data_objects.write(path, b"kept", resource="archiveResc")
        _mark(server, "archiveResc", "down")
        try:
            with pytest.raises(IrodsReplicaUnavailableError) as caught:
                s.data_objects.write(path, b"refused")
        finally:
            _mark(server, "archiveResc", "up")
        assert s.data_objects.read(path) == b"kept"
    error = caught.value
    assert not isinstance(error, IrodsLockedError)
    assert error.irods_name == "INVALID_HANDLE"
    assert "marked down (archiveResc)" in str(error)
    assert error.path == path
