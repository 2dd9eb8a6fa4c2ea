"""Crash consistency at any instant: a worker running one write path is killed with SIGKILL at its N-th API
request (before the server acts on it, or after it acted but before the answer arrives), then the same call
is retried to completion, as Airflow re-runs a task.

After each kill: no partial object (or local file) at the final path (an older object being replaced is
there whole, or, killed between the publish's two renames, whole under the name the next attempt looks for),
and no object locked without a record of its handle (the one exception: a temporary whose handle the worker
was killed before recording; the server keeps handles until it restarts and cannot list them). After each
retry: the final bytes and checksum are the source's, a recorded resumable prefix was resumed from (not from
0), and no temporary object (nor an older object moved aside), recorded handle or hidden partial local file
is left. The retry comes once the killed worker's leases lapsed (as Airflow's default retry delay, five
minutes, outlasts the default lease): the harness backdates them. Kill points are seeded (``CRASH_SEED``);
every request index of a calibration run is used in both modes before random ones are drawn.
``CRASH_POINTS`` (default 30) sets the kill points per write path. A failure names the write path, seed and
kill point.

This module is the harness; the tests are split by direction and kind so that several workers share them
(``test_crash_uploads.py``: the client's paths from local files to iRODS; ``test_crash_uploads_operators.py``:
the upload operator; ``test_crash_staging_in.py``: SFTP to iRODS; ``test_crash_downloads_staging.py``:
downloads, to local files and to SFTP). Every case of :data:`CASES` is in exactly one of them, each file
binding :func:`kill_point_test` to its share; the fixtures (``zygote``, ``switch``, ``crash_sftp``) are in
``conftest.py``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import posixpath
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from irods_provider.client._events import add_listener, remove_listener
from irods_provider.client._paths import is_temporary_name
from irods_provider.client._temporaries import (
    JOURNAL_COLLECTION,
    LEASE_ATTRIBUTE,
    WRITER_ATTRIBUTE,
    journal_path,
)
from irods_provider.client.transfer._copyover import backup_name
from irods_provider.client.transfer._resume import HANDLE_ATTRIBUTE, RESUME_ATTRIBUTE, ResumeState
from irods_provider.client.transfer._upload import parked_start
from irods_provider.sftp._sink import CHECKPOINT_CHUNKS
from irods_provider.testing._http import OP_KEY, DropConnection
from irods_provider.testing.sftp import airflow_connection_json

sys.path.insert(0, str(Path(__file__).parent))
import _crash_worker as worker

SEED = int(os.environ.get("CRASH_SEED", "20261204"))
POINTS = int(os.environ.get("CRASH_POINTS", "30"))
ROOT = "/tempZone/home/rods/crash"
REMOTE = "otherZone"
FED_ROOT = f"/{REMOTE}/home/rods#tempZone/crash"
"""Where the federated cases write: rods's home in the federated zone ``otherZone``."""
HOME = "/tempZone/home/rods"
JOURNALS = f"{HOME}/{JOURNAL_COLLECTION}"
"""Where the records of a federated zone's temporaries are kept (transfer/_journal)."""
NAME = "data.bin"
SMALL = 40 * worker.KIB  # fits one request body
MULTI = 3 * worker.CHUNK + 4321  # four chunks over three streams
BIG = 15 * worker.CHUNK + 99  # 16 chunks: the default checkpoint (every 8) falls mid-upload
RAMP = 2 * worker.RAMP_CHUNK + 4321  # three chunks, the first two sent as seven growing requests
OLD = b"the older object the write replaces\n" * 100
OPERATOR = "local_to_irods_operator"
"""The write paths of the upload operator (``test_crash_uploads_operators.py``)."""


