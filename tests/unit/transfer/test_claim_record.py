"""Reading an overwrite in place's claim record (transfer/_claim, client/_temporaries): who holds it, since
when, its lease. The record must stay what earlier releases read (``<attempt> <owner> <epoch seconds>``); a
renewal of another attempt (a renewal racing a takeover lands on the new holder's claim) never counts."""

from __future__ import annotations

from irods_provider.client import AVU
from irods_provider.client._temporaries import LEASE_ATTRIBUTE, WRITER_ATTRIBUTE, claim_lapses_at
from irods_provider.client.transfer._claim import LEGACY_LEASE_SECONDS, Claim, _recorded, is_abandoned

WRITER = AVU(WRITER_ATTRIBUTE, "a1 owner 1000")


def test_a_record_without_renewals_is_an_earlier_releases_with_a_day_of_lease() -> None:
    found = _recorded([WRITER])
    assert found is not None
    assert (found.attempt, found.owner, found.since, found.lease) == (
        "a1",
        "owner",
        1000.0,
        LEGACY_LEASE_SECONDS,
    )
    assert not found.renewing
    assert claim_lapses_at([WRITER]) is None  # the cleanup judges it by its checksums and min_age


def test_the_latest_renewal_of_the_recorded_attempt_counts_and_others_do_not() -> None:
    avus = [
        WRITER,
        AVU(LEASE_ATTRIBUTE, "a1 1000.250 60"),
        AVU(LEASE_ATTRIBUTE, "a1 1100.500 60"),
        AVU(LEASE_ATTRIBUTE, "b2 5000.000 60"),  # another attempt's renewal, landed after a takeover
        AVU(LEASE_ATTRIBUTE, "a1 nan 60"),
        AVU(LEASE_ATTRIBUTE, "a1 9999 -1"),
        AVU(LEASE_ATTRIBUTE, "a1 garbage"),
    ]
    found = _recorded(avus)
    assert found is not None
    assert (found.renewed, found.lease, found.renewing) == (1100.5, 60.0, True)
    assert claim_lapses_at(avus) == 1160.5


def test_a_claim_is_abandoned_once_unrenewed_for_its_lease_or_by_its_own_transfer() -> None:
    me = Claim.new("my transfer", "/z/.a.irods-part-1", lease=60)
    live = Claim("a1", "other", since=me.since - 30, lease=60, renewed=me.since - 30)
    lapsed = Claim("a1", "other", since=me.since - 600, lease=60, renewed=me.since - 61)
    assert not is_abandoned(live, me)
    assert is_abandoned(lapsed, me)
    assert is_abandoned(Claim("a1", me.owner, since=me.since, lease=60, renewed=me.since), me)
    assert is_abandoned(None, me)


def test_the_record_keeps_the_earlier_format_and_the_lease_its_own() -> None:
    me = Claim.new(None, "/z/.a.irods-part-1", lease=42).stamped()
    assert Claim.parse(me.value) is not None
    assert len(me.value.split(" ")) == 3
    assert me.lease_value(12.3456) == f"{me.attempt} 12.346 42"
