"""Issue 18, finding 4: ticket strings never reach a log line and are registered with the masker.

Before the fix httpx2 logged ``...&ticket=4x0tPG...`` verbatim at INFO for every ticket read, and the hook
never told Airflow's masker about tickets it created or used.
"""

from __future__ import annotations

import json
import logging

import pytest

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client._redact import HTTP_LOGGERS, redact_tickets
from irods_provider.hooks import irods as hook_module
from irods_provider.hooks.irods import IrodsHook

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def _admin(server) -> IrodsSession:
    return IrodsSession(
        server.base_url, auth=BasicAuth(server.config.admin_user, server.config.admin_password)
    )


def test_a_ticket_read_logs_no_ticket(irods_emulator, caplog, http_loggers_reset) -> None:
    irods_emulator.add_user("alice", "alice-password")
    seen: list[str] = []
    with _admin(irods_emulator) as admin:
        admin.data_objects.write(f"{HOME}/shared.txt", b"shared bytes")
        ticket = admin.tickets.create(f"{HOME}/shared.txt")
    caplog.set_level(logging.DEBUG)
    for name in HTTP_LOGGERS:  # whatever level an earlier test's logging setup left on them
        caplog.set_level(logging.DEBUG, logger=name)
    with IrodsSession(
        irods_emulator.base_url, auth=BasicAuth("alice", "alice-password"), on_secret=seen.append
    ) as alice:
        assert alice.data_objects.read(f"{HOME}/shared.txt", ticket=ticket) == b"shared bytes"
        assert alice.data_objects.stat(f"{HOME}/shared.txt", ticket=ticket).size == 12
        assert b"".join(alice.data_objects.iter_read(f"{HOME}/shared.txt", ticket=ticket)) == b"shared bytes"
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("httpx")]
    assert any("op=read" in line for line in lines), "httpx2 logged no request: the check proves nothing"
    assert not [line for line in lines if ticket in line]
    assert any("ticket=***" in line for line in lines)
    assert ticket not in caplog.text
    assert seen == [ticket] * 3


def test_tickets_created_or_used_through_the_hook_are_masked(irods_emulator, monkeypatch) -> None:
    masked: list[str] = []
    monkeypatch.setattr(hook_module, "mask_secret", masked.append)
    config = irods_emulator.config
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_TICKETS",
        json.dumps(
            {
                "conn_type": "irods",
                "host": "127.0.0.1",
                "port": irods_emulator.port,
                "schema": "http",
                "login": config.admin_user,
                "password": config.admin_password,
                "extra": {"zone": "tempZone"},
            }
        ),
    )
    with IrodsHook("irods_tickets") as hook:
        session = hook.get_conn()
        session.data_objects.write(f"{HOME}/t.txt", b"t")
        ticket = session.tickets.create(f"{HOME}/t.txt")
        assert ticket in masked
        masked.clear()
        session.data_objects.stat(f"{HOME}/t.txt", ticket=ticket)
        assert masked == [ticket]
        session.tickets.remove(ticket)
        assert masked == [ticket, ticket]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET http://h/api?op=read&ticket=4x0tPGabc&lpath=/a",
            "GET http://h/api?op=read&ticket=***&lpath=/a",
        ),
        ("http://h/api?ticket=abc", "http://h/api?ticket=***"),
        ("http://h/api?TICKET=abc#frag", "http://h/api?TICKET=***#frag"),
        ("no tickets here: lpath=/a/ticket=x", "no tickets here: lpath=/a/ticket=x"),
    ],
)
def test_redact_tickets(text: str, expected: str) -> None:
    assert redact_tickets(text) == expected
