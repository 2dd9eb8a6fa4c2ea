"""``verify_replicas="auto"`` learns the replica layout per collection, not per zone and resource.

A site may pick the resource by path (``acSetRescSchemeForCreate`` with ``msiSetDefaultResc`` under
``on($objPath like "/zone/home/project/*")``): uploads that name no resource land on a replication resource
in one collection and on a single-replica one beside it. Learning "one replica" in the first must not skip
the replica checks in the second. The emulator plays such a site (``EmulatorConfig.default_resources``).
"""

from __future__ import annotations

import io

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, upload_object
from irods_provider.exceptions import IrodsChecksumMismatchError, IrodsStaleReplicaError
from irods_provider.testing.pytest_plugin import irods_emulator_resources  # noqa: F401

HOME = "/tempZone/home/rods"
PLAIN = f"{HOME}/plain"
REPLICATED = f"{HOME}/replicated"
DATA = bytes(range(256)) * 64
CFG = TransferConfig(chunk_size=64 * 1024)  # no resource named: the site's policy picks


@pytest.fixture
def site(irods_emulator_resources):  # noqa: F811
    irods_emulator_resources.config.default_resources = ((REPLICATED, "replResc"),)
    return irods_emulator_resources


@pytest.fixture
def session(site):
    with IrodsSession(
        site.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0),
    ) as s:
        s.collections.create(PLAIN)
        s.collections.create(f"{REPLICATED}/deeper", intermediates=True)
        yield s


def hierarchies(session: IrodsSession, path: str) -> list[str]:
    return [r.hierarchy for r in session.data_objects.replicas(path)]


def test_the_site_policy_places_objects_by_collection(session) -> None:
    session.data_objects.write(f"{PLAIN}/a.bin", DATA)
    session.data_objects.write(f"{REPLICATED}/deeper/b.bin", DATA)
    session.data_objects.write(f"{REPLICATED}/named.bin", DATA, resource="demoResc")  # "preferred"
    assert hierarchies(session, f"{PLAIN}/a.bin") == ["demoResc"]
    assert hierarchies(session, f"{REPLICATED}/deeper/b.bin") == [
        "replResc;replResc_ufs0",
        "replResc;replResc_ufs1",
    ]
    assert hierarchies(session, f"{REPLICATED}/named.bin") == ["demoResc"]


@pytest.mark.parametrize(
    ("fault", "error"), [("corrupt", IrodsChecksumMismatchError), ("stale", IrodsStaleReplicaError)]
)
def test_a_single_replica_collection_does_not_teach_a_replicated_one(session, site, fault, error) -> None:
    first = upload_object(session, io.BytesIO(DATA), f"{PLAIN}/first.bin", size=len(DATA), config=CFG)
    assert hierarchies(session, f"{PLAIN}/first.bin") == ["demoResc"]  # learned: one replica here
    site.set_replica_fault("replResc_ufs1", fault)
    with pytest.raises(error) as caught:
        upload_object(session, io.BytesIO(DATA), f"{REPLICATED}/second.bin", size=len(DATA), config=CFG)
    assert (caught.value.replica_number, caught.value.resource) == (1, "replResc;replResc_ufs1")
    assert session.collections.list(REPLICATED) == [f"{REPLICATED}/deeper"]  # nothing published
    assert session.data_objects.read(f"{PLAIN}/first.bin") == DATA
    assert first.checksum is not None
