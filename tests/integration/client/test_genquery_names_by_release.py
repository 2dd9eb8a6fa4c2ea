"""The provider's own GenQuery1 strings find names holding keywords, quotes and operators on 4.3 and 5.0.

4.3 splits the query by substring search and binds a condition's text between its first and last quote
verbatim; 5.0 parses a grammar with ``''`` as the quote escape. The emulator answers as the release it is
configured as (``irods_server_version``), so every check runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from irods_provider.client import AVU, BasicAuth, EntryKind, IrodsSession, Kinds
from irods_provider.exceptions import IrodsResponseError
from irods_provider.fs import IrodsFileSystem
from irods_provider.hooks._checks import StabilityTracker, collection_stability, path_matches, run_sync
from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"
NAMES = [
    "nowhere where.txt",
    "WHERE",
    "a'b",
    "x=y",
    "it's 'q' and more",
    "select",
    "50%_off",
    "a\\x41",
    "é 漢字",
]
RELEASES = ["rods4.3.2", "rods4.3.4", "rods5.0.1"]


@pytest.fixture(params=RELEASES)
def server(
    request: pytest.FixtureRequest, irods_emulator_variants: Callable[..., EmulatorServer]
) -> EmulatorServer:
    return irods_emulator_variants(irods_server_version=request.param)


@pytest.fixture
def session(server: EmulatorServer) -> Iterator[IrodsSession]:
    with IrodsSession(server.base_url, auth=BasicAuth("rods", server.config.admin_password)) as s:
        yield s


# The atomic metadata API finds its object with a GenQuery string holding the path unescaped (irods 4.3.4
# atomic_apply_metadata_operations.cpp:158-167; 5.0.2 escapes quotes only): 4.3 reads an odd number of
# quotes in the collection as one condition, 5.0 reads \x41 as "A"; both then answer SYS_INVALID_INPUT_PARAM.
ATOMIC_LOOKUP_MISSES = {
    ("rods4.3.2", "a'b"),
    ("rods4.3.2", "it's 'q' and more"),
    ("rods4.3.4", "a'b"),
    ("rods4.3.4", "it's 'q' and more"),
    ("rods5.0.1", "a\\x41"),
}


@pytest.mark.parametrize("name", NAMES)
def test_listing_exists_and_metadata_find_hostile_names(
    session: IrodsSession, server: EmulatorServer, name: str
) -> None:
    coll = f"{HOME}/{name} where"
    obj = f"{coll}/{name}"
    session.collections.create(coll)
    session.data_objects.write(obj, b"12345")
    session.data_objects.write(f"{coll}/{name}x", b"decoy")
    assert [e.path for e in session.collections.iterate(coll, kinds=Kinds.DATA_OBJECTS)] == sorted(
        [obj, f"{coll}/{name}x"]
    )
    assert coll in {e.path for e in session.collections.walk(HOME, kinds=Kinds.COLLECTIONS)}
    assert session.metadata.kind_of(obj) is EntryKind.DATA_OBJECT
    assert session.metadata.kind_of(coll) is EntryKind.COLLECTION
    assert session.data_objects.exists(obj)
    assert session.collections.exists(coll)
    assert [r.number for r in session.data_objects.replicas(obj)] == [0]
    if (server.config.irods_server_version, name) in ATOMIC_LOOKUP_MISSES:
        with pytest.raises(IrodsResponseError) as missed:
            session.metadata.add(obj, AVU(name, name, "u"))
        assert missed.value.irods_code == -130000
        assert "cannot find" in str(missed.value)
        server.add_avu(obj, name, name, "u")  # as a native client (imeta, python-irodsclient) can
    else:
        session.metadata.add(obj, AVU(name, name, "u"))
    assert session.metadata.list(obj) == [AVU(name, name, "u")]
    assert list(session.metadata.find(name, name)) == [(obj, EntryKind.DATA_OBJECT)]


@pytest.mark.parametrize("name", NAMES)
def test_sensor_checks_and_fs_created_find_hostile_names(
    session: IrodsSession, server: EmulatorServer, name: str
) -> None:
    coll = f"{HOME}/{name}"
    session.collections.create(coll)
    session.data_objects.write(f"{coll}/{name}", b"12345")
    found = run_sync(path_matches(f"{coll}/{name}", kind="data_object"), session)
    assert [m["path"] for m in found] == [f"{coll}/{name}"]
    tracker = StabilityTracker(inactivity_period=10.0)
    assert run_sync(collection_stability(coll, tracker, 0.0), session) is None
    settled = run_sync(collection_stability(coll, tracker, 11.0), session)
    assert settled is not None
    assert (settled.objects, settled.bytes) == (1, 5)
    fs = IrodsFileSystem(session=session, skip_instance_cache=True)
    assert fs.created(f"{coll}/{name}").year >= 2024
    assert fs.created(coll).year >= 2024
