"""HIERARCHY_ERROR is iRODS's answer when no resource votes for an operation on a data object (irods 4.3.4
irods_resource_redirect.cpp:244-245): a replica a write holds votes zero (voting.cpp:55-76), and so does
every replica on a resource marked down (SYS_RESC_IS_DOWN, voting.cpp:21-26, skipped by
irods_resource_redirect.cpp:216-218). The reply carries the code alone; the catalog tells the two apart.
The client raises IrodsLockedError only when the replicas prove a write holds the object, else the general
IrodsReplicaUnavailableError (IrodsLockedError's base class) saying which resources are marked down."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.exceptions import IrodsLockedError, IrodsReplicaUnavailableError, IrodsResponseError

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"
HIERARCHY_ERROR = ("HIERARCHY_ERROR", -1803000)


@pytest.fixture
def session(irods_emulator_resources) -> Iterator[IrodsSession]:
    irods_emulator_resources.set_limits(dstream_exposes_irods_error_codes=True)
    with IrodsSession(
        irods_emulator_resources.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy.never(),
    ) as s:
        yield s


def _mark(server, resource: str, status: str) -> None:
    with httpx2.Client(timeout=10) as http:
        token = http.post(f"{server.base_url}/authenticate", auth=("rods", "rods-emulator")).text
        data = {"op": "modify", "name": resource, "property": "status", "value": status}
        reply = http.post(
            f"{server.base_url}/resources", data=data, headers={"Authorization": f"Bearer {token}"}
        )
    assert (reply.status_code, reply.json()["irods_response"]["status_code"]) == (200, 0)


def _code(error: IrodsResponseError) -> tuple[str | None, int | None]:
    return error.irods_name, error.irods_code


def test_a_write_refused_because_the_resource_is_down_is_not_a_lock(
    session: IrodsSession, irods_emulator_resources
) -> None:
    path = f"{HOME}/on-archive"
    session.data_objects.write(path, b"kept", resource="archiveResc")
    _mark(irods_emulator_resources, "archiveResc", "down")
    try:
        with pytest.raises(IrodsReplicaUnavailableError) as caught:
            session.data_objects.write(path, b"refused")
    finally:
        _mark(irods_emulator_resources, "archiveResc", "up")
    error = caught.value
    assert not isinstance(error, IrodsLockedError)
    assert _code(error) == HIERARCHY_ERROR
    assert error.http_status == 200
    assert error.path == path
    assert "archiveResc" in str(error)
    assert "marked down" in str(error)
    assert session.data_objects.read(path) == b"kept"


def test_a_write_refused_because_another_write_holds_the_object_is_a_lock(session: IrodsSession) -> None:
    path = f"{HOME}/held"
    handle = session.data_objects.parallel_write_init(path, stream_count=2)
    try:
        with pytest.raises(IrodsLockedError) as caught:
            session.data_objects.parallel_write_init(path, stream_count=2)
    finally:
        session.data_objects.parallel_write_shutdown(handle)
    error = caught.value
    assert isinstance(error, IrodsReplicaUnavailableError)  # what catches every HIERARCHY_ERROR
    assert _code(error) == HIERARCHY_ERROR
    assert error.path == path
    assert "intermediate" in str(error)


def test_a_copy_onto_an_object_another_write_holds_names_the_held_destination(session: IrodsSession) -> None:
    src, dst = f"{HOME}/copy-src", f"{HOME}/copy-dst"
    session.data_objects.write(src, b"source")
    session.data_objects.write(dst, b"old")
    handle = session.data_objects.parallel_write_init(dst, stream_count=1, truncate=False)
    try:
        with pytest.raises(IrodsLockedError) as caught:
            session.data_objects.copy(src, dst, overwrite=True)
    finally:
        session.data_objects.parallel_write_shutdown(handle)
    assert _code(caught.value) == HIERARCHY_ERROR
    assert caught.value.path == dst
