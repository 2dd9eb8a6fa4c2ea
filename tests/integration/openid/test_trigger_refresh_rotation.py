"""Deferrable sensors on a rotating refresh token: workers and the triggerer present the same newest token.

The provider is the real one (django-oauth-toolkit) with rotation and reuse protection on: a rotated-away
refresh token presented again is refused (invalid_grant) and revokes the whole family, as Keycloak's
"revoke refresh token" does. The worker's task process and the triggerer's trigger process each reach the
API server's Variables the way Airflow 3.3 wires them: the Task SDK's ``SUPERVISOR_COMMS`` (a
``CommsDecoder`` in the task process, the triggerer's ``TriggerCommsDecoder`` in the trigger process, whose
triggers run in Airflow's own ``TriggerRunner``) over a socket to a supervisor that answers with Airflow's
request handlers. Each process has its own in-process token store, as separate processes do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any
from unittest import mock

import msgspec
import pytest
from airflow.sdk.execution_time import request_handlers as handlers
from oidc_provider.harness import OidcProvider, protected_emulator, start_oidc_provider
from pydantic import Field, TypeAdapter
from trigger_runner import run_until

from irods_provider.client import InProcessTokenStore, OpenIdRefreshToken
from irods_provider.hooks import _token_store
from irods_provider.hooks._token_store import VariableTokenStore

pytestmark = pytest.mark.timeout(90)

# Hour-long access tokens: each new session renews exactly once, so the provider's counts are exact.
CLIENT = "irods-pw-long"
CONN_ID = "irods_oidc_rotating"
WORKER = Path(__file__).with_name("trigger_rotation_worker.py")
HOME = "/tempZone/home/alice"


class ApiServerVariables:
    """The API server's Variable table, behind the execution API client's ``variables`` operations."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.history: list[tuple[str, str]] = []  # every write, to find every token that was stored
        self.lock = threading.Lock()

    @property
    def variables(self) -> ApiServerVariables:
        return self

    def get(self, key: str) -> Any:
        from airflow.sdk.api.datamodels._generated import VariableResponse
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time.comms import ErrorResponse

        with self.lock:
            value = self.values.get(key)
        if value is None:  # what the client returns for the API server's 404
            return ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": key})
        return VariableResponse(key=key, value=value)

    def set(self, key: str, value: str | None, description: str | None = None) -> Any:
        from airflow.sdk.execution_time.comms import OKResponse

        with self.lock:
            self.values[key] = value or ""
            self.history.append((key, value or ""))
        return OKResponse(ok=True)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def _serve(sock: socket.socket, api: ApiServerVariables) -> None:
    """The supervisor's end: length-prefixed msgpack frames, answered by Airflow's request handlers."""
    from airflow.sdk.execution_time.comms import (
        ErrorResponse,
        GetVariable,
        MaskSecret,
        PutVariable,
        _RequestFrame,
        _ResponseFrame,
    )

    decoder = msgspec.msgpack.Decoder(_RequestFrame)
    adapter: TypeAdapter[Any] = TypeAdapter(
        Annotated[GetVariable | PutVariable | MaskSecret, Field(discriminator="type")]
    )
    while head := _recv_exactly(sock, 4):
        frame = decoder.decode(_recv_exactly(sock, int.from_bytes(head, "big")))
        resp: Any = None
        opts: dict[str, bool] = {}
        try:
            msg = adapter.validate_python(frame.body)
        except ValueError:
            resp = ErrorResponse(detail={"unexpected": str((frame.body or {}).get("type"))})
        else:
            if isinstance(msg, GetVariable):
                resp, opts = handlers.handle_get_variable(api, msg)  # type: ignore[arg-type]
            elif isinstance(msg, PutVariable):
                resp, opts = handlers.handle_put_variable(api, msg)  # type: ignore[arg-type]
            else:
                _supervisor_mask(msg.value, msg.name)
        body = None if resp is None else resp.model_dump(**opts)
        sock.sendall(_ResponseFrame(id=frame.id, body=body).as_bytes())


def _supervisor_mask(value: Any, name: str | None = None) -> None:
    """The supervisor registers a value with its own masker (it has no supervisor to tell in turn)."""
    from airflow.sdk.log import _secrets_masker

    _secrets_masker().add_mask(value, name)


@contextlib.contextmanager
def _supervisor(api: ApiServerVariables) -> Iterator[socket.socket]:
    """A socket to a supervisor thread serving ``api``; the process's own token store is a fresh one."""
    ours, theirs = socket.socketpair()
    thread = threading.Thread(target=_serve, args=(theirs, api), daemon=True)
    thread.start()
    fresh = InProcessTokenStore()
    try:
        with (
            mock.patch.object(_token_store, "PROCESS_TOKEN_STORE", fresh),
            mock.patch.object(handlers, "mask_secret", _supervisor_mask),
        ):
            yield ours
    finally:
        ours.close()
        thread.join(timeout=10)
        theirs.close()


@contextlib.contextmanager
def worker_task_process(api: ApiServerVariables) -> Iterator[None]:
    """A task process run by a worker's supervisor: SUPERVISOR_COMMS is a ``CommsDecoder``."""
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import CommsDecoder, ToSupervisor, ToTask

    with _supervisor(api) as sock:
        comms = CommsDecoder[ToTask, ToSupervisor](socket=sock)
        with mock.patch.object(task_runner, "SUPERVISOR_COMMS", comms, create=True):
            yield


@contextlib.asynccontextmanager
async def triggerer_process(api: ApiServerVariables) -> AsyncIterator[Any]:
    """The triggerer's trigger process: TriggerRunner, SUPERVISOR_COMMS a ``TriggerCommsDecoder``."""
    from airflow.jobs.triggerer_job_runner import TriggerCommsDecoder, TriggerRunner
    from airflow.sdk.execution_time import task_runner

    with _supervisor(api) as sock:
        reader, writer = await asyncio.open_connection(sock=sock)
        comms = TriggerCommsDecoder(async_writer=writer, async_reader=reader, socket=sock)
        await comms.start_reader()
        try:
            with mock.patch.object(task_runner, "SUPERVISOR_COMMS", comms, create=True):
                yield TriggerRunner()  # type: ignore[no-untyped-call]
        finally:
            assert comms._reader_task is not None
            comms._reader_task.cancel()
            await asyncio.gather(comms._reader_task, return_exceptions=True)
            writer.close()


