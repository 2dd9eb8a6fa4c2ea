"""Configuration of the emulator: server limits, fault injection and the OpenID validator hook."""

from __future__ import annotations

import functools
import random
import secrets
import socket
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from irods_provider.testing._versions import (
    DEFAULT_API_VERSION,
    DEFAULT_IRODS_SERVER_VERSION,
    IrodsRelease,
    VersionProfile,
    irods_release,
    profile_for,
)

if TYPE_CHECKING:
    from irods_provider.testing._openid_client import OpenIdClientMode

API_VERSION = DEFAULT_API_VERSION
BASE_PATH = f"/irods-http-api/{API_VERSION}"
MIB = 1024 * 1024
HASH_SCHEMES = ("sha256", "md5", "sha512", "sha1", "adler32")
"""The ``default_hash_scheme`` values a 4.3.4 server knows (irods_hasher_factory.cpp:18-31)."""
RESOURCE_PRESET: tuple[str, ...] = ("archiveResc", "replResc:replication")
"""A zone with storage tiers: ``demoResc`` (default), a second unixfilesystem resource and a
replication resource with two unixfilesystem children (``replResc_ufs0``/``replResc_ufs1``)."""
# Long enough for Airflow's secrets masker (it ignores secrets shorter than 5 characters), and public:
# binding to a non-loopback address requires another one.
DEFAULT_ADMIN_PASSWORD = "rods-emulator"


@functools.cache
def installer_hostname() -> str:
    """This machine's name as the iRODS installer writes it for the default resource: the canonical name
    of ``gethostname()`` (irods 4.3.4 scripts/irods/lib.py:35-37 ``get_hostname``, used by
    database_connect.py:483-491), or the plain name where it does not resolve."""
    name = socket.gethostname()
    try:
        return socket.getaddrinfo(name, 0, 0, 0, 0, socket.AI_CANONNAME)[0][3] or name
    except OSError:
        return name


@runtime_checkable
class OpenIdValidator(Protocol):
    """Maps an OpenID access token to a zone user name (``None`` when the token is not acceptable).

    Called for every Bearer value that is not a known Basic token, off the event loop (it may do I/O).
    """

    def username_for(self, token: str) -> str | None: ...


def client_mode_refusal(
    profile: VersionProfile, *, hint: str = "use api_version 0.4.0 or 0.5.0, or openid= (protected resource)"
) -> str | None:
    """Why ``profile`` cannot run OpenID client mode, or None where it can (0.4.0 and 0.5.0)."""
    if profile.openid_client_mode:
        return None
    return (
        f"iRODS HTTP API {profile.version} has no OpenID client mode: 0.6.0 removed it "
        "(irods/irods_client_http_api#416; its configuration has no 'mode', the server is a "
        f"protected resource only): {hint}"
    )


def client_mode_secret_refusal(profile: VersionProfile) -> str | None:
    """Why ``profile`` has no ``nonstandard_id_token_secret``, or None: 0.5.0 added it with the ID-token
    checks (core/src/main.cpp:235-237 at 0.5.0; 0.4.0 decodes the ID token unchecked)."""
    if profile.openid_client_checks:
        return None
    return (
        f"iRODS HTTP API {profile.version} checks no ID token and has no nonstandard_id_token_secret "
        "(0.5.0 added both): use api_version 0.5.0, or leave the secret out"
    )


def client_mode_mapping_refusal(profile: VersionProfile, *, mapping_file: bool) -> str | None:
    """Why ``profile``'s configuration has no such user mapping, or None: a mapping file (the ``local_file``
    plugin's ``file_path``) exists from 0.5.0 on, the inline ``user_attribute_mapping`` only before it."""
    if mapping_file and not profile.openid_user_mapping_plugins:
        return (
            f"iRODS HTTP API {profile.version} has no user_mapping plugins and so no mapping file (0.5.0 "
            "added them): its openid_connect maps users with irods_user_claim or an inline "
            "user_attribute_mapping"
        )
    if not mapping_file and profile.openid_user_mapping_plugins:
        return (
            f"iRODS HTTP API {profile.version} has no user_attribute_mapping: 0.5.0 replaced it and "
            "irods_user_claim with user_mapping plugins (local_file reads the mapping from a file)"
        )
    return None


