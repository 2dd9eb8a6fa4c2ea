"""decide() with what an earlier try of the task published (``earlier``): skipped under REFUSE only while
the destination and the source both hold those bytes; every other verdict is unchanged."""

from __future__ import annotations

import base64
import hashlib

import pytest

from irods_provider.client.transfer import ChecksumScheme, EarlierCopy, OverwritePolicy, SkipPolicy
from irods_provider.client.transfer._policy import (
    EARLIER_TRY,
    DestinationState,
    Refuse,
    Skip,
    Write,
    decide,
)

PATH = "/tempZone/home/rods/dst.bin"
DATA, OTHER = b"published bytes", b"someone's bytes"
assert len(DATA) == len(OTHER)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def hashed(data: bytes):
    """A side that stores no checksum (a file): hashed in the scheme asked."""

    def checksum(scheme: ChecksumScheme | None) -> str | None:
        return None if scheme is None else sha2(data)

    return checksum


EARLIER = EarlierCopy(len(DATA), sha2(DATA))


def verdict(there: bytes, source: bytes, *, stored: bool = True, **kwargs):
    theirs = (lambda scheme: sha2(there)) if stored else hashed(there)
    options = {"skip": SkipPolicy.NEVER, "overwrite": OverwritePolicy.REFUSE, "earlier": EARLIER} | kwargs
    return decide(
        destination=DestinationState.file(PATH, len(there), theirs),
        source_size=len(source),
        source_checksum=hashed(source),
        **options,
    )


@pytest.mark.parametrize("stored", [True, False])
def test_its_own_earlier_copy_of_an_unchanged_source_is_skipped(stored: bool) -> None:
    assert verdict(DATA, DATA, stored=stored) == Skip(EARLIER_TRY, sha2(DATA))


def test_a_destination_someone_replaced_is_refused() -> None:
    assert isinstance(verdict(OTHER, DATA), Refuse)


def test_a_source_that_changed_since_is_refused() -> None:
    assert isinstance(verdict(DATA, OTHER), Refuse)


def test_without_a_record_the_same_bytes_are_refused() -> None:
    assert isinstance(verdict(DATA, DATA, earlier=None), Refuse)


def test_a_record_of_another_size_is_refused() -> None:
    assert isinstance(verdict(DATA, DATA, earlier=EarlierCopy(len(DATA) + 1, sha2(DATA))), Refuse)


def test_a_stale_destination_is_refused() -> None:
    stale = DestinationState.unreadable(PATH)
    assert isinstance(
        decide(
            skip=SkipPolicy.NEVER,
            overwrite=OverwritePolicy.REFUSE,
            destination=stale,
            source_size=len(DATA),
            source_checksum=hashed(DATA),
            earlier=EARLIER,
        ),
        Refuse,
    )


def test_overwrite_still_writes_and_skip_policies_keep_their_reasons() -> None:
    assert verdict(DATA, DATA, overwrite=OverwritePolicy.OVERWRITE) == Write(replaces=True)
    assert verdict(DATA, DATA, skip=SkipPolicy.SIZE) == Skip("same size")
