"""A retried ticket creation finds its earlier try's ticket when the ticket names allowed hosts.

Found by an adversarial run: iRODS stores a ticket's allowed host as the dotted IPv4 address it resolves
the name to (``convertHostToIp`` and the ``add host`` branch of db_mod_ticket_op: irods 4.3.2
plugins/database/src/db_plugin.cpp:1956-1965 and :14167-14180), so the catalog lists ``127.0.0.1`` for a
ticket made with ``hosts=["localhost"]``. The retry compared the names it asked for with those addresses,
never found the earlier try's ticket and made a second live one, which is what the retry is there to
prevent.
"""

from __future__ import annotations

import datetime
import socket
from types import SimpleNamespace
from typing import Any

import pytest

from irods_provider.exceptions import IrodsResponseError
from irods_provider.operators.catalog import IrodsCreateTicketOperator

ALICE_HOME = "/tempZone/home/alice"
RESULTS = f"{ALICE_HOME}/results"
LOCALHOST = socket.getaddrinfo("localhost", None, socket.AF_INET)[0][4][0]


def context(try_number: int) -> dict[str, Any]:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=60)
    return {"ti": SimpleNamespace(try_number=try_number), "dag_run": SimpleNamespace(start_date=start)}


@pytest.fixture
def alice(irods) -> Any:
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook("irods_alice") as hook:
        session = hook.get_conn()
        session.collections.create(RESULTS)
        yield session


def share(hosts: list[str]) -> IrodsCreateTicketOperator:
    return IrodsCreateTicketOperator(
        task_id="share", path=RESULTS, irods_conn_id="irods_alice", use_count=10, hosts=hosts
    )


def test_the_catalog_lists_a_tickets_host_as_the_address_it_resolves_to(alice) -> None:
    """The emulator stores what the server stores: the name resolved to a dotted IPv4 address."""
    alice.tickets.create(RESULTS, use_count=10, hosts=["localhost", "192.0.2.7"])
    (info,) = alice.tickets.on_path(RESULTS)
    assert info.hosts == frozenset({LOCALHOST, "192.0.2.7"})


def test_an_unresolvable_host_fails_the_creation_and_the_half_made_ticket_is_removed(irods, alice) -> None:
    """Hosts are added last, one request each, after the ticket exists (endpoints/tickets/src/main.cpp:307-314
    at HTTP API 0.7.0); a name that does not resolve is CAT_HOSTNAME_INVALID and the server keeps the ticket,
    with the users added before it; the client removes that half-made ticket again."""
    made: list[Any] = []
    create_ticket = irods.model.create_ticket

    def spied(*args: Any, **kwargs: Any) -> str:
        try:
            return str(create_ticket(*args, **kwargs))
        finally:
            made.extend(irods.model.tickets.values())

    irods.model.create_ticket = spied
    try:
        with pytest.raises(IrodsResponseError) as caught:
            alice.tickets.create(RESULTS, users=["rods"], hosts=["no-such-host.invalid"])
    finally:
        del irods.model.create_ticket
    assert caught.value.irods_name == "CAT_HOSTNAME_INVALID"
    assert [(t.users, t.hosts) for t in made] == [(["rods"], [])]  # what the server left
    assert alice.tickets.on_path(RESULTS) == []


@pytest.mark.parametrize("hosts", [["localhost"], [LOCALHOST], ["localhost", "192.0.2.7"]])
def test_a_retried_creation_with_hosts_returns_the_earlier_tries_ticket(alice, hosts) -> None:
    earlier = share(hosts).execute(context(1))["ticket"]
    again = share(hosts).execute(context(2))
    assert (again["ticket"], again.get("already_created")) == (earlier, True)
    assert [t.string for t in alice.tickets.on_path(RESULTS)] == [earlier]  # no second live ticket


def test_a_retry_asking_for_other_hosts_makes_its_own(alice) -> None:
    earlier = share(["localhost"]).execute(context(1))["ticket"]
    for hosts in (["192.0.2.7"], ["localhost", "192.0.2.7"], []):
        made = share(hosts).execute(context(2))
        assert made["ticket"] != earlier
        assert "already_created" not in made
