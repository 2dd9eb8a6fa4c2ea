"""A retried ticket or collection creation finds what its earlier try made (that try died after the server
acted, before the task could report) instead of making a second live ticket or refusing its own collection.

The earlier try is simulated by doing what it did (the create) before running the operator as try 2 of a
DAG run that started a minute ago; tickets ``create`` takes no name (endpoints/tickets/src/main.cpp:204-223
at HTTP API 0.7.0: ``create_ticket(conn, type, lpath)``), so only the catalog can tell the retry which one
it was.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from irods_provider.exceptions import IrodsAlreadyExistsError
from irods_provider.operators.catalog import IrodsCreateTicketOperator
from irods_provider.operators.irods import IrodsCreateCollectionOperator

ALICE_HOME = "/tempZone/home/alice"
SETTINGS: dict[str, Any] = {"use_count": 10, "expires_in_seconds": 3600, "users": ["rods"]}


def context(try_number: int, *, run_started_ago: float = 60) -> dict[str, Any]:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=run_started_ago)
    return {"ti": SimpleNamespace(try_number=try_number), "dag_run": SimpleNamespace(start_date=start)}


@pytest.fixture
def alice(irods) -> Any:
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook("irods_alice") as hook:
        session = hook.get_conn()
        session.collections.create(f"{ALICE_HOME}/results")
        yield session


def share(**overrides: Any) -> IrodsCreateTicketOperator:
    args = {"path": f"{ALICE_HOME}/results", "irods_conn_id": "irods_alice", **SETTINGS, **overrides}
    return IrodsCreateTicketOperator(task_id="share", **args)


def first_try_ticket(alice: Any, **overrides: Any) -> str:
    """The ticket the first try created with the operator's settings before it died."""
    settings = {"use_count": 10, "expires_in": 3600, "users": ["rods"], **overrides}
    ticket: str = alice.tickets.create(f"{ALICE_HOME}/results", **settings)
    return ticket


def test_a_retried_ticket_creation_returns_the_earlier_tries_ticket(alice) -> None:
    earlier = first_try_ticket(alice)
    result = share().execute(context(2))
    assert result == {
        "ticket": earlier,
        "path": f"{ALICE_HOME}/results",
        "type": "read",
        "already_created": True,
    }
    assert [t.string for t in alice.tickets.on_path(f"{ALICE_HOME}/results")] == [earlier]
    assert share().execute(context(1))["ticket"] != earlier  # a first try always creates one


def test_a_retry_leaves_other_tickets_alone_and_makes_its_own_once(alice) -> None:
    """Other settings, or a ticket older than the DAG run, are not this task's: a new ticket is made, and
    a further retry returns that one."""
    other = first_try_ticket(alice, use_count=5)
    made = share().execute(context(2))["ticket"]
    again = share().execute(context(3))
    assert (again["ticket"], again.get("already_created")) == (made, True)
    older = share(use_count=3).execute(context(1))["ticket"]
    made_again = share(use_count=3).execute(context(2, run_started_ago=-3600))["ticket"]
    assert len({other, made, older, made_again}) == 4
    assert len(alice.tickets.on_path(f"{ALICE_HOME}/results")) == 4


def test_a_retry_does_not_return_an_expired_ticket(alice, monkeypatch) -> None:
    """The earlier try's ticket has expired by the time of the retry (a retry delay longer than its lifetime,
    or a task cleared in a DAG run still running): handing it out would give downstream tasks a dead
    ticket, so a new one is made."""
    import time

    from irods_provider.operators import _retry

    earlier = first_try_ticket(alice)  # expires in 3600 s
    later = time.time() + 7200
    monkeypatch.setattr(_retry, "time", SimpleNamespace(time=lambda: later), raising=False)
    result = share().execute(context(2))
    assert result["ticket"] != earlier
    assert "already_created" not in result
    assert len(alice.tickets.on_path(f"{ALICE_HOME}/results")) == 2


def test_the_ticket_listing_reports_settings_and_restrictions(alice) -> None:
    ticket = first_try_ticket(alice, groups=["public"])
    (info,) = alice.tickets.on_path(f"{ALICE_HOME}/results")
    assert (info.string, info.owner, info.use_count, info.users, info.groups, info.hosts) == (
        ticket,
        "alice",
        10,
        frozenset({"rods"}),
        frozenset({"public"}),
        frozenset(),
    )
    assert info.expires_at is not None
    assert abs(info.expires_at - info.created_at - 3600) <= 2
    assert ticket not in repr(info)


def test_a_retried_collection_creation_takes_only_the_earlier_tries_collection(irods, session, alice) -> None:
    path = f"{ALICE_HOME}/runs/today"
    alice.collections.create(path, intermediates=True)  # what the first try did before it died
    op = IrodsCreateCollectionOperator(task_id="mk", path=path, exist_ok=False, irods_conn_id="irods_alice")
    assert op.execute(context(2)) == {"path": path, "created": True, "already_created": True}
    with pytest.raises(IrodsAlreadyExistsError):
        op.execute(context(1))
    mine_before = f"{ALICE_HOME}/results"  # alice's, but made before the DAG run started
    theirs = "/tempZone/home/public/shared"  # made by rods in the run's window
    session.collections.create(theirs)
    for other, started_ago in ((mine_before, -3600), (theirs, 60)):
        op = IrodsCreateCollectionOperator(
            task_id="mk", path=other, exist_ok=False, irods_conn_id="irods_alice"
        )
        with pytest.raises(IrodsAlreadyExistsError):
            op.execute(context(2, run_started_ago=started_ago))
