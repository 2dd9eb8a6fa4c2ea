"""Version profiles: the few observable facts that differ between iRODS HTTP API 0.4.0, 0.5.0, 0.6.0, 0.7.0.

A profile is data consulted at the handful of branching points of the one emulator (routing, ``/info``,
header-form writes, ``parallel_write_init``, open failures, replica targeting, ``modify_replica``), never
a copy of a handler. Each fact names the server source it was read from (file:line at the tag, in
irods/irods_client_http_api), ``data_objects`` meaning ``endpoints/data_objects/src/main.cpp``.

OpenID: every profile emulates the protected-resource mode only — a Bearer value that is not a Basic token
goes to ``EmulatorConfig.openid``. For 0.5.0 pass ``OpenIdLocalThenIntrospection`` (local JWT validation,
then introspection when it fails: core/src/common.cpp:341-380 at 0.5.0); 0.6.0+ configure exactly one
method. 0.4.0's and 0.5.0's OpenID *client* mode (ROPC with ``Authorization: iRODS``, authorization-code
redirects on ``GET /authenticate``) is ``EmulatorConfig.openid_client`` (``_openid_client``); 0.6.0 removed
it (#416: its config schema has no ``mode``, core/src/main.cpp:220-276 at 0.6.0, and ``/authenticate``
answers ``iRODS`` with 400 and GET with 405, endpoints/authentication/src/main.cpp:260-266 at 0.6.0), so
the 0.6.0 and 0.7.0 profiles refuse that configuration.

0.4.0 differs from 0.5.0 in authentication only: ``git diff 0.4.0 0.5.0 -- endpoints`` touches
``endpoints/authentication`` alone, and ``core/`` changes only the OpenID code (openid.cpp is new in
0.5.0), the config schema and start-up. So the 0.4.0 profile repeats every 0.5.0 fact (the line numbers
cited for 0.5.0 hold at 0.4.0) except the base path and ``openid_local_jwt``: 0.4.0's protected-resource
mode asks the introspection endpoint for every token and reads only its ``active`` member
(core/src/common.cpp:417-437 at 0.4.0): pass ``OpenIdIntrospectionValidator(..., active_only=True)``.

0.4.0's and 0.5.0's crash when a ``parallel_write_init`` cannot open its object (#402: a second init of an
open object is the case reported, but any open failure does it) is reproduced as far as it shows: the
connection closes without a reply and the process "restarts" (tokens and handles gone, see
``init_open_failure_crashes``); requests then in flight on other connections still complete.
Knowingly not reproduced: 0.4.0's HTTP 500 when an introspection answer lacks
``active`` (``json_res.at("active")`` throws, core/src/common.cpp:424 at 0.4.0; the emulator answers
401), the server crashes on invalid rule text (no rule engine), and the group-permission expansion of
data-object ``stat`` before 0.7.0 (#476, irods/irods#8912: every profile lists group entries unexpanded,
as 0.7.0 does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

DEFAULT_API_VERSION = "0.7.0"

#: The iRODS release the emulator answers as (``/info`` ``irods_server_version``: the ``relVersion`` of the
#: server the HTTP API connected to, core/src/main.cpp:1122 at 0.7.0). It also picks the GenQuery1 parser.
DEFAULT_IRODS_SERVER_VERSION = "rods4.3.2"
IrodsRelease = tuple[int, int, int]
_RELEASE = re.compile(r"(?:rods)?(\d+)\.(\d+)\.(\d+)")

OpenFailure = Literal["http500", "invalid_handle", "irods_code"]


@dataclass(frozen=True)
class VersionProfile:
    """What one release of the HTTP API does at the points where releases differ."""

    version: str
    # /info key holding the per-handle stream cap (information/src/main.cpp:44 at 0.5.0 / 0.7.0).
    info_streams_key: str
    # /info irods_server_version for requests with a valid token (information/src/main.cpp:52-53 at 0.7.0).
    info_server_version: bool
    # ``irods-api-request-op: write`` header-form writes (core/src/session.cpp:120-121 at 0.6.0; absent at
    # 0.5.0, where the raw body falls into the form parser: core/src/common.cpp:441-457 → 400).
    header_writes: bool
    # parallel_write_init opens stream-count + 1 streams and accepts stream-count <= 0
    # (data_objects:1089 at 0.5.0, :1413 at 0.6.0); 0.7.0 opens exactly N, N < 1 → 400, server cap → 503.
    extra_parallel_stream: bool
    # How a failure to open a write stream is answered: 0.5.0 HTTP 500 empty (data_objects:911-915 write,
    # :1093-1100 parallel_write_init); 0.6.0 200 + INVALID_HANDLE (data_objects:1182-1193, :1424-1435);
    # 0.7.0 200 + INVALID_HANDLE or the real code when built against iRODS >= 5.1.
    open_failure: OpenFailure
    # read/write/parallel_write_init/replicate honour replica-number (and read/pwi resource); 0.5.0
    # silently ignores them (data_objects:482-760 read, :900 write, :1003-1161 pwi, :1288 replicate).
    replica_targeting: bool
    # HTTP status of a read whose stream cannot be opened (data_objects:712-716 at 0.5.0 → 500;
    # :966-970 at 0.6.0 → 400).
    read_open_failure_status: int
    # Ops absent from the dispatch tables per endpoint (data_objects:211-236 at 0.5.0 has no truncate).
    absent_ops: frozenset[tuple[str, str]]
    # modify_replica: ``new-data-<name>`` properties this release knows, beyond the common ones.
    # 0.5.0 data_objects:2300-2315 (``new-data-expiry``); 0.6.0 :2716-2739 (+ access-time);
    # 0.7.0 :2822-2843 (``new-data-expiry-time``).
    replica_expiry_param: str
    replica_access_time: bool
    # resources stat ``info.parent_context`` (endpoints/resources/src/main.cpp:598, 651-653 at 0.7.0;
    # absent from the 0.6.0 and 0.5.0 info objects).
    resource_parent_context: bool
    # protected-resource tokens may be JWTs validated locally (core/src/common.cpp:341-356 at 0.5.0); 0.4.0
    # only asks the introspection endpoint (core/src/common.cpp:418-421 at 0.4.0; openid.cpp is new in 0.5.0).
    openid_local_jwt: bool = True
    # OpenID client mode (``mode: client``, core/src/main.cpp:223-224 at 0.5.0), removed in 0.6.0 (#416).
    openid_client_mode: bool = False
    # Client mode validates the ID token and refuses (401) a mapped user missing from the catalog
    # (endpoints/authentication/src/main.cpp:330-374 at 0.5.0); 0.4.0 only decodes the ID token.
    openid_client_checks: bool = True
    # Users are mapped by a ``user_mapping`` plugin (``local_file``: a JSON file; ``user_claim``), core/src/
    # main.cpp:244-258 at 0.5.0; 0.4.0 has ``irods_user_claim`` or an inline ``user_attribute_mapping``
    # (core/src/main.cpp:258-290 at 0.4.0, exactly one of the two).
    openid_user_mapping_plugins: bool = True
    # A parallel_write_init whose stream cannot open crashes the server (#402, fixed in 0.6.0 by d3f53ca):
    # the stream constructor frees its transport (``tp_.reset()``) and throws, and the unwinding destroys
    # the odstream, whose close() calls ``transport_->is_open()`` through the freed pointer
    # (data_objects:117-120 at 0.5.0; irods 4.3.2 lib/core/include/irods/dstream.hpp:71-74, 192-194,
    # basic_data_object_buf). A ticket that cannot be enabled throws before the stream has a
    # transport (:101-105): that one is the plain 500 of ``open_failure``.
    init_open_failure_crashes: bool = False

    @property
    def base_path(self) -> str:
        """``/irods-http-api/<version>``, the only prefix served (core/CMakeLists.txt:44 at 0.5.0)."""
        return f"/irods-http-api/{self.version}"

    def has_op(self, endpoint: str, op: str) -> bool:
        """Whether this release dispatches ``op`` on ``endpoint``."""
        return (endpoint, op) not in self.absent_ops


_V050 = VersionProfile(
    version="0.5.0",
    info_streams_key="max_number_of_parallel_write_streams",
    info_server_version=False,
    header_writes=False,
    extra_parallel_stream=True,
    open_failure="http500",
    replica_targeting=False,
    read_open_failure_status=500,
    absent_ops=frozenset({("data-objects", "truncate")}),
    replica_expiry_param="expiry",
    replica_access_time=False,
    resource_parent_context=False,
    openid_client_mode=True,
    init_open_failure_crashes=True,
)

PROFILES: dict[str, VersionProfile] = {
    # 0.4.0 = 0.5.0 but for OpenID (module docstring): core/CMakeLists.txt:42 at 0.4.0 gives the base
    # path; information/src/main.cpp:40-48 is byte-identical to 0.5.0's (same /info keys).
    "0.4.0": replace(
        _V050,
        version="0.4.0",
        openid_local_jwt=False,
        openid_client_checks=False,
        openid_user_mapping_plugins=False,
    ),
    "0.5.0": _V050,
    "0.6.0": VersionProfile(
        version="0.6.0",
        info_streams_key="max_number_of_parallel_write_streams",
        info_server_version=False,
        header_writes=True,
        extra_parallel_stream=True,
        open_failure="invalid_handle",
        replica_targeting=True,
        read_open_failure_status=400,
        absent_ops=frozenset(),
        replica_expiry_param="expiry",
        replica_access_time=True,
        resource_parent_context=False,
    ),
    "0.7.0": VersionProfile(
        version="0.7.0",
        info_streams_key="max_number_of_streams_per_parallel_write_handle",
        info_server_version=True,
        header_writes=True,
        extra_parallel_stream=False,
        open_failure="irods_code",
        replica_targeting=True,
        read_open_failure_status=400,
        absent_ops=frozenset(),
        replica_expiry_param="expiry-time",
        replica_access_time=True,
        resource_parent_context=True,
    ),
}

API_VERSIONS = tuple(PROFILES)


def profile_for(version: str) -> VersionProfile:
    """The profile of ``version``; ValueError naming the supported versions otherwise."""
    try:
        return PROFILES[version]
    except KeyError:
        raise ValueError(
            f"unsupported iRODS HTTP API version {version!r}; choose one of {', '.join(API_VERSIONS)}"
        ) from None


def irods_release(version: str) -> IrodsRelease:
    """``(major, minor, patch)`` of ``rods4.3.2`` (or ``4.3.2``); ValueError for anything else."""
    match = _RELEASE.fullmatch(version)
    if match is None:
        raise ValueError(f"not an iRODS server version: {version!r} (expected e.g. rods4.3.2 or rods5.0.1)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch
