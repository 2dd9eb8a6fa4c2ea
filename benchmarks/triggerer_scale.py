"""A triggerer holding N iRODS sensor triggers: logins, token requests, loop lag, server load, memory.

Airflow's own ``TriggerRunner`` (the class the ``airflow triggerer`` command runs in its trigger process)
creates N ``IrodsPathTrigger`` / ``IrodsMetadataTrigger`` instances from encrypted workloads, exactly as it
does for triggers it reads from the metadata database, and runs them for ``--duration`` seconds against the
emulator (in a subprocess, behind a request-counting wrapper). Each run happens twice, each in a fresh
process: with shared sessions (the default) and with ``AIRFLOW_IRODS_SHARE_TRIGGER_SESSIONS=false``.

``--auth openid-jwt`` (or ``openid-introspection``) logs in with OpenID at the real test provider of the
tests (django-oauth-toolkit, password grant, access tokens living ``--token-lifetime``); the emulator
validates the bearer tokens locally against the provider's JWKS (or at its introspection endpoint on every
request, the server's other mode: the provider then answers as many requests as the emulator), and token
requests are counted at the provider. ``--auth basic`` (the default) counts the emulator's logins.

Not covered: the supervisor half of the triggerer (it only moves workloads and events between the metadata
database and this process).

    python benchmarks/triggerer_scale.py --json            # N=1000, 10 s pokes, 60 s tokens, 150 s
    python benchmarks/triggerer_scale.py --quick --json    # N=200, 5 s pokes, 15 s tokens, 40 s
    python benchmarks/triggerer_scale.py --auth openid-jwt --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from _emulator import ROOT, free_port

SHARE_ENV = "AIRFLOW_IRODS_SHARE_TRIGGER_SESSIONS"
BENCH = "/tempZone/home/rods/bench"

# The emulator with every request counted by (method, endpoint); GET /_bench/counts answers the counts.
_SERVER = """
import collections, json, sys
from irods_provider.testing._config import EmulatorConfig
from irods_provider.testing._server import EmulatorServer

port, lifetime, auth, issuer, secret = int(sys.argv[1]), float(sys.argv[2]), *sys.argv[3:6]
openid = None
if auth == "openid-jwt":
    from irods_provider.testing._openid import OpenIdJwtValidator
    openid = OpenIdJwtValidator(issuer, client_id="irods-rs", user_claim="preferred_username")
elif auth == "openid-introspection":
    from irods_provider.testing._openid import OpenIdIntrospectionValidator
    openid = OpenIdIntrospectionValidator(
        issuer, client_id="irods-rs", client_secret=secret, user_claim="preferred_username"
    )
counts = collections.Counter()
server = EmulatorServer(EmulatorConfig(port=port, token_lifetime_seconds=lifetime, openid=openid))
inner = server.app

async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/_bench/counts":
        body = json.dumps(dict(counts)).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] == "http":
        counts[scope["method"] + " " + scope["path"].rsplit("/", 1)[-1]] += 1
    await inner(scope, receive, send)

server.app = app
server.start()
server.add_user("alice", "alice-irods-password")
print("ready", flush=True)
server.serve_forever()
"""

SUPPORT = Path(ROOT) / "tests" / "support"


@contextlib.contextmanager
def openid_provider(auth: str, token_lifetime: float) -> Any:
    """The tests' django-oauth-toolkit provider when ``auth`` is an OpenID mode, else None."""
    if auth == "basic":
        yield None
        return
    sys.path.insert(0, str(SUPPORT))
    from oidc_provider.harness import start_oidc_provider

    with (
        tempfile.TemporaryDirectory(prefix="triggerer-scale-oidc-") as workdir,
        start_oidc_provider(Path(workdir), access_token_seconds=int(token_lifetime)) as provider,
    ):
        yield provider


