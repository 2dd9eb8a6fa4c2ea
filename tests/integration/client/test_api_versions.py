"""The client against the emulator's 0.4.0 / 0.5.0 / 0.6.0 / 0.7.0 profiles over real sockets.

What the server received is observed server-side (the request as the emulator's app saw it, the
parallel-write streams its model opened), not only from the client's side.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from irods_provider.client import BasicAuth, IrodsSession, RetryPolicy
from irods_provider.client.transfer import TransferConfig, parallel_download, parallel_upload
from irods_provider.exceptions import (
    IrodsNotADataObjectError,
    IrodsNotFoundError,
    IrodsUsageError,
)
from irods_provider.hooks.irods import IrodsHook

HOME = "/tempZone/home/rods"
VERSIONS = ("0.4.0", "0.5.0", "0.6.0", "0.7.0")
BEFORE_0_6_0 = ("0.4.0", "0.5.0")  # the same data-objects endpoint (git diff 0.4.0 0.5.0 -- endpoints)
CHUNK = 64 * 1024
CFG = TransferConfig(streams=3, chunk_size=CHUNK, small_file_threshold=CHUNK, backoff_base_seconds=0.0)


class Observed:
    """What one emulator received: data-object write forms and parallel-write stream use."""

    def __init__(self) -> None:
        self.write_forms: list[str] = []
        self.stream_indexes: list[int] = []
        self.streams_opened: list[int] = []


@contextmanager
def observe(server: Any) -> Iterator[Observed]:
    """Record, inside the emulator, each POST data-objects request's form and each stream acquired."""
    seen = Observed()
    app, model = server.app, server.model
    dispatch, acquire = app._dispatch, model.acquire_stream
    table = app.endpoints["data-objects"]["POST"]
    form_write = table["write"]

    async def recording_dispatch(request: Any, name: str) -> Any:
        if request.method == "POST" and request.headers.get("irods-api-request-op") == "write":
            seen.write_forms.append("header")
        return await dispatch(request, name)

    async def recording_form_write(ctx: Any) -> Any:
        kind = ctx.request.headers.get("content-type", "").split(";")[0]
        seen.write_forms.append("multipart" if kind == "multipart/form-data" else kind)
        return await form_write(ctx)

    def recording_acquire(handle_id: str, stream_index: int | None) -> Any:
        result = acquire(handle_id, stream_index)
        seen.stream_indexes.append(result[1])
        handle = model.handles.get(handle_id)
        if handle is not None:
            seen.streams_opened.append(len(handle.busy))
        return result

    app._dispatch, model.acquire_stream = recording_dispatch, recording_acquire
    table["write"] = recording_form_write
    try:
        yield seen
    finally:
        del app._dispatch, model.acquire_stream
        table["write"] = form_write


@contextmanager
def session_for(server: Any) -> Iterator[IrodsSession]:
    with IrodsSession(
        server.base_url,
        auth=BasicAuth("rods", "rods-emulator"),
        retry=RetryPolicy(sleep=lambda s: None, initial_backoff=0.0),
    ) as session:
        yield session


def payload(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


@pytest.mark.parametrize("version", VERSIONS)
def test_parallel_round_trip_streams_and_write_form(irods_emulator_at, tmp_path, version):
    server = irods_emulator_at(version)
    data = payload(7 * CHUNK + 13)
    path = f"{HOME}/rt-{version}.bin"
    with session_for(server) as session, observe(server) as seen:
        assert session.api.behaves_as == version
        # One request per stream: every write in the version's own form (held forms: test_pipelined_writes).
        one = dataclasses.replace(CFG, requests_per_stream=1)
        up = parallel_upload(session, io.BytesIO(data), path, config=one, size=len(data))
        out = tmp_path / "out.bin"
        down = parallel_download(session, path, out, config=CFG)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert up.sha256 == down.sha256 == hashlib.sha256(data).digest()
    # Server side: 0.4.0 to 0.6.0 opened N+1 streams for a request of N = 3, 0.7.0 exactly 3; the client
    # used indexes 0..2 only, and shut the handle down (no stream or handle left open).
    assert set(seen.streams_opened) == {4 if version != "0.7.0" else 3}
    assert set(seen.stream_indexes) <= {0, 1, 2}
    assert len(seen.stream_indexes) == 8
    assert server.open_parallel_write_streams() == 0
    assert server.open_parallel_write_handles() == 0
    expected = "multipart" if version in BEFORE_0_6_0 else "header"
    assert seen.write_forms
    assert set(seen.write_forms) == {expected}


@pytest.mark.parametrize("version", VERSIONS)
def test_small_write_form_observed_server_side(irods_emulator_at, version):
    server = irods_emulator_at(version)
    with session_for(server) as session, observe(server) as seen:
        session.data_objects.write(f"{HOME}/small.txt", b"a+b=c\r\n")
        session.data_objects.write(f"{HOME}/small.txt", b"tail", offset=7, truncate=False)
        assert session.data_objects.read(f"{HOME}/small.txt") == b"a+b=c\r\ntail"
    assert seen.write_forms == ["multipart" if version in BEFORE_0_6_0 else "header"] * 2


@pytest.mark.parametrize("version", VERSIONS)
def test_chunks_of_the_body_limit_fit_every_write_form(irods_emulator_at, tmp_path, version):
    # A body over the limit gets no answer at all: multipart framing must fit inside it before 0.6.0.
    server = irods_emulator_at(version)
    limit = 128 * 1024
    server.set_limits(max_body_bytes=limit)
    data = payload(3 * limit + 5)
    config = TransferConfig(streams=2, chunk_size=limit, small_file_threshold=limit, backoff_base_seconds=0.0)
    with session_for(server) as session:
        up = parallel_upload(session, io.BytesIO(data), f"{HOME}/limit.bin", config=config, size=len(data))
        assert up.sha256 == hashlib.sha256(data).digest()
        assert session.data_objects.read(f"{HOME}/limit.bin") == data
        if version in BEFORE_0_6_0:
            with pytest.raises(IrodsUsageError, match=r"limit of 131072 less multipart framing"):
                session.data_objects.write(f"{HOME}/one.bin", data[:limit])
            assert not session.data_objects.exists(f"{HOME}/one.bin")
        else:
            session.data_objects.write(f"{HOME}/one.bin", data[:limit])
            assert session.data_objects.read(f"{HOME}/one.bin") == data[:limit]


@pytest.mark.parametrize("version", BEFORE_0_6_0)
def test_targeting_refused_before_0_6_0_before_sending(irods_emulator_at, version):
    server = irods_emulator_at(version)
    target = f"{HOME}/targeted.bin"
    with session_for(server) as session, observe(server) as seen:
        with pytest.raises(IrodsUsageError, match=rf"{version} silently ignores 'resource'"):
            session.data_objects.parallel_write_init(target, stream_count=2, resource="demoResc")
        with pytest.raises(IrodsUsageError, match=rf"{version} silently ignores 'replica-number'"):
            session.data_objects.write(target, b"x", replica_number=0)
        with pytest.raises(IrodsUsageError, match=rf"{version} has no truncate operation"):
            session.data_objects.truncate(target, 0)
        assert seen.write_forms == []  # nothing reached the server
        assert not session.data_objects.exists(target)  # nothing created
        session.data_objects.write(target, b"abc")
        with pytest.raises(IrodsUsageError, match=r"'replica-number'"):
            session.data_objects.read(target, replica_number=0)
        assert session.data_objects.read(target) == b"abc"
    assert server.open_parallel_write_handles() == 0


def test_targeting_and_truncate_sent_on_0_6_0(irods_emulator_at):
    server = irods_emulator_at("0.6.0")
    target = f"{HOME}/targeted.bin"
    with session_for(server) as session:
        session.data_objects.write(target, b"abcdef")
        assert session.data_objects.read(target, replica_number=0) == b"abcdef"
        session.data_objects.truncate(target, 2)
        assert session.data_objects.read(target) == b"ab"


@pytest.mark.parametrize("version", VERSIONS)
def test_open_failures_give_the_same_typed_errors(irods_emulator_at, version):
    # 0.4.0/0.5.0 answer a failed open with HTTP 500 and an empty body; 0.6.0/0.7.0 with 200 + INVALID_HANDLE.
    server = irods_emulator_at(version)
    with session_for(server) as session:
        with pytest.raises(IrodsNotFoundError, match="collection /tempZone/home/rods/nope does not exist"):
            session.data_objects.write(f"{HOME}/nope/a.bin", b"x")
        with pytest.raises(IrodsNotADataObjectError, match="it is a collection"):
            session.data_objects.write(HOME, b"x")
        with pytest.raises(IrodsNotFoundError) as caught:
            session.data_objects.read(f"{HOME}/missing.bin")
        assert caught.value.http_status == 404


@pytest.mark.parametrize("version", VERSIONS)
def test_hook_auto_detects_each_profile(irods_emulator_at, monkeypatch, version):
    server = irods_emulator_at(version)
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_AUTO", f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http")
    with IrodsHook("irods_auto") as hook:
        session = hook.get_conn()
        assert session.base_url == f"http://127.0.0.1:{server.port}/irods-http-api/{version}"
        assert session.api.behaves_as == version
        ok, message = hook.test_connection()
    assert ok, message
    assert message.startswith(f"Connected to the iRODS HTTP API {version} (detected automatically) at ")


