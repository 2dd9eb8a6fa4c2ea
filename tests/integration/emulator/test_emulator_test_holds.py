"""The emulator's hooks that let a test order events a real server leaves to timing.

A token held at its check and expired there is refused as an expired one is (401: core/src/common.cpp:410 at
0.7.0); a checksum held after its hash registers nothing until released (the catalog is updated when the
hash ends: irods 4.3.4 rsDataObjChksum.cpp:587-619).
"""

from __future__ import annotations

import threading

import httpx2

from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"
WAIT = 10.0


def _login(server: EmulatorServer) -> str:
    return httpx2.post(f"{server.base_url}/authenticate", auth=("rods", "rods-emulator")).text


def _stat_in_thread(server: EmulatorServer, token: str, statuses: list[int]) -> threading.Thread:
    def stat() -> None:
        answer = httpx2.get(
            f"{server.base_url}/collections",
            params={"op": "stat", "lpath": HOME},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        statuses.append(answer.status_code)

    thread = threading.Thread(target=stat)
    thread.start()
    return thread


def test_a_token_expired_at_the_held_check_is_refused_and_stays_refused(irods_emulator) -> None:
    server = irods_emulator
    token = _login(server)
    hold = server.hold_token_checks()
    try:
        statuses: list[int] = []
        thread = _stat_in_thread(server, token, statuses)
        assert hold.wait_held(1, WAIT)
        assert statuses == []  # waiting at the check
        assert hold.release(expire=False) == [token]
        thread.join(WAIT)
        thread = _stat_in_thread(server, token, statuses)
        assert hold.wait_held(1, WAIT)  # held again: the hold lasts until stopped
        hold.release(expire=True)
        thread.join(WAIT)
        assert statuses == [200, 401]
    finally:
        hold.stop()
    statuses = []
    _stat_in_thread(server, token, statuses).join(WAIT)
    _stat_in_thread(server, _login(server), statuses).join(WAIT)
    assert statuses == [401, 200]  # expired for good; a new login answers, unheld
    assert hold.rounds == [[token], [token]]


def test_the_control_plane_holds_waits_for_and_expires_token_checks(irods_emulator) -> None:
    """``/_emulator/token-holds`` over HTTP, as a DAG test against ``serve`` uses it: the same hold as
    ``hold_token_checks()``, reported in counts (a bearer token is a secret, never sent back)."""
    server = irods_emulator
    control = f"{server.url}/_emulator/token-holds"
    headers = {"X-Emulator-Token": server.control_token}
    token = _login(server)
    assert httpx2.post(f"{control}/wait", json={"count": 1}, headers=headers).status_code == 409  # unarmed
    armed = httpx2.post(control, headers=headers)
    assert armed.json() == {"armed": True, "waiting": 0, "rounds": []}
    statuses: list[int] = []
    thread = _stat_in_thread(server, token, statuses)
    waited = httpx2.post(f"{control}/wait", json={"count": 1, "timeout": WAIT}, headers=headers, timeout=30)
    assert waited.json() == {"held": True, "armed": True, "waiting": 1, "rounds": []}
    assert statuses == []  # waiting at the check
    assert token not in waited.text
    released = httpx2.post(f"{control}/release", json={"expire": True}, headers=headers)
    assert released.json() == {"released": 1}
    thread.join(WAIT)
    assert statuses == [401]  # expired while held
    assert httpx2.get(control, headers=headers).json() == {"armed": True, "waiting": 0, "rounds": [1]}
    stopped = httpx2.post(f"{control}/stop", headers=headers)
    assert stopped.json() == {"armed": False, "waiting": 0, "rounds": []}
    _stat_in_thread(server, _login(server), statuses).join(WAIT)
    assert statuses == [401, 200]  # stopped: a new login answers, unheld


def _stored_checksum(server: EmulatorServer, path: str) -> str:
    with server.model.lock:
        return server.model.data_objects[path].replicas[0].checksum


def test_a_checksum_is_held_only_by_a_hold_naming_it_and_registers_on_release(irods_emulator) -> None:
    server = irods_emulator
    path = f"{HOME}/sum.bin"
    token = _login(server)
    bearer = {"Authorization": f"Bearer {token}"}
    url = f"{server.base_url}/data-objects"
    assert (
        httpx2.post(url, data={"op": "write", "lpath": path, "bytes": "abc"}, headers=bearer).status_code
        == 200
    )
    server.hold_writes(path)  # a hold of writes of any kind
    checksum = {"op": "calculate_checksum", "lpath": path}
    assert httpx2.post(url, data=checksum, headers=bearer, timeout=WAIT).status_code == 200  # not held
    server.release_writes()
    server.corrupt_replica(path, "demoResc")
    before = _stored_checksum(server, path)
    hold = server.hold_writes(path, operation="checksum")
    answers: list[httpx2.Response] = []
    thread = threading.Thread(
        target=lambda: answers.append(
            httpx2.post(url, data={**checksum, "force": 1}, headers=bearer, timeout=30)
        )
    )
    thread.start()
    assert hold.wait_reached(WAIT)
    assert _stored_checksum(server, path) == before  # hashed, not registered yet
    hold.release()
    thread.join(WAIT)
    assert answers[0].json()["checksum"] == _stored_checksum(server, path) != before