def connection_uri(port: int, auth: str, provider: Any) -> str:
    """The ``irods_bench`` connection: Basic as rods, or the OpenID password grant as alice."""
    base = f"irods://rods:rods-emulator@127.0.0.1:{port}/http?zone=tempZone&api_version=0.7.0"
    if auth == "basic":
        return base
    client = "irods-jwt" if auth == "openid-jwt" else "irods-pw"
    extras = {
        "auth_mode": "openid_password",
        "openid_discovery_url": provider.issuer,
        "openid_client_id": client,
        "openid_client_secret": provider.clients[client],
        "openid_username": "alice",
        "openid_password": provider.users["alice"],
        "openid_allow_insecure_http": "true",
    }
    if auth == "openid-jwt":
        extras["openid_audience"] = "irods-rs"
    return base + "&" + urllib.parse.urlencode(extras)


@contextlib.contextmanager
def counting_emulator(token_lifetime: float, auth: str = "basic", provider: Any = None) -> Any:
    """The emulator in a subprocess; yields its port once it answers."""
    import httpx2

    port = free_port()
    issuer, secret = (provider.issuer, provider.clients["irods-rs"]) if provider else ("", "")
    cmd = [sys.executable, "-c", _SERVER, str(port), str(token_lifetime), auth, issuer, secret]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"http://127.0.0.1:{port}/_bench/counts", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def server_counts(port: int) -> dict[str, int]:
    """Requests the emulator answered so far, by ``METHOD endpoint``."""
    import httpx2

    return dict(httpx2.get(f"http://127.0.0.1:{port}/_bench/counts", timeout=10).json())


def _workloads(n: int, poke_interval: float) -> list[Any]:
    """N trigger workloads as the triggerer receives them: half path, half metadata, none ever satisfied."""
    from airflow.executors.workloads.trigger import RunTrigger
    from airflow.models.trigger import Trigger

    from irods_provider.triggers.irods import IrodsMetadataTrigger, IrodsPathTrigger

    workloads = []
    for i in range(n):
        trigger: Any
        if i % 2:
            trigger = IrodsMetadataTrigger(
                attribute="bench.ready", path=BENCH, irods_conn_id="irods_bench", poke_interval=poke_interval
            )
        else:
            trigger = IrodsPathTrigger(
                path=f"{BENCH}/never-{i}.csv", irods_conn_id="irods_bench", poke_interval=poke_interval
            )
        classpath, kwargs = trigger.serialize()
        workloads.append(
            RunTrigger(id=i + 1, classpath=classpath, encrypted_kwargs=Trigger.encrypt_kwargs(kwargs))
        )
    return workloads


