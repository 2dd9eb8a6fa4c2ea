"""A hook's session asks ``/info`` once at most: the version probe's answer (``auto``) is its limits.

Counted on real sockets (every ``/info`` httpx2 sends), for a 0.7.0 server, a 0.6.0 server (the probe falls
back and the 0.6 answer, with its own key names, is what the session uses) and a pinned version (no probe:
the session asks once, on first need).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path

import pytest

from irods_provider.client import RetryPolicy
from irods_provider.hooks.irods import IrodsHook

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from info_counter import count_info_requests

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def hook_for(monkeypatch: pytest.MonkeyPatch, port: int, extra: str = "") -> IrodsHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_INFO", f"irods://rods:rods-emulator@127.0.0.1:{port}/http?zone=tempZone{extra}"
    )
    return IrodsHook("irods_info", retry=RetryPolicy.never())


def round_trip(hook: IrodsHook, name: str) -> None:
    session = hook.get_conn()
    blob = hashlib.sha256(name.encode()).digest() * 4096
    session.data_objects.write(f"{HOME}/{name}", blob)
    assert session.data_objects.read(f"{HOME}/{name}") == blob


def test_auto_discovery_answer_is_the_sessions_limits(irods_emulator, monkeypatch) -> None:
    seen = count_info_requests(monkeypatch)
    with hook_for(monkeypatch, irods_emulator.port) as hook:
        round_trip(hook, "auto.bin")
        limits = hook.get_conn().limits
    assert seen == ["/irods-http-api/0.7.0/info"]  # the probe only; the session did not ask again
    assert (limits.api_version, limits.irods_zone) == ("0.7.0", "tempZone")
    with hook_for(monkeypatch, irods_emulator.port) as again:  # version cached: this session asks itself
        assert again.get_conn().limits == limits
    assert seen == ["/irods-http-api/0.7.0/info"] * 2


def test_a_0_6_server_probed_answer_drives_its_profile(irods_emulator_at, monkeypatch) -> None:
    server = irods_emulator_at("0.6.0")
    seen = count_info_requests(monkeypatch)
    with hook_for(monkeypatch, server.port) as hook:
        round_trip(hook, "old.bin")
        session = hook.get_conn()
        assert session.base_url.endswith("/irods-http-api/0.6.0")
        assert session.limits.api_version == "0.6.0"
        assert session.api.behaves_as == "0.6.0"
        # 0.6 names the per-handle stream cap max_number_of_parallel_write_streams (0.7 re-purposed it).
        assert (
            session.limits.max_streams_per_handle
            == session.limits.raw["max_number_of_parallel_write_streams"]
        )
    assert seen == ["/irods-http-api/0.7.0/info", "/irods-http-api/0.6.0/info"]


def test_a_pinned_version_asks_once_on_first_need(irods_emulator, monkeypatch) -> None:
    seen = count_info_requests(monkeypatch)
    with hook_for(monkeypatch, irods_emulator.port, "&api_version=0.7.0") as hook:
        round_trip(hook, "pinned.bin")
        assert hook.get_conn().limits.api_version == "0.7.0"
        assert hook.get_conn().limits.irods_zone == "tempZone"
    assert seen == ["/irods-http-api/0.7.0/info"]


def test_async_session_takes_the_probe_answer_too(irods_emulator, monkeypatch) -> None:
    seen = count_info_requests(monkeypatch)
    hook = hook_for(monkeypatch, irods_emulator.port)

    async def run() -> str | None:
        async with await hook.get_async_conn() as session:
            await session.data_objects.write(f"{HOME}/async.bin", b"x" * 1000)
            return (await session.get_limits()).irods_zone

    assert asyncio.run(run()) == "tempZone"
    assert seen == ["/irods-http-api/0.7.0/info"]