@dataclass
class Faults:
    """Fault injection, changeable at run time; applies to API endpoints only, never the control plane.

    Probabilities are in [0, 1] and drawn from one RNG seeded with ``seed`` so a run is reproducible.
    ``drop_mid_body`` aborts a request with a body after reading part of it, without any response;
    ``drop_connection`` closes the connection of any request (GET too) without any response.
    :meth:`FaultInjector.injected` counts the faults actually applied, by kind, so a test can check
    server-side that every failure it saw was one that was injected.

    Example:

    ```python
    from irods_provider.testing import EmulatorConfig, EmulatorServer, Faults

    with EmulatorServer(EmulatorConfig(faults=Faults(error_503=0.2, seed=7))) as server:
        server.set_faults(latency_seconds=0.05)  # changeable while the server runs
        print(server.injected_faults())
    ```
    """

    latency_seconds: float = 0.0
    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    drop_mid_body: float = 0.0
    drop_connection: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the fault settings as a JSON-able mapping."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FaultInjector:
    """Holds the current :class:`Faults` and the seeded RNG that decides each request's fate."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.seed)
        self._applied: dict[str, int] = {}
        self._cut: list[str] = []

    @property
    def faults(self) -> Faults:
        """The current settings (a copy; use :meth:`set` to change them)."""
        with self._lock:
            return Faults(**self._faults.to_dict())

    def set(self, **changes: Any) -> Faults:
        """Change some settings; changing ``seed`` (or calling with it) re-seeds the RNG."""
        with self._lock:
            values = self._faults.to_dict()
            unknown = set(changes) - set(values)
            if unknown:
                raise ValueError(f"unknown fault settings: {sorted(unknown)}")
            values.update(changes)
            self._faults = Faults(**values)
            self._rng = random.Random(self._faults.seed)
            return Faults(**values)

    def reset(self) -> None:
        """Back to no faults at all, and no applied faults counted."""
        self.set(**Faults().to_dict())
        with self._lock:
            self._applied.clear()
            self._cut.clear()

    def applied(self, kind: str) -> None:
        """Count one fault of ``kind`` (a :class:`Faults` field name) as applied to a request."""
        with self._lock:
            self._applied[kind] = self._applied.get(kind, 0) + 1

    def cut(self, request: str) -> None:
        """Count a request cut off by the deadline (``request_deadline``), remembering which it was."""
        with self._lock:
            self._applied["request_deadline"] = self._applied.get("request_deadline", 0) + 1
            self._cut.append(request)

    def cut_requests(self) -> list[str]:
        """The requests cut off by the deadline since the last reset, in order (``"endpoint op"``)."""
        with self._lock:
            return list(self._cut)

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were applied since the last reset (kinds never applied absent)."""
        with self._lock:
            return dict(self._applied)

    def draw(self) -> tuple[float, int | None, str | None]:
        """Decide one request's fate: (latency, forced HTTP status or None, drop kind or None).

        The drop kind is ``"drop_connection"`` or ``"drop_mid_body"`` (the latter only matters for a body).
        """
        with self._lock:
            f = self._faults
            status: int | None = None
            roll = self._rng.random()
            for code, p in ((500, f.error_500), (503, f.error_503), (429, f.error_429)):
                if roll < p:
                    status = code
                    break
                roll -= p
            drop: str | None = None
            if f.drop_connection > 0 and self._rng.random() < f.drop_connection:
                drop = "drop_connection"
            elif f.drop_mid_body > 0 and self._rng.random() < f.drop_mid_body:
                drop = "drop_mid_body"
            return f.latency_seconds, status, drop


@dataclass
class EmulatorConfig:
    """Everything that makes one emulator instance: zone, admin, limits, spool, TLS, OpenID, API version.

    Example:

    ```python
    from irods_provider.testing import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(zone="labZone", api_version="0.5.0", max_rows=100, resources=("archiveResc",))
    with EmulatorServer(config) as server:
        print(server.base_url)
    ```
    """

    host: str = "127.0.0.1"
    port: int = 0
    zone: str = "tempZone"
    admin_user: str = "rods"
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    token_lifetime_seconds: float = 3600.0
    max_streams_per_handle: int = 3
    max_streams: int = 15
    max_body_bytes: int = 8 * MIB
    max_rows: int = 15
    read_buffer_bytes: int = MIB
    write_buffer_bytes: int = MIB
    # irods_client.connection_pool.size (template: 6, core/src/main.cpp:563-564 at 0.7.0): the pooled agents
    # whose "last counted object" decides ticket uses (see _tickets.TicketsMixin.ticket_grants).
    connection_pool_size: int = 6
    # irods_client.connection_pool.max_retrievals_before_refresh (template: 16, main.cpp:566 at 0.7.0): a
    # connection taken that often is reconnected (a new agent) when next taken (irods 4.3.4
    # lib/core/src/connection_pool.cpp:295-300, 370-388).
    connection_pool_max_retrievals: int = 16
    dstream_exposes_irods_error_codes: bool = False
    request_timeout_seconds: float = 30.0
    """The server's whole-request deadline (``http_server.requests.timeout_in_seconds``, 30 s by default:
    README.md:334 at 0.7.0). The server sets it once per request, when it starts reading the headers
    (``stream_.expires_after``, core/src/session.cpp:78 at 0.7.0, :63 at 0.5.0), and never again: reading
    the body, running the handler and writing the reply all count. A Beast stream whose expiry has passed
    fails its next read or write with a timeout and closes the socket, so a handler that outlasts it still
    acts (the catalog is updated) but its reply never leaves: the connection closes without a response.
    Measured here from the request's start; a body read still pending then is cut off at once."""
    server_io_bytes_per_second: float = 0.0
    """How fast server-side work goes: hashing (``calculate_checksum``, ``verify_checksum``), ``copy`` and
    ``replicate`` take their bytes at this rate (0: at once). A copy's or replication's target replica is
    intermediate and its object locked meanwhile, as rsDataObjCopy/rsDataObjRepl keep it open for writing
    until they close it; a checksum is registered when the hash ends (dataObjChksumAndRegInfo:
    irods 4.3.4 server/api/src/rsDataObjChksum.cpp:587-619). With a small ``request_timeout_seconds`` a test
    makes a few MiB outlast the deadline as a large object does on a real site."""
    server_unlink_seconds: float = 0.0
    """How long the server takes to remove one file (0: at once): a ``trim`` takes it once before its replica
    leaves the catalog (rsDataObjTrim unlinks, then unregisters), a recursive collection ``remove`` with
    ``no-trash`` once per data object, each leaving the catalog in turn (``_rsPhyRmColl`` unlinks object
    after object: irods 4.3.4 server/api/src/rsRmColl.cpp:352-365, then unregisters the collections). A
    remove to the trash is one rename (rsMvCollToTrash, rsRmColl.cpp:640-761) and is not paced. With a small
    ``request_timeout_seconds`` a test makes a tree's removal outlast the deadline as a large tree does."""
    clock_offset_seconds: float = 0.0
    """How far the server's clock is ahead of this machine's (negative: behind), in seconds: every time the
    catalog stamps (create and modify times, a ticket's expiry and its check) comes from the shifted clock,
    as a server whose clock drifted from its clients' (no NTP) stamps its own time (``time(NULL)`` on the
    server: irods 4.3.4 ``getNowStr``, lib/core/src/rcMisc.cpp:1876-1882; a touch without a time,
    plugins/api/src/touch.cpp:255-271). Token lifetimes are durations and are not shifted. A run-time limit
    (``set_limits``), so a test skews a running zone."""
    irods_server_version: str = DEFAULT_IRODS_SERVER_VERSION
    """The iRODS release answered (``rods4.3.2``): ``/info`` reports it and it picks the GenQuery1 parser
    (4.3.x: the string splitter, 5.0+: the grammar). ``5.0.1`` is accepted and stored as ``rods5.0.1``."""
    spool_dir: Path | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    openid: OpenIdValidator | None = None
    openid_client: OpenIdClientMode | None = None
    """OpenID *client* mode (0.4.0/0.5.0 only): the server runs the provider's grants itself and issues its
    own tokens (``_openid_client``). Excludes ``openid`` (protected-resource mode)."""
    faults: Faults = field(default_factory=Faults)
    log_level: str = "warning"
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        irods_release(self.irods_server_version)  # ValueError for a malformed version
        for scheme in (
            self.hash_scheme,
            *self.resource_hash_schemes.values(),
            *self.zone_hash_schemes.values(),
        ):
            if scheme not in HASH_SCHEMES:
                raise ValueError(f"hash scheme {scheme!r} is not one of {', '.join(HASH_SCHEMES)}")
        if not self.irods_server_version.startswith("rods"):
            self.irods_server_version = "rods" + self.irods_server_version
        self._check_openid_client()
        if getattr(self.openid, "local_jwt_validation", False) and not self.profile.openid_local_jwt:
            raise ValueError(
                f"iRODS HTTP API {self.api_version} validates OpenID tokens at the introspection endpoint "
                "only (no local JWT validation before 0.5.0): use OpenIdIntrospectionValidator(..., "
                "active_only=True)"
            )

    def _check_openid_client(self) -> None:
        """Refuse client mode where the release has none, and beside the protected-resource mode."""
        if self.openid_client is None:
            return
        refusal = client_mode_refusal(self.profile)
        if refusal is None and self.openid_client.nonstandard_id_token_secret_set:
            refusal = client_mode_secret_refusal(self.profile)
        if refusal is None and self.openid_client.user_mapping_file_set:
            refusal = client_mode_mapping_refusal(self.profile, mapping_file=True)
        if refusal is not None:
            raise ValueError(refusal)
        if self.openid is not None:
            raise ValueError(
                "openid (protected resource) and openid_client (client mode) exclude each other: the "
                "server's openid_connect 'mode' is one of the two"
            )

    @property
    def irods_release(self) -> IrodsRelease:
        """``irods_server_version`` as ``(major, minor, patch)``."""
        return irods_release(self.irods_server_version)

    @property
    def profile(self) -> VersionProfile:
        """The version profile of ``api_version`` (ValueError for an unsupported version)."""
        return profile_for(self.api_version)

    @property
    def base_path(self) -> str:
        """``/irods-http-api/<api_version>``, the only prefix this emulator answers."""
        return self.profile.base_path

    federated_zones: list[str] = field(default_factory=list)
    """Remote zones served by the same process, each with its own ``/NAME/home`` tree and catalog."""
    hash_scheme: str = "sha256"
    """The zone's ``default_hash_scheme``: ``sha256`` (``sha2:<base64>``), ``md5`` (32 hex digits),
    ``sha512`` (``sha512:<base64>``), ``sha1`` (``sha1:<base64>``) or ``adler32`` (``adler32:<8 hex>``)."""
    resource_hash_schemes: dict[str, str] = field(default_factory=dict)
    """The ``default_hash_scheme`` of the server holding a local resource, by name, where it differs from
    ``hash_scheme``: iRODS hashes a replica on the server of its hierarchy's leaf, in that server's
    configuration (rsFileChksum.cpp:46-57 and file_checksum :297-300 at 4.3.4). An entry applies to the
    resource and every resource under it without an entry of its own."""
    zone_hash_schemes: dict[str, str] = field(default_factory=dict)
    """A federated zone's servers' ``default_hash_scheme`` where it differs from ``hash_scheme``."""
    resources: tuple[str, ...] = ()
    """Extra root resources besides ``demoResc``, as ``NAME[:type]`` (see :data:`RESOURCE_PRESET`).

    Every zone has its own resources: the local zone gets these, and so does each federated zone that
    ``zone_resources`` does not name (its own copies, with their own ids)."""
    default_resources: tuple[tuple[str, str], ...] = ()
    """A site's ``acSetRescSchemeForCreate`` by path, as ``(collection, resource)`` pairs: an object created
    under ``collection`` (at any depth) with no resource named by the client lands on ``resource``, as
    ``msiSetDefaultResc(resource, "preferred")`` under ``on($objPath like "collection/*")`` does; the
    deepest matching collection wins, demoResc elsewhere."""
    zone_resources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A federated zone's extra resources besides its own ``demoResc`` (in place of ``resources``), e.g.
    ``{"otherZone": ("remoteResc",)}``: that zone's catalog knows ``remoteResc``, the local one does not."""
    resource_hosts: dict[str, str] = field(default_factory=dict)
    """The host (RESC_LOC, ``resources stat``'s ``host``) of a configured storage resource, by name, where
    it is not ``server_hostname``. ``iadmin mkresc NAME TYPE HOST:VAULT`` records the HOST given (chlRegResc
    binds it as resc_net, db_plugin.cpp:3999, 4012-4015 at irods 4.3.4); on a one-server zone that is the
    server's name, as the iRODS test suite writes it (``lib.get_hostname()``: scripts/irods/test/
    resource_suite.py:50, test_iadmin.py:518). A coordinating resource has no host (EMPTY_RESC_HOST); its
    ``NAME_ufsN`` children take the entry of their own name, else their parent's."""
    server_hostname: str = field(default_factory=installer_hostname)
    """The iRODS server's host name: ``demoResc``'s location (RESC_LOC, ``resources stat`` ``host``), which
    the installer sets to the server's canonical host name (database_connect.py:483-491 with lib.py:35-37 at
    irods 4.3.4; the same call at 4.3.0-5.0.2; bundleResc keeps ``localhost``, :474-481), and the zone
    report's ``hostname`` (gethostname(): rsServerReport.cpp:236-243). Default: this machine's name, as an
    install here would write it."""
    # Security (see README, "Security of the emulator"): files outside the spool that `register` may name,
    # consent to listen on a non-loopback address, extra Host header names and the control-plane token.
    register_root: Path | None = None
    allow_remote: bool = False
    allowed_hosts: tuple[str, ...] = ()
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
