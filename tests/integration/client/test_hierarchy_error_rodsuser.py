"""HIERARCHY_ERROR met by a rodsuser: the client reads RESC_STATUS to say which resources are marked down.

A real server answers that query for any user: GenQuery1 restricts only R_DATA_MAIN, R_COLL_MAIN and
R_TICKET_MAIN rows for non-admins (irods 4.3.4 general_query.cpp:1612-1730), and the HTTP API's query
endpoint checks no user type (endpoints/query/src/main.cpp:100-262 at 0.7.0). When the catalog cannot be
read after all (here: the connection carrying that query drops), the client raises the server's error
as it came, without claiming either cause.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsLockedError, IrodsReplicaUnavailableError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/alice"
HIERARCHY_ERROR = -1803000


class DropsStatusQueries(httpx2.HTTPTransport):
    """A real transport whose connection drops on any query reading RESC_STATUS (and only those)."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/query") and "RESC_STATUS" in request.url.params.get("query", ""):
            self.dropped += 1
            raise httpx2.ConnectError("connection reset by peer", request=request)
        return super().handle_request(request)


@pytest.fixture
def down_archive(irods_emulator_resources) -> Iterator[object]:
    """alice's object on archiveResc alone, that resource marked down for the test."""
    server = irods_emulator_resources
    server.set_limits(dstream_exposes_irods_error_codes=True)
    server.add_user("alice", "alice")
    with IrodsSession(server.base_url, auth=BasicAuth("alice", "alice"), retry=RetryPolicy.never()) as s:
        s.data_objects.write(f"{HOME}/on-archive", b"kept", resource="archiveResc")
    _mark(server, "down")
    yield server
    _mark(server, "up")


def _mark(server, status: str) -> None:
    """rods marks archiveResc ``status`` over HTTP (resources op=modify property=status)."""
    with httpx2.Client(timeout=10) as http:
        token = http.post(f"{server.base_url}/authenticate", auth=("rods", "rods-emulator")).text
        data = {"op": "modify", "name": "archiveResc", "property": "status", "value": status}
        bearer = {"Authorization": f"Bearer {token}"}
        reply = http.post(f"{server.base_url}/resources", data=data, headers=bearer)
    assert (reply.status_code, reply.json()["irods_response"]["status_code"]) == (200, 0)


def test_a_rodsuser_is_told_the_resource_is_marked_down(down_archive) -> None:
    auth = BasicAuth("alice", "alice")
    with IrodsSession(down_archive.base_url, auth=auth, retry=RetryPolicy.never()) as s:
        with pytest.raises(IrodsReplicaUnavailableError) as caught:
            s.data_objects.write(f"{HOME}/on-archive", b"refused")
        assert s.data_objects.read(f"{HOME}/on-archive") == b"kept"
    error = caught.value
    assert not isinstance(error, IrodsLockedError)
    assert error.irods_code == HIERARCHY_ERROR
    assert "marked down (archiveResc)" in str(error)


def test_the_server_error_is_raised_as_it_came_when_the_status_query_fails(down_archive) -> None:
    transport = DropsStatusQueries()
    auth = BasicAuth("alice", "alice")
    session = IrodsSession(down_archive.base_url, auth=auth, retry=RetryPolicy.never(), transport=transport)
    with session, pytest.raises(IrodsReplicaUnavailableError) as caught:
        session.data_objects.write(f"{HOME}/on-archive", b"refused")
    error = caught.value
    assert transport.dropped == 1
    assert not isinstance(error, IrodsLockedError)
    assert error.irods_code == HIERARCHY_ERROR
    assert "marked down" not in str(error)
    assert "no write holds it" not in str(error)
