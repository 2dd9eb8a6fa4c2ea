"""Run the emulator on uvicorn: in a background thread (tests) or in the foreground (command line)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import uvicorn

from irods_provider.testing._app import build_app
from irods_provider.testing._config import EmulatorConfig, FaultInjector, Faults
from irods_provider.testing._locks import WriteHold
from irods_provider.testing._model import EmulatorModel
from irods_provider.testing._protocol import make_protocol
from irods_provider.testing._security import check_bind
from irods_provider.testing._token_hold import TokenCheckHold

START_TIMEOUT = 15.0


class _Server(uvicorn.Server):
    """uvicorn server that signals a ready event once it listens."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


class EmulatorServer:
    """An iRODS HTTP API emulator (0.4.0 to 0.7.0: ``config.api_version``) bound to 127.0.0.1.

    Use as a context manager or call :meth:`start`/:meth:`stop` (port 0 = a free port). ``url`` is
    ``http(s)://host:port`` and ``base_url`` adds ``/irods-http-api/<version>``; ``model`` is the state,
    ``control`` the control plane.

    Example:

    ```python
    import os

    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.testing import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(api_version="0.6.0")) as server:
        server.add_user("alice", "alice-password")
        auth = BasicAuth("alice", "alice-password")
        with IrodsSession(server.base_url, auth=auth) as session:
            session.collections.create("/tempZone/home/alice/x")
        # A DAG under test (dag.test()) reaches it as irods_default, logged in as alice:
        os.environ["AIRFLOW_CONN_IRODS_DEFAULT"] = server.airflow_connection_uri("alice", "alice-password")
    ```
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.model = EmulatorModel(self.config)
        self.injector = FaultInjector(self.config.faults)
        self.app, self.control = build_app(self.model, self.injector)
        self.host = self.config.host
        self.port = self.config.port
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- addresses -------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``https`` when a certificate is configured."""
        return "https" if self.config.ssl_certfile else "http"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def control_token(self) -> str:
        """The per-process token the HTTP control plane requires in the ``X-Emulator-Token`` header."""
        return self.config.control_token

    @property
    def base_url(self) -> str:
        """The API base: ``url`` + ``/irods-http-api/<version>``."""
        return self.url + self.config.base_path

    def airflow_connection_uri(self, login: str | None = None, password: str | None = None) -> str:
        """The ``AIRFLOW_CONN_<ID>`` value (URI form) of an ``irods`` connection to this emulator.

        The admin account by default; with TLS the certificate is named as the CA bundle so that
        verification stays on.
        """
        login = self.config.admin_user if login is None else login
        password = self.config.admin_password if password is None else password
        query = {"zone": self.config.zone}
        if self.config.ssl_certfile:
            query["ca_bundle"] = str(self.config.ssl_certfile)
        credentials = f"{quote(login, safe='')}:{quote(password, safe='')}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"irods://{credentials}@{host}:{self.port}/{self.scheme}?{urlencode(query)}"

    # ---- lifecycle -------------------------------------------------------------------------

    def bind(self) -> socket.socket:
        """Bind the listening socket now (so the real port is known before serving).

        Raises :class:`EmulatorSecurityError` for a non-loopback address without ``allow_remote`` and a
        non-default admin password.
        """
        if self._sock is None:
            check_bind(self.config)
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when proto says TCP,
            # and without it every keep-alive request waits ~40 ms on delayed ACKs.
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            sock.set_inheritable(True)
            self._sock = sock
            self.port = sock.getsockname()[1]
        return self._sock

    def _uvicorn_config(self) -> uvicorn.Config:
        kwargs: dict[str, Any] = {}
        if self.config.ssl_certfile:
            kwargs.update(ssl_certfile=self.config.ssl_certfile, ssl_keyfile=self.config.ssl_keyfile)
        return uvicorn.Config(
            self.app,
            http=make_protocol(lambda: self.config.max_body_bytes),
            loop="asyncio",
            lifespan="off",
            log_level=self.config.log_level,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=2,
            **kwargs,
        )

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread; returns once the server listens."""
        if self._thread is not None:
            return self
        sock = self.bind()
        ready = threading.Event()
        self._server = _Server(self._uvicorn_config(), ready)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="irods-emulator", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("iRODS emulator did not start in time")
        return self

    def serve_forever(self) -> None:
        """Serve in the calling (main) thread until Ctrl-C / SIGTERM."""
        sock = self.bind()
        self._server = _Server(self._uvicorn_config(), threading.Event())
        self._server.run(sockets=[sock])

    def stop(self) -> None:
        """Stop serving, join the thread and release handles and the temporary spool."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.model.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- control (same operations as the HTTP control plane) ------------------------------

    def reset(self) -> None:
        """Re-initialise the zone and clear faults."""
        self.control.reset()

    @property
    def faults(self) -> Faults:
        """Current fault settings (a copy)."""
        return self.injector.faults

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault settings (latency, error_500/503/429, drop_mid_body, drop_connection, seed)."""
        return self.injector.set(**changes)

    def injected_faults(self) -> dict[str, int]:
        """Faults applied since the last reset, by kind (``error_503``, ``drop_connection``, ...;
        ``request_deadline``: a request cut off by ``request_timeout_seconds``)."""
        return self.injector.injected()

    def cut_requests(self) -> list[str]:
        """The requests ``request_timeout_seconds`` cut off since the last reset, in order, each as
        ``"endpoint op"`` (``"data-objects calculate_checksum"``; only the endpoint for one cut before its
        body was read): a test names the one it expects cut, whatever else a loaded machine made late."""
        return self.injector.cut_requests()

    def set_limits(self, **changes: Any) -> dict[str, Any]:
        """Change run-time limits (token lifetime, stream limits, body limit, max rows, the request deadline
        ``request_timeout_seconds``, the pace ``server_io_bytes_per_second``, ...)."""
        return self.control.limits(**changes)

    def requests_in_flight(self) -> int:
        """API requests being served now: a handler that outlasted its deadline (its reply never leaves)
        counts until it ends, so a test can wait for the server's work before the zone is reset."""
        return self.app.in_flight

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no API request is being served (at most ``timeout`` seconds); whether it is idle."""
        end = time.monotonic() + timeout
        while self.app.in_flight and time.monotonic() < end:
            time.sleep(0.02)
        return not self.app.in_flight

    def open_parallel_write_streams(self) -> int:
        """Number of parallel-write streams currently reserved server-wide."""
        return self.model.parallel_write_counts()["streams"]

    def parallel_stream_overlaps(self) -> int:
        """Writes that named a parallel-write stream while another write was using it (see
        ``ParallelWriteMixin.stream_overlaps``): always 0 for a correct client."""
        return self.model.parallel_write_counts()["stream_overlaps"]

    def open_parallel_write_handles(self) -> int:
        """Number of open parallel-write handles."""
        return self.model.parallel_write_counts()["handles"]

    def token_count(self) -> int:
        """Number of live Basic tokens."""
        return self.model.token_count()

    def corrupt_replica(self, path: str, resource: str) -> int:
        """Test hook: damage the bytes of ``path``'s replica on leaf ``resource`` (same size, catalog
        untouched, as bit rot would); its replica number."""
        return self.model.corrupt_replica(path, resource)

    def set_replica_fault(self, leaf: str, kind: str | None) -> None:
        """Test hook: a replication resource's copy on ``leaf`` of every later write is ``corrupt``
        (damaged bytes, catalog good) or ``stale`` (not copied); None restores faithful copies."""
        self.model.set_replica_fault(leaf, kind)

    def hold_writes(self, path: str, *, prefix: bool = False, operation: str | None = None) -> WriteHold:
        """Test hook: the next write, copy or replicate onto ``path`` locks the object (as iRODS does while
        it writes) and waits there until ``hold.release()`` (``hold.wait_reached(timeout)`` to know).
        ``prefix``: any path starting with ``path``; ``operation``: only that kind of write (``"checksum"``:
        a calculate_checksum of ``path``, held after hashing, before it registers the checksum)."""
        return self.model.hold_writes(path, prefix=prefix, operation=operation)

    def hold_token_checks(self) -> TokenCheckHold:
        """Test hook: every authenticated request waits at its bearer-token check until ``hold.release(
        expire=...)`` lets the waiting ones go, their Basic tokens expired first or not (a token expiring
        in flight, forced); ``hold.wait_held(count, timeout)`` to know they wait. Until ``hold.stop()``."""
        return self.model.hold_token_checks()

    def set_vault_free(self, resource: str, free_bytes: int | None) -> None:
        """Test hook: the vault of ``resource`` (a leaf) takes ``free_bytes`` more bytes, then each write into
        it fails as on a full disk (``UNIX_FILE_WRITE_ERR - ENOSPC``, the write stream left bad); None lifts
        the limit."""
        self.model.set_vault_free(resource, free_bytes)

    def release_writes(self, path: str | None = None) -> list[str]:
        """Release the hold on ``path`` (all holds when None)."""
        return self.model.release_writes(path)

    @property
    def crashes(self) -> int:
        """How often the emulated HTTP API process crashed and started again (0.4.0/0.5.0: a
        ``parallel_write_init`` that cannot open its object, #402); 0 after :meth:`reset`."""
        return self.model.crashes

    def drop_parallel_writes(self, path: str | None = None) -> int:
        """Forget open parallel-write handles (on ``path``, or all) as if their iRODS connections died:
        each written replica is left stale, its siblings' statuses restored; how many were dropped."""
        return self.model.drop_parallel_writes(path)

    def add_avu(self, path: str, attribute: str, value: str, units: str = "") -> None:
        """Test hook: attach an AVU to the collection or data object ``path`` in the catalog of its own zone,
        as a client of that zone (``imeta`` there) would: the HTTP API's atomic call cannot reach a
        federated zone's catalog (it writes the local one by the remote object's id)."""
        self.model.add_avu(path, attribute, value, units)

    def add_user(self, name: str, password: str, user_type: str = "rodsuser") -> None:
        """Create a user (with home and trash) and set its password."""
        self.model.add_user(name, password, user_type)
