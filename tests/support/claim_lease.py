"""Test helper: make an overwrite in place's claim look as its killed writer left it a lease ago."""

from __future__ import annotations

from typing import Any

from irods_provider.client import AVU, MetadataOperation
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE


def lapse(session: Any, claim: str) -> None:
    """Backdate ``claim``'s record and renewal by its lease and a second, in one atomic call: the claim of
    a writer killed that long ago (it no longer renews), which any other writer may take over."""
    avus = session.metadata.list(claim)
    leases = [a for a in avus if a.attribute == LEASE_ATTRIBUTE]
    assert leases, f"{claim} records no renewal"
    lease = max(float(a.value.split(" ")[2]) for a in leases)
    ops = []
    for avu in avus:
        parts = avu.value.split(" ")
        if avu.attribute == WRITER_ATTRIBUTE:
            value = f"{parts[0]} {parts[1]} {int(float(parts[2]) - lease - 1)}"
        elif avu.attribute == LEASE_ATTRIBUTE:
            value = f"{parts[0]} {float(parts[1]) - lease - 1:.3f} {parts[2]}"
        else:
            continue
        ops += [MetadataOperation("remove", avu), MetadataOperation("add", AVU(avu.attribute, value))]
    session.metadata.apply(claim, ops)