@dataclass(frozen=True)
class Case:
    """One write path with a source size; ``up`` is the direction (local -> iRODS)."""

    path: str
    size: int
    up: bool = True
    replaces: bool = False
    """The final path already holds an older object (the write replaces it)."""
    user: str = "rods"
    """Who writes: ``alice`` may write rods's older object but not rename it (no ``own``), so it is
    overwritten in place: a verified backup is kept until the new bytes are proven (transfer/_copyover)."""
    federated: bool = False
    """The final path is in the federated zone ``otherZone``: the temporary's records live on its journal
    in the local home (run against an emulator federated with it: ``test_crash_uploads_federated.py``)."""

    @property
    def id(self) -> str:
        size = {SMALL: "small", MULTI: "multi", BIG: "16-chunks", RAMP: "ramp"}[self.size]
        return (
            f"{self.path}-{size}{'-replace' if self.replaces else ''}{'-federated' if self.federated else ''}"
        )

    @property
    def root(self) -> str:
        return FED_ROOT if self.federated else ROOT

    @property
    def in_place(self) -> bool:
        return self.user != "rods"


CASES = [
    Case("upload_object", SMALL),
    Case("upload_object", MULTI),
    Case("upload_object_ramp", RAMP),
    Case("parallel_upload", SMALL),
    Case("parallel_upload", MULTI),
    Case("parallel_upload", MULTI, replaces=True),
    Case("upload_object_in_place", SMALL, replaces=True, user="alice"),
    Case("open_writer", MULTI),
    Case("fs_put", MULTI),
    Case("fs_open_wb", MULTI),
    Case("local_to_irods_operator", BIG),
    Case("upload_object", MULTI, replaces=True),
    Case("local_to_irods_operator_overwrite", MULTI, replaces=True),
    Case("download_object", MULTI, up=False),
    Case("irods_to_local_operator", MULTI, up=False),
    Case("irods_to_sftp_operator", MULTI, up=False),
    Case("irods_to_sftp_operator", BIG, up=False),  # a recorded prefix (every 8 chunks) to resume from
    Case("irods_to_sftp_operator_no_resume", MULTI, up=False),
    Case("sftp_to_irods_operator", BIG),  # from an SFTP server over two SSH connections
]
FEDERATED_CASES = [
    Case("upload_object", MULTI, federated=True),
    Case("upload_object", BIG, federated=True),  # a recorded prefix (every chunk) to resume from
    Case("parallel_upload", MULTI, federated=True),
    Case("open_writer", MULTI, federated=True),
]


_LIVE_TCP_STATES = {"01", "03", "08"}  # ESTABLISHED, SYN_RECV, CLOSE_WAIT: the server may still read data


def readable_foreign_connections(ports: tuple[int, ...]) -> list[tuple[int, int]]:
    """(server port, peer port) of the server-side TCP sockets on ``ports`` that another process connected
    (not one of this process's own client sockets) and that are still readable: not yet closed by the
    server, accepted or not."""
    own_inodes = _own_socket_inodes()
    server_side, own_peers = [], set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local, remote = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
                if remote in ports and fields[9] in own_inodes:
                    own_peers.add(local)  # our own client socket: the server side's peer port
                elif local in ports and fields[3] in _LIVE_TCP_STATES:
                    server_side.append((local, remote))
    return [(port, peer) for port, peer in server_side if peer not in own_peers]


def _own_socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed since listed
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


class KillSwitch:
    """Counts the API requests that reach the emulator while armed; at the ``kill_at``-th it SIGKILLs the
    worker, before the server handles it (the connection is dropped) or after (the answer is lost)."""

    def __init__(self, server: Any) -> None:
        self.app = server.app
        self.port = server.port
        self._server = server._server
        self._original = server.app._api
        self._lock = threading.Lock()
        self.pid: int | None = None
        self.kill_at = 0
        self.after = False
        self.on_op: str | None = None
        self.op_count = 0
        self.count = 0
        self.post_bytes = 0
        self.killed_on: str | None = None
        self.ops: dict[int, str] = {}  # request index -> what it was ("data-objects rename"), once served
        self.inflight = 0  # requests being handled (a dead worker's last ones still land)
        self.arrived = time.monotonic()
        self.app._api = self._api

    def close(self) -> None:
        del self.app._api  # the class's method again

    def arm(self, pid: int | None, kill_at: int, *, after: bool, on_op: str | None = None) -> None:
        """Kill ``pid`` at its ``kill_at``-th request, or (``on_op``) once the ``kill_at``-th request of that
        op (e.g. ``"data-objects rename"``) was handled: its answer is lost."""
        with self._lock:
            self.pid, self.kill_at, self.after = pid, kill_at, after
            self.on_op, self.op_count = on_op, 0
            self.count, self.post_bytes = 0, 0
            if pid is not None:
                self.killed_on = None
                self.ops = {}  # kept once the run is over (disarmed), for the caller to read

    def settle(self, *also_ports: int, limit: float = 5.0) -> None:
        """Wait (at most ``limit`` s) until the killed worker's requests are all served: a request it sent
        whole just before it died is still served, and the state the next attempt (and the check) sees is
        the one after it. Settled when no server socket (emulator, ``also_ports``) of another process's
        connection can still be read (the kernel's table: a closed peer's data waits in the buffer, or in
        the listen backlog, until the server reads it and closes) and then no request is being handled."""
        ports = (self.port, *also_ports)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not readable_foreign_connections(ports):
                with self._lock:
                    idle = self.inflight == 0
                if idle and not self.server_tasks():
                    return
            time.sleep(0.005)

    def server_tasks(self) -> int:
        """Requests uvicorn is handling (from the moment it parsed their headers, before ``_api``)."""
        return len(self._server.server_state.tasks)

    async def _api(self, request: Any, path: str) -> Any:
        with self._lock:
            self.inflight += 1
            self.arrived = time.monotonic()
        try:
            return await self._counted(request, path)
        finally:
            with self._lock:
                self.inflight -= 1
                self.arrived = time.monotonic()

    async def _counted(self, request: Any, path: str) -> Any:
        with self._lock:
            self.count += 1
            index = self.count
            if request.method == "POST":
                self.post_bytes += int(request.headers.get("content-length") or 0)
            fire = self.pid is not None and self.on_op is None and self.count == self.kill_at
            if fire:
                self.killed_on = f"{request.method} {path.rsplit('/', 1)[-1]}"
        if fire and not self.after:
            self._kill()
            raise DropConnection()
        response = await self._original(request, path)
        with self._lock:
            op = self.ops[index] = str(request.scope.get(OP_KEY) or path)
            if self.pid is not None and self.on_op == op:
                self.op_count += 1
                fire = self.op_count == self.kill_at
                self.killed_on = f"{op} #{self.op_count}" if fire else self.killed_on
        if fire:
            self._kill()
        return response

    def _kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)


# Per-job bounds: what catches a hung worker. Each test's own timeout (CHAOS_TEST_SECONDS) only bounds the
# whole loop of kill points, whose length follows the host's load (on a 2-core host running SCHED_IDLE
# under a load of 20, one test's 30+ kill points took more than 120 s while every job answered in seconds).
STARTUP_SECONDS = 60.0
JOB_SECONDS = 90.0
CHAOS_TEST_SECONDS = 900


