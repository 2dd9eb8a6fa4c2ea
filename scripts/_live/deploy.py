"""A real local Airflow deployment on loopback: PostgreSQL, (Redis), the iRODS emulator, SSH/SFTP clusters,
api-server, scheduler, dag-processor, triggerer and (Celery or Edge) workers, each a separate process."""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _live.api import AirflowApi
from _live.procs import Processes, free_port, port_open, wait_until

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
LIVE_DAGS = REPO / "tests" / "live" / "dags"
PY = sys.executable
ZONE = "tempZone"
EDGE_UI = "/edge_worker/ui"  # edge3's REST endpoints for its UI page: workers and jobs
# What an Edge worker takes from the central settings; nothing else (no connections, DB URL or Fernet key).
EDGE_WORKER_SETTINGS = (
    "PYTHONPATH",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__EDGE__JOB_POLL_INTERVAL",
    "AIRFLOW__EDGE__HEARTBEAT_INTERVAL",
)
EXECUTORS = {
    "local": "LocalExecutor",
    "celery": "CeleryExecutor",
    "edge": "airflow.providers.edge3.executors.EdgeExecutor",
}
# Every Airflow process imports this (from $AIRFLOW_HOME/config): the per-site queue policy, a no-op unless a
# run's ``cluster_queues`` param maps clusters to queues.
LOCAL_SETTINGS = (
    'from _live.site_queues import task_instance_mutation_hook\n\n__all__ = ["task_instance_mutation_hook"]\n'
)


@dataclass
class Cluster:
    """One embedded SSH/SFTP server standing in for an HPC cluster."""

    name: str
    port: int
    user: str
    password: str
    root: Path
    host_key_line: str = ""

    @property
    def site(self) -> str:
        """The site the cluster stands in for (``cluster_a`` → ``site_a``): its Edge worker's queue."""
        return "site_" + self.name.removeprefix("cluster_")

    @property
    def edge_hostname(self) -> str:
        """The hostname its Edge worker registers with and task instances report (``edge-site_a``)."""
        return f"edge-{self.site}"

    def connection_json(self) -> str:
        """``AIRFLOW_CONN_<NAME>`` in JSON form (password login, host key pinned)."""
        extra = {"look_for_keys": False, "host_key": self.host_key_line, "no_host_key_check": False}
        conn = {"conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": self.user}
        return json.dumps({**conn, "password": self.password, "extra": extra})