@pytest.fixture(scope="module")
def rotating_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider of its own, with reuse protection on."""
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-trigger"), reuse_protection=True) as provider:
        yield provider


@pytest.fixture(scope="module")
def emulator(rotating_provider: OidcProvider) -> Iterator[Any]:
    """The emulator as a protected resource of that provider (bearer tokens introspected there)."""
    with protected_emulator(rotating_provider) as server:
        yield server


@pytest.fixture
def offline_token(rotating_provider: OidcProvider, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh refresh token of alice, configured in the connection CONN_ID (never rotated there)."""
    answer = rotating_provider.fetch_token(
        CLIENT, grant_type="password", username="alice", password=rotating_provider.users["alice"]
    )
    extra = {
        "zone": "tempZone",
        "auth_mode": "openid_refresh_token",
        "openid_discovery_url": rotating_provider.issuer,
        "openid_allow_insecure_http": True,
        "openid_client_id": CLIENT,
        "openid_client_secret": rotating_provider.clients[CLIENT],
        "openid_refresh_token": answer["refresh_token"],
    }
    conn = {
        "conn_type": "irods",
        "host": "127.0.0.1",
        "port": emulator.port,
        "schema": "http",
        "extra": extra,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    monkeypatch.delenv(_token_store.TOKEN_STORE_ENV, raising=False)
    return str(answer["refresh_token"])


def _counts(provider: OidcProvider) -> dict[str, int]:
    names = ("refresh_token", "refresh_token_invalid_grant", "refresh_token_reuse")
    return {name: provider.token_requests(name) for name in names}


def _sensor(path: str) -> Any:
    from irods_provider.sensors.irods import IrodsPathSensor

    return IrodsPathSensor(
        task_id="wait", path=path, irods_conn_id=CONN_ID, deferrable=True, poke_interval=1.0
    )


def _worker_poke(api: ApiServerVariables, path: str, *, create: bool = False) -> bool:
    """One poke of the deferrable sensor in a worker's task process (optionally creating the path after)."""
    with worker_task_process(api):
        sensor = _sensor(path)
        try:
            done = bool(sensor.poke({}).is_done)  # type: ignore[arg-type]
            if create:
                sensor.hook.get_conn().collections.create(path)
        finally:
            sensor.hook.close()
    return done


def _workload(trigger_id: int, path: str) -> Any:
    """What the triggerer hands its runner for the sensor's trigger: encrypted serialized kwargs."""
    from airflow.executors.workloads.trigger import RunTrigger
    from airflow.models.trigger import Trigger

    classpath, kwargs = _sensor(path)._trigger().serialize()
    encrypted = Trigger.encrypt_kwargs(kwargs)
    return RunTrigger(id=trigger_id, classpath=classpath, encrypted_kwargs=encrypted), kwargs


async def _run_triggers(runner: Any, ids_and_paths: list[tuple[int, str]]) -> dict[int, dict[str, Any]]:
    """Run the sensors' triggers in the TriggerRunner until each fired; their event payloads by id."""
    workloads = [_workload(trigger_id, path) for trigger_id, path in ids_and_paths]
    for _, kwargs in workloads:
        assert "token" not in json.dumps(kwargs).lower()  # stored in the DB: only the connection id
    runner.to_create.extend(workload for workload, _ in workloads)
    await runner.create_triggers()
    fired: dict[int, dict[str, Any]] = {}

    def all_fired() -> bool:
        while runner.events:
            trigger_id, event, *_ = runner.events.popleft()
            fired[trigger_id] = event.payload
        return len(fired) >= len(workloads)

    await run_until(runner, all_fired, 40, lambda: f"triggers did not fire: {fired}")
    return fired


def _assert_newest_token_honoured(provider: OidcProvider, api: ApiServerVariables, offline: str) -> None:
    """The Variables hold ciphertext only; their token is the family's newest, which the provider honours."""
    key = OpenIdRefreshToken(
        refresh_token=offline, client_id=CLIENT, discovery_url=provider.issuer, allow_insecure_http=True
    ).store_key
    assert all(offline not in value for value in api.values.values())
    newest = VariableTokenStore(get=api.values.get).get(key)
    assert newest is not None
    assert newest != offline
    assert all(newest not in value for value in api.values.values())
    assert provider.fetch_token(CLIENT, grant_type="refresh_token", refresh_token=newest)["access_token"]


def _stored_tokens(api: ApiServerVariables) -> set[str]:
    """Every refresh token the processes stored (the Variables' history, decrypted)."""
    from airflow.sdk.crypto import get_fernet

    names = {name for name, _ in api.history if "_lease_" not in name}
    return {get_fernet().decrypt(value.encode()).decode() for name, value in api.history if name in names}


async def test_worker_then_trigger_then_worker_present_the_newest_token(
    rotating_provider: OidcProvider,
    offline_token: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = ApiServerVariables()
    path = f"{HOME}/rotating-1"
    before = _counts(rotating_provider)
    assert not await asyncio.to_thread(_worker_poke, api, path, create=True)
    async with triggerer_process(api) as runner:
        fired = await _run_triggers(runner, [(201, path)])
    assert fired[201]["status"] == "success", fired
    assert [m["path"] for m in fired[201]["matches"]] == [path]
    assert await asyncio.to_thread(_worker_poke, api, path)
    after = _counts(rotating_provider)
    # Counted at the provider: three renewals (worker, trigger, worker), none refused, no reuse.
    assert after["refresh_token"] - before["refresh_token"] == 3
    assert after["refresh_token_invalid_grant"] == before["refresh_token_invalid_grant"]
    assert after["refresh_token_reuse"] == before["refresh_token_reuse"]
    _assert_newest_token_honoured(rotating_provider, api, offline_token)
    # Neither the configured token nor any rotated one reached a log line or the trigger's event.
    tokens = {offline_token} | _stored_tokens(api)
    assert len(tokens) == 4
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text + json.dumps(fired)
    assert "Trigger fired event" in text  # the trigger process's logs were captured
    assert [token for token in tokens if token in text] == []


@pytest.mark.parametrize("share", ["true", "false"])
async def test_two_triggers_of_one_connection(
    share: str, rotating_provider: OidcProvider, offline_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shared session (one renewal) or one session each (two renewals at once, serialised by the lease)."""
    monkeypatch.setenv("AIRFLOW_IRODS_SHARE_TRIGGER_SESSIONS", share)
    api = ApiServerVariables()
    paths = [f"{HOME}/two-{share}-a", f"{HOME}/two-{share}-b"]
    before = _counts(rotating_provider)
    assert not await asyncio.to_thread(_worker_poke, api, paths[0], create=True)
    assert not await asyncio.to_thread(_worker_poke, api, paths[1], create=True)
    async with triggerer_process(api) as runner:
        fired = await _run_triggers(runner, [(301, paths[0]), (302, paths[1])])
    assert [fired[n]["status"] for n in (301, 302)] == ["success", "success"], fired
    assert await asyncio.to_thread(_worker_poke, api, paths[0])
    after = _counts(rotating_provider)
    assert after["refresh_token_invalid_grant"] == before["refresh_token_invalid_grant"], (before, after)
    assert after["refresh_token_reuse"] == before["refresh_token_reuse"], (before, after)
    renewals = after["refresh_token"] - before["refresh_token"]
    if share == "true":
        assert renewals == 3 + 1, (before, after)
    else:
        # django-oauth-toolkit revokes the access token of a refresh token it rotates (models.py
        # RefreshToken.revoke), so one session's renewal can void the other's access token: that one is
        # renewed again (a 401, then reject=). More renewals, never a refused or reused refresh token.
        assert renewals >= 3 + 2, (before, after)
    _assert_newest_token_honoured(rotating_provider, api, offline_token)


async def test_a_restarted_triggerer_takes_the_newest_token_from_the_variables(
    rotating_provider: OidcProvider, offline_token: str
) -> None:
    api = ApiServerVariables()
    paths = [f"{HOME}/restart-a", f"{HOME}/restart-b"]
    before = _counts(rotating_provider)
    assert not await asyncio.to_thread(_worker_poke, api, paths[0], create=True)
    async with triggerer_process(api) as runner:
        first = await _run_triggers(runner, [(401, paths[0])])
    assert not await asyncio.to_thread(_worker_poke, api, paths[1], create=True)
    async with triggerer_process(api) as runner:  # a new trigger process: its own store is empty
        second = await _run_triggers(runner, [(402, paths[1])])
    assert (first[401]["status"], second[402]["status"]) == ("success", "success"), (first, second)
    assert await asyncio.to_thread(_worker_poke, api, paths[1])
    after = _counts(rotating_provider)
    assert after["refresh_token"] - before["refresh_token"] == 5
    assert after["refresh_token_invalid_grant"] == before["refresh_token_invalid_grant"]
    assert after["refresh_token_reuse"] == before["refresh_token_reuse"]
    _assert_newest_token_honoured(rotating_provider, api, offline_token)


async def test_a_worker_process_and_a_trigger_renew_at_the_same_moment(
    rotating_provider: OidcProvider, offline_token: str, tmp_path: Path
) -> None:
    """A worker's task process (an OS process of its own) pokes while the trigger opens its session: both
    renew at once, the Variable lease lets one present the newest token, then the other the one after it."""
    api = ApiServerVariables()
    path = f"{HOME}/same-moment"
    assert not await asyncio.to_thread(_worker_poke, api, path, create=True)
    before = _counts(rotating_provider)
    with _supervisor(api) as sock:
        args = {
            "fd": sock.fileno(),
            "conn_id": CONN_ID,
            "path": path,
            "ready": str(tmp_path / "ready"),
            "go": str(tmp_path / "go"),
        }
        cmd = [sys.executable, str(WORKER), json.dumps(args)]
        child = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, pass_fds=[sock.fileno()]
        )
        try:
            for _ in range(3000):
                if (tmp_path / "ready").exists() or child.poll() is not None:
                    break
                await asyncio.sleep(0.01)
            assert (tmp_path / "ready").exists(), child.communicate(timeout=10)
            async with triggerer_process(api) as runner:
                (tmp_path / "go").touch()  # the trigger opens its session (and renews) as it starts
                fired = await _run_triggers(runner, [(501, path)])
            out, err = await asyncio.to_thread(child.communicate, timeout=40)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 0, err[-2000:]
    assert json.loads(out.strip().splitlines()[-1]) == {"done": True, "error": None}
    assert fired[501]["status"] == "success", fired
    after = _counts(rotating_provider)
    assert after["refresh_token_invalid_grant"] == before["refresh_token_invalid_grant"], (before, after)
    assert after["refresh_token_reuse"] == before["refresh_token_reuse"], (before, after)
    assert after["refresh_token"] - before["refresh_token"] >= 2, (before, after)
    assert await asyncio.to_thread(_worker_poke, api, path)
    _assert_newest_token_honoured(rotating_provider, api, offline_token)