class Zygote:
    """The fork server of ``_crash_worker.py``: one warm interpreter, one forked child per job."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(worker.__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._env,
            text=True,
            bufsize=1,
        )
        self._pending = b""
        assert self._line(STARTUP_SECONDS) == "ready"

    def _replace(self, child: int | None) -> None:
        """A run cut short (a test's timeout, a silent worker) leaves the fork server mid-protocol: its
        next lines would answer the next test's job (an old ``exit`` read as a pid, a pid as an exit code).
        So the child and the server are killed and a fresh server started."""
        for pid in (child, self.proc.pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.close()
        self._start()

    def _line(self, seconds: float) -> str:
        """The fork server's next line, read straight from its pipe; a silence of ``seconds`` fails the
        test there and then (a hung worker), instead of the whole test's timeout some kill points later."""
        assert self.proc.stdout is not None
        fd, deadline = self.proc.stdout.fileno(), time.monotonic() + seconds
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            assert ready, f"the crash worker's fork server gave no answer in {seconds:.0f} s"
            chunk = os.read(fd, 4096)
            assert chunk, "the crash worker's fork server died"
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode().strip()

    def run(
        self,
        path: str,
        args: dict[str, Any],
        switch: KillSwitch,
        kill_at: int,
        *,
        after: bool,
        on_op: str | None = None,
    ) -> int:
        """Start one worker, arm the switch on its pid, let it run; its exit code (-9 when killed)."""
        assert self.proc.stdin is not None
        pid = None
        try:
            self.proc.stdin.write(json.dumps({"path": path, "args": args}) + "\n")
            pid = int(self._line(STARTUP_SECONDS).removeprefix("pid "))
            switch.arm(pid, kill_at, after=after, on_op=on_op)
            self.proc.stdin.write("go\n")
            code = int(self._line(JOB_SECONDS).removeprefix("exit "))
        except BaseException:
            switch.arm(None, 0, after=False)
            self._replace(pid)
            raise
        switch.arm(None, 0, after=False)
        return code

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()  # else a later test is blamed for the unclosed pipe


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class Snapshot:
    """The objects under one collection: bytes, stored checksum, lock holder and AVUs (with, for an object
    of a federated zone, its journal's: the records the engine keeps for it in the local home)."""

    objects: dict[str, tuple[bytes, str, str | None, list[tuple[str, str]]]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    """Each object's catalog id (an overwrite in place keeps it; a publish by rename makes a new one)."""
    journals: set[str] = field(default_factory=set)
    """Every journal object in rods's local home."""

    @classmethod
    def take(cls, model: Any, coll: str) -> Snapshot:
        with model.lock:
            found = {
                p: (
                    o.replicas[0].spool_file,
                    o.replicas[0].checksum,
                    o.locked_by,
                    [(a.attribute, a.value) for a in (*o.avus, *_journal_avus(model, p))],
                )
                for p, o in model.data_objects.items()
                if p.startswith(coll + "/")
            }
            ids = {p: model.data_objects[p].id for p in found}
            journals = {p for p in model.data_objects if p.startswith(JOURNALS + "/")}
        objects = {p: (Path(f).read_bytes(), c, lk, avus) for p, (f, c, lk, avus) in found.items()}
        return cls(objects, ids, journals)

    def orphans(self) -> set[str]:
        """Temporaries locked by a handle nobody recorded (the killed worker never got to it)."""
        return {
            p
            for p, (_, _, lock, avus) in self.objects.items()
            if lock is not None
            and (HANDLE_ATTRIBUTE, lock) not in avus
            and is_temporary_name(posixpath.basename(p))
        }


def _journal_avus(model: Any, path: str) -> list[Any]:
    """The AVUs of ``path``'s journal (none for a path of the local zone, or without one)."""
    if not path.startswith(f"/{REMOTE}/"):
        return []
    journal = model.data_objects.get(journal_path(HOME, path))
    return [] if journal is None else list(journal.avus)


def check_after_kill(case: Case, snap: Snapshot, final: str, data: bytes, local_final: Path) -> list[str]:
    """Nothing partial at a final path; every locked object carries its handle (or is a killed-early
    orphan). Overwritten in place, the path may be partial or locked only while a complete backup of its
    older bytes is kept (what the retry puts back)."""
    problems: list[str] = []
    if case.up and final in snap.objects:
        got, checksum, lock, _ = snap.objects[final]
        if case.replaces and got == OLD and lock is None:
            pass  # the older object, whole: not yet replaced
        elif got == data and lock is None:
            if checksum and checksum != sha2(data):
                problems.append(f"final object's stored checksum {checksum} is not its content's")
        elif case.in_place:
            problems += _backup_problems(snap, final, got, lock)
        elif got != data:
            problems.append(f"partial object at the final path: {len(got)} of {len(data)} bytes")
        if lock is not None and not case.in_place:
            problems.append("the final path is locked by a parallel-write handle")
    elif case.up and case.replaces and not parked_whole(snap, final):
        # Killed between the publish's two renames (iRODS renames onto no existing object): the final name
        # is empty and the older object, whole, is moved aside under the name the next attempt looks for.
        problems.append("the older object at the final path is gone (and not moved aside whole)")
    if not case.up and local_final.exists() and local_final.read_bytes() != data:
        problems.append(f"partial local file at the final path: {local_final.stat().st_size} bytes")
    orphans = snap.orphans()
    for p, (_, _, lock, avus) in snap.objects.items():
        if lock is not None and p not in orphans and (HANDLE_ATTRIBUTE, lock) not in avus:
            problems.append(f"{p} locked without a record of its handle")
    if len(orphans) > 1:
        problems.append(f"more than one unrecorded locked temporary: {sorted(orphans)}")
    return problems


def parked_whole(snap: Snapshot, final: str) -> bool:
    """Whether the older object is kept whole, unlocked, where an overwrite of ``final`` moves it aside
    (``.<name>.irods-old-<path's key>-<nonce>``, found again by the next attempt: transfer/_upload
    ``parked_start``)."""
    start = parked_start(final)
    return any(
        p.startswith(start) and got == OLD and lock is None and (not checksum or checksum == sha2(OLD))
        for p, (got, checksum, lock, _) in snap.objects.items()
    )


def _backup_problems(snap: Snapshot, final: str, got: bytes, lock: str | None) -> list[str]:
    """The final path overwritten in place holds neither whole content (or is locked): its older bytes
    must be kept whole in the backup, unlocked, with their checksum."""
    state = f"{len(got)} bytes{', locked' if lock is not None else ''}"
    backup = snap.objects.get(backup_name(final))
    if backup is None:
        return [f"final path overwritten in place is partial ({state}) and no backup of the older object"]
    kept, checksum, kept_lock, _ = backup
    if kept != OLD or kept_lock is not None or (checksum and checksum != sha2(OLD)):
        return [
            f"final path partial ({state}) and its backup is not the older object, whole ({len(kept)} bytes)"
        ]
    return []


def resumable_prefix(snap: Snapshot, final: str) -> int:
    """Committed bytes recorded on an unlocked (or recorded-lock) temporary of ``final``, 0 when none."""
    prefix = 0
    for p, (_, _, lock, avus) in snap.objects.items():
        if not posixpath.basename(p).startswith(f".{posixpath.basename(final)}.irods-part-"):
            continue
        if lock is not None and (HANDLE_ATTRIBUTE, lock) not in avus:
            continue
        for attribute, value in avus:
            state = ResumeState.from_value(value) if attribute == RESUME_ATTRIBUTE else None
            if state is not None:
                prefix = max(prefix, state.committed)
    return prefix


def check_after_retry(
    case: Case,
    before: Snapshot,
    after: Snapshot,
    final: str,
    data: bytes,
    local_dir: Path,
    outcome: dict[str, Any],
) -> list[str]:
    """The retry published the full source, resumed a recorded prefix, and left nothing behind."""
    problems: list[str] = []
    if case.up:
        if final not in after.objects:
            return ["the retry did not publish the final object"]
        got, checksum, lock, avus = after.objects[final]
        if got != data or (checksum and checksum != sha2(data)):
            problems.append(f"final object after the retry: {len(got)} bytes, checksum {checksum}")
        if lock is not None or any(a.startswith("irods_provider::transfer") for a, _ in avus):
            problems.append("final object still locked or carrying transfer AVUs")
        if case.in_place and final in before.ids and after.ids.get(final) != before.ids[final]:
            problems.append("the object was replaced by a new one, not overwritten in place")
        allowed = before.orphans()
        extra = sorted(p for p in after.objects if p != final and p not in allowed)
        if extra:
            problems.append(f"left behind after the retry: {extra}")
        kept = {journal_path(HOME, p) for p in allowed}  # an orphan's journal may stay with it
        journals = sorted(after.journals - kept)
        if journals:
            problems.append(f"journals left behind after the retry: {journals}")
        prefix = resumable_prefix(before, final)
        resumed = outcome.get("resumed_from")
        if resumed is None and outcome.get("files"):
            resumed = outcome["files"][0].get("resumed_from")
        if prefix and resumed is not None and final not in before.objects:
            if resumed != prefix:
                problems.append(f"recorded prefix of {prefix} bytes, but the retry resumed from {resumed}")
            outcome["resumed"] = True
    else:
        local_final = local_dir / NAME
        if not local_final.exists() or local_final.read_bytes() != data:
            problems.append("the retry did not leave the full local file")
        extra = sorted(p.name for p in local_dir.iterdir() if p.name != NAME)
        if extra:
            problems.append(f"local files left behind after the retry: {extra}")
    return problems


def _retry_listener(into: list[str]) -> Any:
    """A client-event listener collecting the causes of every resend."""

    def listen(event: str, value: float, tags: dict[str, str]) -> None:
        if event == "retry":
            into.append(tags.get("cause", "?"))

    return listen


def kill_points(case: Case, requests: int, points: int) -> list[tuple[int, bool]]:
    """Every request index in both modes (shuffled), then seeded random ones, ``points`` in all."""
    rng = random.Random(f"{SEED}-{case.id}")
    every = [(n, after) for n in range(1, requests + 1) for after in (False, True)]
    rng.shuffle(every)
    extra = [(rng.randint(1, requests), rng.random() < 0.5) for _ in range(max(0, points - len(every)))]
    return (every + extra)[:points] if len(every) <= points else rng.sample(every, points)


def lapse_leases(model: Any, coll: str) -> None:
    """Backdate every writer record and lease under ``coll`` (and on the journals) by a day: the killed
    worker renews them no more, and its retry comes after the lease (see the module docstring)."""
    day = 24 * 3600
    with model.lock:
        for path, obj in model.data_objects.items():
            if not path.startswith((coll + "/", JOURNALS + "/")):
                continue
            for avu in obj.avus:
                parts = avu.value.split(" ")
                if avu.attribute == WRITER_ATTRIBUTE and len(parts) == 3 and parts[2].isdigit():
                    avu.value = f"{parts[0]} {parts[1]} {int(parts[2]) - day}"
                elif avu.attribute == LEASE_ATTRIBUTE and len(parts) == 3:
                    avu.value = f"{parts[0]} {float(parts[1]) - day:.3f} {parts[2]}"


def release_all_handles(model: Any) -> None:
    """Shut down every handle (as a server restart would), so kill points do not share a stream budget."""
    with model.lock:
        ids = list(model.handles)
    for handle in ids:
        model.parallel_write_shutdown(handle)


def drop_journals(model: Any, base: dict[str, Any]) -> None:
    """Remove what journals a kill point left (an orphan's), so the next one starts without any."""
    with model.lock:
        journals = [p for p in model.data_objects if p.startswith(JOURNALS + "/")]
    if journals:
        with worker._session(base) as session:
            for journal in journals:
                session.data_objects.remove(journal, no_trash=True)


def _grant_write_not_own(session: Any, coll: str, path: str, user: str) -> None:
    """``user`` may create objects in ``coll`` (its temporaries) and write rods's ``path``, not rename it."""
    from irods_provider.client import PermissionOperation

    session.collections.modify_permissions(coll, [PermissionOperation(user, "own")])
    session.data_objects.modify_permissions(path, [PermissionOperation(user, "write")])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def run_kill_points(
    case: Case,
    zygote: Zygote,
    switch: KillSwitch,
    irods_emulator: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Calibrate ``case``'s requests, then kill a worker at each of its kill points and retry: every
    invariant of the module docstring is checked, every violation named (write path, seed, kill point)."""
    server = irods_emulator
    model = server.model
    data = random.Random(f"{SEED}-{case.id}-data").randbytes(case.size)
    base = {"base_url": server.base_url, "user": "rods", "password": "rods-emulator"}
    writer = dict(base)  # who runs the write path
    if case.in_place:
        server.add_user(case.user, "apass")
        writer.update(user=case.user, password="apass")
    root = case.root
    source = f"{root}/{case.id}/source/{NAME}"
    if not case.up:
        with worker._session(base) as session:
            session.collections.create(posixpath.dirname(source), intermediates=True)
            local_source = _write(tmp_path / "source.bin", data)
            worker.upload_object(session, local_source, source, config=worker._config())

    # POINTS per write path, shared by its sizes.
    points = POINTS // sum(c.path == case.path for c in (FEDERATED_CASES if case.federated else CASES))
    if case.up:
        with worker._session(base) as session:
            for i in range(points + 1):
                session.collections.create(f"{root}/{case.id}/{i}", intermediates=True)

    def job(i: int) -> tuple[dict[str, Any], str, Path]:
        coll = f"{root}/{case.id}/{i}"
        local_dir = tmp_path / str(i)
        if "sftp" in case.path:  # the SFTP side of a staging: a directory on the server
            sftp = request.getfixturevalue("crash_sftp")
            local_dir = Path(sftp.root) / case.id / str(i)
            env = {
                "AIRFLOW_CONN_CRASH_SFTP": airflow_connection_json(sftp),
                "IRODS_PROVIDER_STATE_DIR": str(tmp_path / "state"),
            }
            local_dir.mkdir(parents=True)
            args = dict(base, remote=source, sftp_path=f"{case.id}/{i}/{NAME}", env=env)
            if case.up:  # the source file there, into the kill point's collection
                _write(local_dir / NAME, data)
                args["remote_dir"] = coll
            return args, coll, local_dir
        local_dir.mkdir()
        if case.up:
            local = _write(local_dir / NAME, data)
            if case.replaces:
                with worker._session(base) as session:
                    session.data_objects.write(f"{coll}/{NAME}", OLD)
                    if case.in_place:
                        _grant_write_not_own(session, coll, f"{coll}/{NAME}", case.user)
            args = dict(writer, local=str(local), remote=f"{coll}/{NAME}", remote_dir=coll)
        else:
            args = dict(base, local=str(local_dir / NAME), local_dir=str(local_dir), remote=source)
        return args, coll, local_dir

    # Calibration: how many requests one undisturbed run makes.
    args, coll, local_dir = job(0)
    switch.arm(None, 0, after=False)
    worker.WRITE_PATHS[case.path](args)
    requests, full_bytes = switch.count, switch.post_bytes
    assert requests > 0
    if case.in_place and 2 * requests > points:  # every request of it, in both modes (~0.3 s a point)
        with worker._session(base) as session:
            for i in range(points + 1, 2 * requests + 1):
                session.collections.create(f"{root}/{case.id}/{i}", intermediates=True)
        points = 2 * requests

    violations: list[str] = []
    killed = resumes = orphans = 0
    prefixes: list[int] = []  # the recorded prefixes retries resumed from
    spent = {"worker": 0.0, "retry": 0.0}
    started = time.monotonic()
    for i, (kill_at, after) in enumerate(kill_points(case, requests, points), start=1):
        args, coll, local_dir = job(i)
        t0 = time.monotonic()
        code = zygote.run(case.path, args, switch, kill_at, after=after)
        spent["worker"] += time.monotonic() - t0
        mode = "after" if after else "before"
        where = f"{case.id} seed={SEED} kill_at={kill_at} {mode} ({switch.killed_on})"
        if code == -signal.SIGKILL:
            killed += 1
        elif code != 0:
            violations.append(f"{where}: the worker failed on its own (exit {code})")
            continue
        final = f"{coll}/{NAME}"
        switch.settle(*([request.getfixturevalue("crash_sftp").port] if "sftp" in case.path else []))
        snap = Snapshot.take(model, coll)
        orphans += len(snap.orphans())
        violations += [f"{where}: {p}" for p in check_after_kill(case, snap, final, data, local_dir / NAME)]
        switch.arm(None, 0, after=False)
        lapse_leases(model, coll)
        t0 = time.monotonic()
        retries: list[str] = []  # the retry's own resends, by cause (client events)
        listener = _retry_listener(retries)
        add_listener(listener)
        try:
            outcome = worker.WRITE_PATHS[case.path](args)
        except Exception as exc:
            violations.append(f"{where}: the retry failed: {type(exc).__name__}: {exc}")
        else:
            spent["retry"] += time.monotonic() - t0
            after_snap = Snapshot.take(model, coll)
            problems = check_after_retry(case, snap, after_snap, final, data, local_dir, outcome)
            violations += [f"{where}: {p}" for p in problems]
            resumed_from = (outcome.get("files") or [{}])[0].get("resumed_from") or 0
            if not case.up and resumed_from:
                resumes += 1
                prefixes.append(resumed_from)
            if outcome.get("resumed"):
                resumes += 1
                prefix = resumable_prefix(snap, final)
                prefixes.append(prefix)
                if switch.post_bytes > full_bytes - prefix // 2:  # request framing varies a little
                    violations.append(
                        f"{where}: resumed from {prefix} bytes but sent {switch.post_bytes} of a full "
                        f"run's {full_bytes} request bytes (resends: {retries or 'none'})"
                    )
        finally:
            remove_listener(listener)
        release_all_handles(model)
        drop_journals(model, base)
    seconds = time.monotonic() - started
    print(
        f"{case.id}: {killed} kills of {points} points, {requests} requests/run, {resumes} resumed, "
        f"{orphans} unrecorded orphans, {seconds:.1f} s "
        f"(worker {spent['worker']:.1f} s, retry {spent['retry']:.1f} s)"
    )
    assert violations == [], "\n".join(violations[:15]) + f"\n({len(violations)} violations)"
    resuming = ("upload_object", "upload_object_ramp", "local_to_irods_operator", "sftp_to_irods_operator")
    if case.path in resuming and case.size != SMALL and not case.replaces:
        # Killed mid-upload, the next attempt continues from the last checkpoint: some kill points must.
        assert resumes >= 1, f"{case.id}: no retry resumed from a recorded prefix"
    if case.path == "irods_to_sftp_operator" and case.size == BIG:  # from a checkpoint, not from 0
        assert resumes >= 1, f"{case.id}: no retry resumed from a recorded prefix"
        # The first checkpoint comes after 8 chunks; a prefix may end mid-chunk (each chunk is cut into a
        # piece per SSH connection, acknowledged on its own).
        assert all(p >= CHECKPOINT_CHUNKS * worker.CHUNK for p in prefixes), prefixes
    if case.path == "upload_object_ramp":  # killed between the ramp's smaller requests, resumed there
        assert any(0 < p < worker.RAMP_CHUNK for p in prefixes), prefixes
    assert killed >= points * 2 // 3, f"{case.id}: only {killed} of {points} kill points hit a live worker"


def kill_point_test(cases: list[Case]) -> Callable[..., None]:
    """The test a split file runs, parametrized over its ``cases``: named by the attribute it is bound to."""

    @pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])
    def test(
        case: Case,
        zygote: Zygote,
        switch: KillSwitch,
        irods_emulator: Any,
        tmp_path: Path,
        request: pytest.FixtureRequest,
    ) -> None:
        run_kill_points(case, zygote, switch, irods_emulator, tmp_path, request)

    return test