class _LoopProbe:
    """How late the loop wakes a task sleeping ``period`` (the event loop lag, ms), and why.

    Per sample also the loop thread's CPU time and its time runnable but waiting for a CPU (Linux
    ``/proc/thread-self/schedstat``; 0 elsewhere): on a shared machine the second is lag no code in this
    process caused. Gen-2 garbage collections (a pause of the whole process) are timed too.
    """

    def __init__(self, period: float = 0.05) -> None:
        self.period = period
        self.lags: list[float] = []
        self.cpu: list[float] = []
        self.runqueue: list[float] = []
        self.gc_gen2_ms: list[float] = []
        self._gc_started = 0.0

    @staticmethod
    def _runqueue_ns() -> int:
        try:
            with open("/proc/thread-self/schedstat") as stat:
                return int(stat.read().split()[1])
        except OSError:
            return 0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_gen2_ms.append((time.perf_counter() - self._gc_started) * 1000)

    async def run(self, stop: asyncio.Event) -> None:
        import gc

        loop = asyncio.get_running_loop()
        gc.callbacks.append(self._on_gc)
        try:
            while not stop.is_set():
                start, cpu, waited = loop.time(), time.thread_time(), self._runqueue_ns()
                await asyncio.sleep(self.period)
                self.lags.append((loop.time() - start - self.period) * 1000)
                self.cpu.append((time.thread_time() - cpu) * 1000)
                self.runqueue.append((self._runqueue_ns() - waited) / 1e6)
        finally:
            gc.callbacks.remove(self._on_gc)

    def figures(self) -> dict[str, Any]:
        """Lag percentiles, and the part of the worst 1 % that was spent waiting for a CPU."""
        n = min(len(self.lags), len(self.cpu), len(self.runqueue))
        if not n:
            return {}
        lags = sorted(self.lags[:n])
        worst = sorted(range(n), key=lambda i: self.lags[i])[int(n * 0.99) :]
        own = sorted(max(self.lags[i] - self.runqueue[i], 0.0) for i in range(n))
        worst_lag = sum(self.lags[i] for i in worst)
        return {
            "event_loop_lag_p50_ms": round(lags[n // 2], 1),
            "event_loop_lag_p99_ms": round(lags[int(n * 0.99)], 1),
            "event_loop_lag_max_ms": round(lags[-1], 1),
            "event_loop_lag_samples": n,
            # Of the worst 1 % of samples: the share of their lag the loop thread was runnable but had no CPU.
            "worst_1pct_lag_share_waiting_for_cpu": round(
                sum(min(self.runqueue[i], self.lags[i]) for i in worst) / worst_lag, 2
            )
            if worst_lag > 0
            else 0.0,
            "worst_1pct_loop_cpu_ms_mean": round(sum(self.cpu[i] for i in worst) / len(worst), 1),
            # The lag minus the time waiting for a CPU: what this process would have had on idle cores.
            "event_loop_lag_without_cpu_wait_p99_ms": round(own[int(n * 0.99)], 1),
            "gc_gen2_pauses": len(self.gc_gen2_ms),
            "gc_gen2_pause_max_ms": round(max(self.gc_gen2_ms), 1) if self.gc_gen2_ms else 0.0,
        }


def _rss_kib() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 1024


async def _child(args: argparse.Namespace) -> None:
    """One mode in this process: run N triggers in Airflow's TriggerRunner and measure.

    The window is timed by a thread, not by the loop: a saturated loop (the unshared baseline at large N)
    cannot delay the measurement; the figures go to ``--out`` before the triggers are cancelled.
    """
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    workloads = _workloads(args.triggers, args.poke_interval)
    runner = TriggerRunner()  # type: ignore[no-untyped-call]
    import irods_provider.triggers.irods  # noqa: F401  (loaded before the baseline RSS, as a triggerer has it)

    rss_before = _rss_kib()
    before = server_counts(args.port) | _provider_counts(args)
    probe = _LoopProbe()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    probing = asyncio.ensure_future(probe.run(stop))
    started = time.monotonic()

    def measure() -> None:
        time.sleep(args.duration)
        after = server_counts(args.port) | _provider_counts(args)
        figures = _figures(args, before, after, time.monotonic() - started) | probe.figures()
        figures["rss_per_trigger_kib"] = round((_rss_kib() - rss_before) / args.triggers, 1)
        figures["sessions_shared_at_end"] = _open_shared_sessions()
        figures["events"] = len(runner.events)
        figures["events_by_status"] = _event_statuses(runner.events)
        figures["failed_triggers"] = len(runner.failed_triggers)
        Path(args.out).write_text(json.dumps(figures))
        loop.call_soon_threadsafe(stop.set)

    timer = threading.Thread(target=measure, daemon=True)
    timer.start()
    runner.to_create.extend(workloads)
    await runner.create_triggers()  # type: ignore[no-untyped-call]
    await stop.wait()
    await probing
    tasks = [details["task"] for details in runner.triggers.values()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _event_statuses(events: Any) -> dict[str, int]:
    """Events fired so far by ``status`` (``error:<class>`` for errors): none is expected, nothing appears."""
    import collections

    found: collections.Counter[str] = collections.Counter()
    for entry in list(events):
        payload = getattr(entry.event, "payload", None) or {}
        status = str(payload.get("status", "?"))
        found[f"{status}:{payload.get('error_class')}" if status == "error" else status] += 1
    return dict(found)


def _provider_counts(args: argparse.Namespace) -> dict[str, int]:
    """Token requests the OpenID provider answered so far (``PROVIDER token``), none under Basic auth."""
    if not args.provider_url:
        return {}
    import httpx2

    stats = httpx2.get(f"{args.provider_url}/test/stats", timeout=10).json()
    return {"PROVIDER token": int(stats.get("total", 0))}


def _open_shared_sessions() -> int:
    from irods_provider.triggers import _shared

    return sum(len(entries) for entries in list(_shared._REGISTRY.values()))


def _figures(
    args: argparse.Namespace,
    before: dict[str, int],
    after: dict[str, int],
    elapsed: float,
) -> dict[str, Any]:
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    token_requests = delta.pop("PROVIDER token", None)
    logins = delta.get("POST authenticate", 0) if token_requests is None else token_requests
    requests = sum(delta.values())
    lifetimes = math.ceil(elapsed / args.token_lifetime)  # token lifetimes begun: ideally one login each
    return {
        "triggers": args.triggers,
        "shared": os.environ.get(SHARE_ENV, "true") != "false",
        "auth": args.auth,
        "duration_s": round(elapsed, 1),
        "poke_interval_s": args.poke_interval,
        "token_lifetime_s": args.token_lifetime,
        "logins": logins,
        "token_requests_per_connection_per_token_lifetime": round(logins / lifetimes, 2),
        "server_requests": requests,
        "server_requests_per_second": round(requests / elapsed, 1),
        "expected_checks_per_second": round(args.triggers / args.poke_interval, 1),
        # requests per check per trigger: 2 by design (stat collection + stat object; metadata: 2 GenQueries)
        "requests_per_expected_check": round(requests / elapsed / (args.triggers / args.poke_interval), 2),
        "requests_by_endpoint": dict(sorted(delta.items())),
    }


def _run_mode(args: argparse.Namespace, port: int, shared: bool, provider: Any) -> dict[str, Any]:
    env = os.environ | {
        SHARE_ENV: "true" if shared else "false",
        "AIRFLOW_CONN_IRODS_BENCH": connection_uri(port, args.auth, provider),
        "AIRFLOW__CORE__FERNET_KEY": args.fernet_key,
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    argv = [sys.executable, __file__, "--child", "--port", str(port)]
    argv += ["--triggers", str(args.triggers), "--duration", str(args.duration)]
    argv += ["--poke-interval", str(args.poke_interval), "--token-lifetime", str(args.token_lifetime)]
    out = Path(tempfile.mkdtemp(prefix="triggerer-scale-")) / "figures.json"
    argv += ["--out", str(out), "--auth", args.auth]
    argv += ["--provider-url", provider.url] if provider else []
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = proc.communicate(timeout=args.duration + 240)
    except subprocess.TimeoutExpired:  # the figures were written at the end of the window; cleanup hung
        proc.kill()
        _, stderr = proc.communicate()
    if not out.exists():
        raise RuntimeError(f"the {'shared' if shared else 'unshared'} run failed:\n{stderr[-3000:]}")
    figures = dict(json.loads(out.read_text()))
    shutil.rmtree(out.parent, ignore_errors=True)
    return figures


def main() -> None:
    """Parse arguments; as parent run both modes (each with a fresh emulator), as child run one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--triggers", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds of steady running")
    parser.add_argument("--poke-interval", type=float, default=None)
    parser.add_argument("--token-lifetime", type=float, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--mode", choices=["both", "shared", "unshared"], default="both")
    parser.add_argument(
        "--auth",
        choices=["basic", "openid-jwt", "openid-introspection"],
        default="basic",
        help="how to log in",
    )
    parser.add_argument("--provider-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quick = {"triggers": 200, "duration": 40.0, "poke_interval": 5.0, "token_lifetime": 15.0}
    full = {"triggers": 1000, "duration": 150.0, "poke_interval": 10.0, "token_lifetime": 60.0}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.child:
        asyncio.run(_child(args))
        return
    from cryptography.fernet import Fernet

    args.fernet_key = Fernet.generate_key().decode()
    results: dict[str, Any] = {"quick": args.quick, "auth": args.auth}
    for shared in {"both": (True, False), "shared": (True,), "unshared": (False,)}[args.mode]:
        with (
            openid_provider(args.auth, args.token_lifetime) as provider,
            counting_emulator(args.token_lifetime, args.auth, provider) as port,
        ):
            results["shared" if shared else "unshared"] = _run_mode(args, port, shared, provider)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for mode in ("shared", "unshared"):
            if mode in results:
                figures = {k: v for k, v in results[mode].items() if k != "requests_by_endpoint"}
                print(mode, json.dumps(figures))


if __name__ == "__main__":
    main()