def test_hook_pinned_version_and_full_api_path(irods_emulator_at, monkeypatch):
    server = irods_emulator_at("0.6.0")
    uri = f"irods://rods:rods-emulator@127.0.0.1:{server.port}/http?api_path=%2Firods-http-api%2F0.6.0"
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_PINNED", uri)
    ok, message = IrodsHook("irods_pinned").test_connection()
    assert ok, message
    assert message.startswith("Connected to the iRODS HTTP API 0.6.0 (pinned) at ")
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_WRONG", uri.split("?", maxsplit=1)[0] + "?api_version=0.7.0")
    ok, message = IrodsHook("irods_wrong").test_connection()
    assert not ok
    assert "is not an iRODS HTTP API of the expected version" in message


def test_hook_names_every_probed_url_when_nothing_answers(irods_emulator, monkeypatch):
    port = irods_emulator.port
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_NONE", f"irods://rods:rods-emulator@127.0.0.1:{port}/http?api_path=%2Fnope"
    )
    ok, message = IrodsHook("irods_none").test_connection()
    assert not ok
    assert (
        f"no iRODS HTTP API found under http://127.0.0.1:{port}/nope/{{0.7.0,0.6.0,0.5.0,0.4.0}}/info"
        in message
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_modify_replica_expiry_goes_under_each_release_name(irods_emulator_at, version):
    # versions.md §2 row 10: 0.4.0 to 0.6.0 call it new-data-expiry, 0.7.0 new-data-expiry-time; the
    # other name is ignored beside another property and refused (400) alone. Observed in the model.
    server = irods_emulator_at(version)
    received: list[dict[str, str]] = []
    modify = server.model.modify_replica

    def recording_modify(*args: Any, **kw: Any) -> Any:
        received.append(dict(kw["changes"]))
        return modify(*args, **kw)

    server.model.modify_replica = recording_modify
    try:
        with session_for(server) as session:
            session.data_objects.write(f"{HOME}/expiry.txt", b"x")
            session.data_objects.modify_replica(
                f"{HOME}/expiry.txt", {"expiry_time": "01700000000", "comments": "c"}, replica_number=0
            )
            session.data_objects.modify_replica(
                f"{HOME}/expiry.txt", {"expiry_time": "01800000000"}, replica_number=0
            )
    finally:
        del server.model.modify_replica
    assert received == [
        {"comments": "c", "expiry-time": "01700000000"},
        {"expiry-time": "01800000000"},
    ]


@pytest.mark.parametrize("version", BEFORE_0_6_0)
def test_parallel_upload_to_a_chosen_resource_before_0_6_0(irods_emulator_at, version):
    """``parallel_write_init`` ignores ``resource`` there: the temporary is made on the resource by an empty
    ``write`` (honoured), then opened without truncating, which iRODS 4.3 resolves to that one replica
    (irods_resource_redirect.cpp:408-426 at 4.3.2). Several streams really write it, and the published
    object's only replica holds the bytes on the chosen resource; the replication resource gets both
    children."""
    from irods_provider.testing._config import RESOURCE_PRESET

    server = irods_emulator_at(version)
    server.config.resources = RESOURCE_PRESET  # irods_emulator_at restores the defaults on its next use
    server.reset()
    data = payload(7 * CHUNK + 13)
    expected = {"archiveResc": ["archiveResc"], "replResc": ["replResc_ufs0", "replResc_ufs1"]}
    with session_for(server) as session, observe(server) as seen:
        for root, leaves in expected.items():
            path = f"{HOME}/on-{root}.bin"
            config = dataclasses.replace(CFG, resource=root)
            parallel_upload(session, io.BytesIO(data), path, config=config, size=len(data))
            with server.model.lock:
                replicas = sorted(
                    (r.resource, r.spool_file.read_bytes()) for r in server.model.data_objects[path].replicas
                )
            assert [leaf for leaf, _ in replicas] == leaves
            assert all(body == data for _, body in replicas)
        assert set(seen.stream_indexes) == {0, 1, 2}
