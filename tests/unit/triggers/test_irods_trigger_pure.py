"""Triggers without a server: serialize() round-trips, events rebuild typed errors, stability logic."""

from __future__ import annotations

import importlib
import pickle

import pytest

from irods_provider.exceptions import IrodsError, IrodsPermissionError, IrodsUsageError
from irods_provider.hooks._checks import (
    CollectionSignature,
    CollectionState,
    StabilityTracker,
    metadata_matches,
    path_matches,
    signature_query,
    split_glob,
)
from irods_provider.triggers._events import CheckEvent
from irods_provider.triggers.irods import (
    IrodsCollectionStableTrigger,
    IrodsMetadataTrigger,
    IrodsPathTrigger,
)

TRIGGERS = [
    IrodsPathTrigger(
        path="/z/home/a/*.csv",
        irods_conn_id="c1",
        kind="data_object",
        newer_than=5,
        poke_interval=2,
        glob=True,
    ),
    IrodsMetadataTrigger(attribute="state", value="ready", units="u", under="/z/home", irods_conn_id="c2"),
    IrodsMetadataTrigger(attribute="state", path="/z/home/a", irods_conn_id="c3", poke_interval=0.5),
    IrodsCollectionStableTrigger(
        path="/z/home/in", irods_conn_id="c4", inactivity_period=30, min_objects=2, allow_delete=False
    ),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_serialize_round_trips_exactly(trigger) -> None:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is type(trigger)
    assert classpath == f"irods_provider.triggers.irods.{type(trigger).__name__}"
    rebuilt = cls(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert pickle.loads(pickle.dumps(kwargs)) == kwargs  # plain data only


def test_serialize_kwargs_are_complete() -> None:
    _, kwargs = TRIGGERS[0].serialize()
    assert kwargs == {
        "irods_conn_id": "c1",
        "poke_interval": 2,
        "path": "/z/home/a/*.csv",
        "kind": "data_object",
        "newer_than": 5,
        "glob": True,
        "exponential_backoff": False,
        "max_wait": None,
        "started_at": None,
        "max_matches": 1000,
    }


def test_error_event_carries_class_code_and_rebuilds_the_typed_error() -> None:
    error = IrodsPermissionError(
        "no access", http_status=200, irods_code=-818000, path="/z/home/other", server_message="nope"
    )
    payload = CheckEvent.failure(error).to_payload()
    assert payload["status"] == "error"
    assert payload["error_class"] == "IrodsPermissionError"
    assert (payload["irods_code"], payload["http_status"], payload["path"]) == (-818000, 200, "/z/home/other")
    rebuilt = CheckEvent.from_payload(payload).error()
    assert type(rebuilt) is IrodsPermissionError
    assert rebuilt.irods_code == -818000
    assert rebuilt.irods_name == "CAT_NO_ACCESS_PERMISSION"
    assert "no access" in str(rebuilt)


def test_error_event_round_trips_operation_and_server_message() -> None:
    """The re-raised error says as much as the one the trigger caught: str() included."""
    error = IrodsPermissionError(
        "iRODS HTTP API refused collections.stat",
        http_status=200,
        irods_code=-818000,
        operation="collections.stat",
        path="/tempZone/home/alice/x",
        server_message="User does not have permission",
    )
    rebuilt = CheckEvent.from_payload(CheckEvent.failure(error).to_payload()).error()
    assert (rebuilt.operation, rebuilt.server_message) == (
        "collections.stat",
        "User does not have permission",
    )
    assert str(rebuilt) == str(error)
    usage = CheckEvent.from_payload(CheckEvent.failure(IrodsUsageError("bad", operation="op")).to_payload())
    assert usage.error().operation == "op"
    # A payload from a trigger of an older release (without the two keys) still rebuilds.
    older = {
        k: v
        for k, v in CheckEvent.failure(error).to_payload().items()
        if k not in ("operation", "server_message")
    }
    assert CheckEvent.from_payload(older).error().irods_code == -818000


def test_foreign_error_class_becomes_irods_error() -> None:
    payload = CheckEvent.failure(RuntimeError("boom")).to_payload()
    rebuilt = CheckEvent.from_payload(payload).error()
    assert type(rebuilt) is IrodsError
    assert payload["error_class"] == "IrodsError"  # the typed error the trigger reports
    assert str(rebuilt) == "the check failed with RuntimeError: boom"


def _sig(replicas: int, size: int, newest: str = "01700000000") -> CollectionSignature:
    return CollectionSignature(replicas=replicas, bytes=size, newest=newest, last_id=str(replicas))


def test_stability_needs_the_same_signature_for_the_whole_period() -> None:
    tracker = StabilityTracker(inactivity_period=10, min_objects=1)
    assert not tracker.observe(_sig(1, 10), now=0)
    assert not tracker.observe(_sig(1, 10), now=9)
    assert not tracker.observe(_sig(2, 20), now=10)  # changed: clock restarts
    assert not tracker.observe(_sig(2, 20), now=19)
    assert not tracker.observe(_sig(2, 20, newest="01700000001"), now=20)  # rewritten, same size
    assert tracker.observe(_sig(2, 20, newest="01700000001"), now=30)


def test_stability_refuses_deleted_objects_only_when_asked() -> None:
    strict = StabilityTracker(inactivity_period=0, allow_delete=False)
    strict.check_deletions(CollectionState(3, 30))
    strict.check_deletions(CollectionState(3, 30))
    with pytest.raises(IrodsUsageError, match=r"deleted .* \(3 -> 2\) and allow_delete is False"):
        strict.check_deletions(CollectionState(2, 20))
    lenient = StabilityTracker(inactivity_period=0)
    lenient.check_deletions(CollectionState(3, 30))
    lenient.check_deletions(CollectionState(2, 20))
    assert lenient.objects_seen == 2


def test_signature_from_rows_reads_the_aggregate_and_its_empty_shape() -> None:
    assert CollectionSignature.from_rows([["4", "120", "01700000009", "10042"]]) == CollectionSignature(
        4, 120, "01700000009", "10042"
    )
    assert CollectionSignature.from_rows([["0", "", "", ""]]) == CollectionSignature(0, 0, "", "")
    assert CollectionSignature.from_rows([]) == CollectionSignature(0, 0, "", "")


def test_signature_query_covers_the_tree_and_leaves_temporaries_out() -> None:
    query = signature_query("/z/home/it's")
    # The quote is widened to '_' (iRODS 4.3 binds the text between the first and last quote verbatim, so a
    # doubled quote would match nothing there); the over-match only delays stability.
    assert query == (
        "select COUNT(DATA_ID), SUM(DATA_SIZE), MAX(DATA_MODIFY_TIME), MAX(DATA_ID), MAX(DATA_REPL_STATUS) "
        "where COLL_NAME like '/z/home/it_s' || like '/z/home/it_s/%' "
        "and DATA_NAME not like '.%.irods-part-%' && not like '.%.irods-old-%' && not like '.%.irods-keep-%'"
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/z/home/a", ("/z/home/a", [])),
        ("/z/home/a/*.csv", ("/z/home/a", ["*.csv"])),
        ("/z/home/*/in/x?", ("/z/home", ["*", "in", "x?"])),
        ("/z/[ab]", ("/z", ["[ab]"])),
    ],
)
def test_split_glob(pattern: str, expected: tuple[str, list[str]]) -> None:
    assert split_glob(pattern) == expected


def test_split_glob_needs_an_absolute_path() -> None:
    with pytest.raises(IrodsUsageError, match="absolute logical path"):
        split_glob("home/*.csv")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: path_matches("/z/home/*.csv", kind="file"), "kind must be one of any, collection"),
        (lambda: path_matches("home/*.csv"), "absolute logical path"),
        (lambda: metadata_matches(attribute=""), "an AVU attribute name is needed"),
        (lambda: metadata_matches(attribute="a", kind="dir"), "kind must be one of any, collection"),
    ],
)
def test_checks_refuse_bad_arguments_before_any_call(build, message) -> None:
    # Raised when the check is built, so a sensor fails before it looks up a connection or opens a session.
    with pytest.raises(IrodsUsageError, match=message):
        build()