@dataclass
class Deployment:
    """Everything one live run starts; ``start()`` brings it up, ``stop()`` takes all of it down."""

    executor: str = "local"
    clusters: int = 2
    parallelism: int = 8
    workers: int = 2
    worker_concurrency: int = 2
    # Edge workers reach the API server through one WAN proxy per site (round trip, bytes/s per connection).
    wan_rtt: float = 0.02
    wan_bandwidth: float = 25e6
    # Extra ``AIRFLOW__SECTION__KEY`` settings for every Airflow process (e.g. a test's StatsD listener).
    airflow_config: dict[str, str] = field(default_factory=dict)
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="irods-live-")))
    procs: Processes = field(init=False)
    env: dict[str, str] = field(init=False, default_factory=dict)
    ports: dict[str, int] = field(init=False, default_factory=dict)
    cluster_list: list[Cluster] = field(init=False, default_factory=list)
    irods_password: str = field(init=False, default_factory=lambda: "irods-" + secrets.token_urlsafe(12))
    admin_password: str = field(init=False, default_factory=lambda: "af-" + secrets.token_urlsafe(12))
    # The emulator's control-plane token (header X-Emulator-Token), handed over in its environment.
    control_token: str = field(init=False, default_factory=lambda: secrets.token_urlsafe(24))
    api: AirflowApi = field(init=False)

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}")
        odd = sorted(k for k in self.airflow_config if not k.startswith("AIRFLOW__"))
        if odd:
            raise ValueError(f"airflow_config takes AIRFLOW__SECTION__KEY settings only, not {odd}")
        self.work.chmod(0o755)  # the postgres user must reach its data directory inside
        (self.work / "logs").mkdir()
        self.procs = Processes(self.work / "logs")

    @property
    def airflow_home(self) -> Path:
        """AIRFLOW_HOME of every Airflow process (task logs under ``logs/``)."""
        return self.work / "airflow"

    @property
    def irods_url(self) -> str:
        """The emulator's root URL (control plane under ``/_emulator/``)."""
        return f"http://127.0.0.1:{self.ports['irods']}"

    def cluster_queues(self) -> dict[str, str]:
        """The ``cluster_queues`` param of the multi-cluster DAG: each cluster's site queue (Edge only)."""
        return {c.name: c.site for c in self.cluster_list} if self.executor == "edge" else {}

    def secrets(self) -> list[str]:
        """Every secret this deployment handed out: none may appear in a task log."""
        values = [self.irods_password, self.admin_password, self.control_token]
        values += [c.password for c in self.cluster_list]
        values += [
            self.env.get(k, "") for k in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY")
        ]
        return [v for v in values if v]

    def log(self, name: str) -> Path:
        """Path of one component's log file (``scheduler``, ``triggerer``, ``worker-1``, ...)."""
        return self.procs.log_dir / f"{name}.log"

    def start(self, *, say: Any = print) -> None:
        """Bring everything up in dependency order; raise (after nothing) if a part fails to come up."""
        install_packages(celery=self.executor == "celery", say=say)
        self._postgres(say)
        if self.executor == "celery":
            self._redis(say)
        self._emulator(say)
        for i in range(self.clusters):
            self._cluster(f"cluster_{chr(ord('a') + i)}", say)
        self._airflow_env()
        self._migrate(say)
        self._airflow_processes(say)

    def stop(self) -> list[str]:
        """Stop every process started (newest first); return the ones that could not be stopped."""
        return self.procs.stop_all()

    def cleanup(self) -> None:
        """Remove the work directory (after ``stop``)."""
        shutil.rmtree(self.work, ignore_errors=True)

    # -- the parts -----------------------------------------------------------------------------------------

    def _postgres(self, say: Any) -> None:
        user = "postgres" if os.geteuid() == 0 else None
        data, sock = self.work / "pgdata", self.work / "pgsock"
        for d in (data, sock):
            d.mkdir(mode=0o700)
            if user:
                shutil.chown(d, user)
        bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
        initdb = subprocess.run(
            [bindir / "initdb", "-D", data, "-U", "airflow", "--auth=trust", "-E", "UTF8"],
            check=False,
            capture_output=True,
            text=True,
            user=user,
            cwd="/",
        )
        if initdb.returncode:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip()[-1000:]}")
        port = self.ports["postgres"] = free_port()
        argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sock)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"]
        self.procs.start(
            "postgres", argv, env=_base_env(), user=user, cwd=Path("/"), stop_signal=signal.SIGINT
        )
        wait_until("PostgreSQL", lambda: self._pg_ready(port), timeout=60)
        import psycopg2  # type: ignore[import-untyped]

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE airflow")
        conn.close()
        say(f"PostgreSQL {bindir.parent.name} on 127.0.0.1:{port} (cluster in {data})")

    def _pg_ready(self, port: int) -> bool:
        self.procs.check_alive()
        return port_open(port)

    def _redis(self, say: Any) -> None:
        port = self.ports["redis"] = free_port()
        argv = [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.procs.start("redis", [*argv, "--dir", str(self.work)], env=_base_env())
        wait_until("Redis", lambda: self._alive_and_open(port), timeout=30)
        say(f"Redis on 127.0.0.1:{port} (broker and result backend, no persistence)")

    def _alive_and_open(self, port: int) -> bool:
        self.procs.check_alive()
        return port_open(port)

    def _emulator(self, say: Any) -> None:
        port = self.ports["irods"] = free_port()
        argv = [
            PY,
            "-m",
            "irods_provider.testing",
            "serve",
            "--port",
            str(port),
            "--spool",
            str(self.work / "spool"),
        ]
        env = {**_base_env(), "IRODS_EMULATOR_CONTROL_TOKEN": self.control_token}
        self.procs.start("irods-emulator", [*argv, "--admin-password", self.irods_password], env=env)
        wait_until("the iRODS emulator", lambda: self._alive_and_open(port), timeout=60)
        say(f"iRODS HTTP API emulator at {self.irods_url}/irods-http-api/0.7.0 (zone {ZONE})")

    def _cluster(self, name: str, say: Any) -> None:
        root = self.work / "clusters" / name
        root.mkdir(parents=True)
        cluster = Cluster(name, free_port(), f"user_{name}", "ssh-" + secrets.token_urlsafe(12), root)
        argv = [
            PY,
            "-m",
            "irods_provider.testing.sftp",
            "serve",
            "--root",
            str(root),
            "--port",
            str(cluster.port),
        ]
        argv += ["--user", cluster.user, "--password", cluster.password]
        child = self.procs.start(name, argv, env=_base_env())
        wait_until(f"SSH/SFTP server {name}", lambda: "known_hosts:" in child.log.read_text(), timeout=60)
        self.procs.check_alive()
        line = next(x for x in child.log.read_text().splitlines() if x.startswith("known_hosts:"))
        cluster.host_key_line = " ".join(line.split()[2:4])
        self.cluster_list.append(cluster)
        say(f"cluster {name}: SSH/SFTP on 127.0.0.1:{cluster.port}, scratch {root}")

    def _airflow_env(self) -> None:
        from cryptography.fernet import Fernet

        self.airflow_home.mkdir()
        api = self.ports["api"] = free_port()
        bundles = [
            {
                "name": "irods_examples",
                "classpath": _LOCAL_BUNDLE,
                "kwargs": {"path": str(REPO / "example_dags")},
            },
            {"name": "irods_live_checks", "classpath": _LOCAL_BUNDLE, "kwargs": {"path": str(LIVE_DAGS)}},
        ]
        passwords = self.airflow_home / "passwords.json"
        passwords.write_text(json.dumps({"admin": self.admin_password}))
        env = _base_env() | {
            "AIRFLOW_HOME": str(self.airflow_home),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(SCRIPTS), ensure_asyncpg(), os.environ.get("PYTHONPATH")])
            ),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": EXECUTORS[self.executor],
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api}/execution/",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "_live.hostname.hostname",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                f"postgresql+psycopg2://airflow@127.0.0.1:{self.ports['postgres']}/airflow"
            ),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW_CONN_IRODS_DEFAULT": irods_uri(self.ports["irods"], self.irods_password),
            # example_dags/irods_event_driven.py: its watcher polls every second here (default 60 s)
            "IRODS_EVENT_DRIVEN_POKE_INTERVAL": "1",
        }
        for cluster in self.cluster_list:
            env[f"AIRFLOW_CONN_{cluster.name.upper()}"] = cluster.connection_json()
        if self.executor == "celery":
            redis = f"redis://127.0.0.1:{self.ports['redis']}/0"
            env |= {
                "AIRFLOW__CELERY__BROKER_URL": redis,
                "AIRFLOW__CELERY__RESULT_BACKEND": redis,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            }
        if self.executor == "edge":
            env |= {
                "AIRFLOW__EDGE__API_ENABLED": "True",
                "AIRFLOW__EDGE__API_URL": edge_api_url(api),
                "AIRFLOW__EDGE__JOB_POLL_INTERVAL": "1",
                "AIRFLOW__EDGE__HEARTBEAT_INTERVAL": "5",
                "AIRFLOW__EDGE__JOB_SUCCESS_PURGE": "60",  # minutes: the tests read the finished jobs
            }
        env |= self.airflow_config
        config = self.airflow_home / "config"
        config.mkdir()
        (config / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
        self.env = env
        self.api = AirflowApi(f"http://127.0.0.1:{api}", "admin", self.admin_password)

    def _migrate(self, say: Any) -> None:
        log = self.log("db-migrate")
        with log.open("wb") as out:
            subprocess.run(
                [PY, "-m", "airflow", "db", "migrate"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=300,
            )
        say("airflow db migrate: done")

    def _airflow_processes(self, say: Any) -> None:
        airflow = [PY, "-m", "airflow"]
        self.procs.start("api-server", [*airflow, "api-server"], env=self.env)
        self.procs.start("scheduler", [*airflow, "scheduler"], env=self.env)
        self.procs.start("dag-processor", [*airflow, "dag-processor"], env=self.env)
        self.procs.start("triggerer", [*airflow, "triggerer"], env=self.env)
        if self.executor == "celery":
            for i in range(1, self.workers + 1):
                env = self.env | {"IRODS_LIVE_HOSTNAME": f"worker-{i}"}
                argv = [*airflow, "celery", "worker", "--celery-hostname", f"worker-{i}@%h"]
                argv += ["--concurrency", str(self.worker_concurrency), "--skip-serve-logs"]
                self.procs.start(f"worker-{i}", argv, env=env)
        wait_until("the API server", self._api_ready, timeout=120, interval=0.5)
        say(f"Airflow API server at {self.api.url} ({self.executor} executor); logs in {self.procs.log_dir}")
        if self.executor == "edge":
            self._edge_workers(say)

    def _edge_workers(self, say: Any) -> None:
        """One Edge worker per cluster (its site's queue, through its WAN proxy) and one central worker."""
        api = self.ports["api"]
        self._edge_worker("edge-central", "default", api, say)
        for cluster in self.cluster_list:
            self._edge_worker(cluster.edge_hostname, cluster.site, self._wan_proxy(cluster.site, api), say)
        names = {"edge-central", *(c.edge_hostname for c in self.cluster_list)}
        wait_until("every Edge worker to register", lambda: self._edge_registered() >= names, timeout=120)

    def _wan_proxy(self, site: str, target: int) -> int:
        """Start the WAN proxy of ``site`` in front of port ``target``; return the port it listens on."""
        argv = [PY, str(SCRIPTS / "_live" / "wan.py"), "--target-port", str(target)]
        argv += ["--rtt", str(self.wan_rtt), "--bandwidth", str(self.wan_bandwidth)]
        proxy = self.procs.start(f"wan-{site}", argv, env=_base_env())
        found: list[int] = []

        def listening() -> bool:
            self.procs.check_alive()
            found[:] = [int(m) for m in re.findall(r"listening on 127\.0\.0\.1:(\d+)", proxy.log.read_text())]
            return bool(found)

        wait_until(f"the WAN proxy of {site}", listening, timeout=30)
        self.ports[f"wan-{site}"] = found[0]
        return found[0]

    def _edge_worker(self, hostname: str, queue: str, api_port: int, say: Any) -> None:
        """``airflow edge worker`` with its own AIRFLOW_HOME and none of the central site's secrets.

        Its environment has no ``AIRFLOW_CONN_*``, no metadata DB and no Fernet key: its tasks get connections
        and variables from the execution API. It keeps the shared ``[api_auth] jwt_secret``, with which edge3
        signs the worker's own requests (edge3's alternative is tokens from an OpenID provider).
        """
        home = self.work / "edge" / hostname
        home.mkdir(parents=True)
        env = (
            _base_env()
            | {k: self.env[k] for k in EDGE_WORKER_SETTINGS}
            | self.airflow_config
            | {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__EDGE__API_URL": edge_api_url(api_port),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            }
        )
        argv = [PY, "-m", "airflow", "edge", "worker", "--edge-hostname", hostname, "--queues", queue]
        self.procs.start(hostname, [*argv, "--concurrency", str(self.worker_concurrency)], env=env, cwd=home)
        say(f"Edge worker {hostname}: queue {queue}, API via 127.0.0.1:{api_port}, home {home}")

    def _edge_registered(self) -> set[str]:
        """Hostnames of the Edge workers the API server lists as registered (idle or running)."""
        self.procs.check_alive()
        try:
            body = self.api.call("GET", "/worker", prefix=EDGE_UI)
        except RuntimeError:
            return set()
        return {w["worker_name"] for w in body.get("workers", []) if w.get("state") in ("idle", "running")}

    def _api_ready(self) -> bool:
        self.procs.check_alive()
        return self.api.healthy()


_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def irods_uri(port: int, password: str) -> str:
    """``AIRFLOW_CONN_IRODS_DEFAULT`` in URI form (the schema ``http`` selects plain HTTP)."""
    quoted = urllib.parse.quote(password, safe="")
    return f"irods://rods:{quoted}@127.0.0.1:{port}/http?zone={ZONE}"


def edge_api_url(port: int) -> str:
    """``[edge] api_url``: the Edge worker API of the API server (or of a WAN proxy in front of it)."""
    return f"http://127.0.0.1:{port}/edge_worker/v1/rpcapi"


def _base_env() -> dict[str, str]:
    """The parent's environment without any Airflow settings (each process gets its own explicitly)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}


def ensure_asyncpg() -> str | None:
    """Airflow derives a ``postgresql+asyncpg`` engine from the sync URL; install asyncpg aside if missing.

    Returns a directory to put on the Airflow processes' PYTHONPATH (None when the venv has asyncpg).
    """
    import importlib.util

    if importlib.util.find_spec("asyncpg") is not None:
        return None
    target = (
        Path.home() / ".cache" / "irods-provider-live" / f"pylib-py{sys.version_info[0]}{sys.version_info[1]}"
    )
    if not (target / "asyncpg").is_dir():
        uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", PY, "--target", str(target), "asyncpg>=0.30"],
            check=True,
        )
    return str(target)


def install_packages(*, celery: bool, say: Any = print) -> None:
    """Install PostgreSQL (and Redis) from Debian's archive when missing and running as root."""
    missing = []
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("postgresql")
    if celery and shutil.which("redis-server") is None:
        missing.append("redis-server")
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"missing Debian packages {missing}: install them (needs root)")
    say(f"installing {' '.join(missing)} with apt-get")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        capture_output=True,
    )
