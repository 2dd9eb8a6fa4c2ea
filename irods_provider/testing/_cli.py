"""Command line: ``python -m irods_provider.testing serve --port 9000 [--api-version 0.6.0]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from irods_provider.testing._cli_openid import add_openid_client_arguments, openid_client_from_args
from irods_provider.testing._config import (
    DEFAULT_ADMIN_PASSWORD,
    HASH_SCHEMES,
    MIB,
    RESOURCE_PRESET,
    EmulatorConfig,
    installer_hostname,
)
from irods_provider.testing._security import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER, EmulatorSecurityError
from irods_provider.testing._versions import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    DEFAULT_IRODS_SERVER_VERSION,
    irods_release,
)

if TYPE_CHECKING:
    from irods_provider.testing._openid_client import OpenIdClientMode
    from irods_provider.testing._server import EmulatorServer


def _default_resource(text: str) -> tuple[str, str]:
    """argparse type of ``--default-resource``: ``COLLECTION=RESOURCE``, an absolute collection (split at
    the last ``=``: a collection name may hold one, a resource name may not, db_plugin.cpp:810-816 at
    irods 4.3.4)."""
    collection, sep, resource = text.rpartition("=")
    if not sep or not collection.startswith("/") or not resource:
        raise argparse.ArgumentTypeError(f"expected /COLLECTION=RESOURCE, got {text!r}")
    return collection.rstrip("/") or "/", resource


def _named_scheme(text: str) -> tuple[str, str]:
    """argparse type of ``--resource-hash-scheme`` / ``--zone-hash-scheme``: ``NAME=SCHEME``."""
    name, sep, scheme = text.rpartition("=")
    if not sep or not name or scheme not in HASH_SCHEMES:
        raise argparse.ArgumentTypeError(f"expected NAME={'|'.join(HASH_SCHEMES)}, got {text!r}")
    return name, scheme


def _resource_host(text: str) -> tuple[str, str]:
    """argparse type of ``--resource-host``: ``RESC=HOST``."""
    name, sep, host = text.partition("=")
    if not sep or not name or not host:
        raise argparse.ArgumentTypeError(f"expected RESC=HOST, got {text!r}")
    return name, host


def _resource_spec(text: str) -> str:
    """argparse type of ``--resource``: validated ``NAME[:type]``."""
    from irods_provider.testing._resources import parse_resource_spec

    try:
        parse_resource_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _server_version(text: str) -> str:
    """argparse type of ``--irods-server-version``: ``rods4.3.2`` or ``4.3.2``, stored as ``rods…``."""
    try:
        irods_release(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text if text.startswith("rods") else "rods" + text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m irods_provider.testing",
        description="A local iRODS HTTP API emulator for tests and DAG development. `serve` prints the "
        "base URL, the admin account, the control-plane token and a ready-to-paste "
        "AIRFLOW_CONN_IRODS_DEFAULT line.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the iRODS HTTP API emulator (0.4.0, 0.5.0, 0.6.0 or 0.7.0)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    serve.add_argument("--port", type=int, default=9000, help="TCP port; 0 picks a free one (default 9000)")
    serve.add_argument("--zone", default="tempZone", help="local zone name (default tempZone)")
    serve.add_argument(
        "--server-hostname",
        default=None,
        help="the iRODS server's host name: demoResc's location (default: this machine's, as the installer)",
    )
    serve.add_argument("--admin-user", default="rods", help="the rodsadmin account (default rods)")
    serve.add_argument(
        "--admin-password",
        default=DEFAULT_ADMIN_PASSWORD,
        help=f"its password (default {DEFAULT_ADMIN_PASSWORD})",
    )
    serve.add_argument("--token-lifetime", type=float, default=3600.0, help="seconds")
    serve.add_argument("--spool", type=Path, default=None, help="directory for data bytes (default: temp)")
    serve.add_argument(
        "--max-body-bytes", type=int, default=8 * MIB, help="request body limit (default 8 MiB)"
    )
    serve.add_argument(
        "--streams-per-handle", type=int, default=3, help="parallel-write streams per handle (default 3)"
    )
    serve.add_argument(
        "--max-streams", type=int, default=15, help="parallel-write streams in all (default 15)"
    )
    _add_pace_arguments(serve)
    serve.add_argument("--certfile", default=None, help="PEM certificate: serve HTTPS")
    serve.add_argument("--keyfile", default=None, help="PEM private key of --certfile")
    serve.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    _add_profile_arguments(serve)
    _add_scheme_arguments(serve)
    serve.add_argument(
        "--conn-id",
        default="irods_default",
        help="the Airflow connection id of the printed AIRFLOW_CONN_<ID> line (default irods_default)",
    )
    _add_security_arguments(serve)
    add_openid_client_arguments(serve)
    return parser


def _add_pace_arguments(serve: argparse.ArgumentParser) -> None:
    """The server's request deadline and the pace of its server-side work."""
    serve.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        help="the server's whole-request deadline in seconds (http_server.requests.timeout_in_seconds, "
        "default 30): a request still running then acts but gets no reply, its connection is closed",
    )
    serve.add_argument(
        "--server-io-rate",
        type=float,
        default=0.0,
        metavar="BYTES_PER_SECOND",
        help="pace of server-side work (checksums, copy, replicate); default 0: at once",
    )
    serve.add_argument(
        "--server-unlink-seconds",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="time the server takes to remove one file (a trim; each object of a recursive no-trash "
        "collection remove); default 0: at once",
    )


def _add_profile_arguments(serve: argparse.ArgumentParser) -> None:
    """What kind of site the emulator is: API and iRODS releases, federation, checksum scheme, resources."""
    serve.add_argument(
        "--api-version",
        choices=API_VERSIONS,
        default=DEFAULT_API_VERSION,
        help="the HTTP API release to behave as (base path, /info keys, write and parallel-write rules)",
    )
    serve.add_argument(
        "--federated-zone",
        action="append",
        default=[],
        metavar="NAME",
        help="serve a federated remote zone NAME too (repeatable)",
    )
    serve.add_argument(
        "--irods-server-version",
        type=_server_version,
        default=DEFAULT_IRODS_SERVER_VERSION,
        metavar="rodsX.Y.Z",
        help="the iRODS release /info reports and whose GenQuery1 parser is used: 4.3.x splits the string "
        f"as fillGenQueryInpFromStrCond does, 5.0+ has the grammar (default {DEFAULT_IRODS_SERVER_VERSION})",
    )
    serve.add_argument(
        "--resource",
        action="append",
        type=_resource_spec,
        default=[],
        metavar="NAME[:TYPE]",
        help="extra root resource (repeatable); TYPE unixfilesystem (default), replication (two "
        "children NAME_ufs0/NAME_ufs1), passthru (one child), random, roundrobin",
    )
    serve.add_argument(
        "--resource-host",
        action="append",
        type=_resource_host,
        default=[],
        metavar="RESC=HOST",
        help="the host of a configured storage resource (and its children) where it is not the server's "
        "(--server-hostname) (repeatable)",
    )
    serve.add_argument(
        "--default-resource",
        action="append",
        type=_default_resource,
        default=[],
        metavar="COLLECTION=RESOURCE",
        help="objects created under COLLECTION with no resource named land on RESOURCE (repeatable; a "
        "site's acSetRescSchemeForCreate by path)",
    )
    serve.add_argument(
        "--resource-preset",
        action="store_true",
        help=f"add the preset resources {' '.join(RESOURCE_PRESET)} (demoResc stays the default)",
    )


def _add_scheme_arguments(serve: argparse.ArgumentParser) -> None:
    """The checksum schemes of the zone's servers (each hashes the replicas on its resources)."""
    serve.add_argument("--hash-scheme", choices=HASH_SCHEMES, default="sha256", help="default_hash_scheme")
    serve.add_argument(
        "--resource-hash-scheme",
        action="append",
        type=_named_scheme,
        default=[],
        metavar="RESC=SCHEME",
        help="the default_hash_scheme of the server holding RESC (and the resources under it), where it "
        "differs from --hash-scheme: its replicas are hashed in it (repeatable)",
    )
    serve.add_argument(
        "--zone-hash-scheme",
        action="append",
        type=_named_scheme,
        default=[],
        metavar="ZONE=SCHEME",
        help="the default_hash_scheme of a federated zone's servers (repeatable)",
    )


def _add_security_arguments(serve: argparse.ArgumentParser) -> None:
    """Options of the emulator's safety rules (README: "Security of the emulator")."""
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (needs a non-default --admin-password of 12+ characters)",
    )
    serve.add_argument(
        "--register-root", type=Path, default=None, help="directory whose files `register` may name"
    )
    serve.add_argument(
        "--allowed-host", action="append", default=[], help="extra DNS name accepted in the Host header"
    )


def _config(args: argparse.Namespace, openid_client: OpenIdClientMode | None = None) -> EmulatorConfig:
    """The emulator's configuration from ``serve``'s arguments."""
    return EmulatorConfig(
        openid_client=openid_client,
        host=args.host,
        port=args.port,
        zone=args.zone,
        server_hostname=args.server_hostname or installer_hostname(),
        admin_user=args.admin_user,
        admin_password=args.admin_password,
        token_lifetime_seconds=args.token_lifetime,
        spool_dir=args.spool,
        max_body_bytes=args.max_body_bytes,
        max_streams_per_handle=args.streams_per_handle,
        max_streams=args.max_streams,
        request_timeout_seconds=args.request_timeout,
        server_io_bytes_per_second=args.server_io_rate,
        server_unlink_seconds=args.server_unlink_seconds,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        log_level=args.log_level,
        api_version=args.api_version,
        irods_server_version=args.irods_server_version,
        federated_zones=list(args.federated_zone),
        hash_scheme=args.hash_scheme,
        resource_hash_schemes=dict(args.resource_hash_scheme),
        zone_hash_schemes=dict(args.zone_hash_scheme),
        resources=(*(RESOURCE_PRESET if args.resource_preset else ()), *args.resource),
        default_resources=tuple(args.default_resource),
        resource_hosts=dict(args.resource_host),
        allow_remote=args.allow_remote,
        register_root=args.register_root,
        allowed_hosts=tuple(args.allowed_host),
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, print the base URL and credentials, serve until Ctrl-C."""
    parser = _parser()
    args = parser.parse_args(argv)
    from irods_provider.testing._server import EmulatorServer

    config = _config(args, openid_client_from_args(parser, args))
    if os.environ.get(CONTROL_TOKEN_ENV):
        config.control_token = os.environ[CONTROL_TOKEN_ENV]
    server = EmulatorServer(config)
    try:
        server.bind()
    except EmulatorSecurityError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        _close(server)
        return 2
    print(f"iRODS HTTP API emulator: {server.base_url}", flush=True)
    print(f"zone {config.zone}; rodsadmin {config.admin_user} / {config.admin_password}", flush=True)
    print(
        f"hash scheme {config.hash_scheme}; federated zones {' '.join(config.federated_zones) or '-'}",
        flush=True,
    )
    if others := {**config.resource_hash_schemes, **config.zone_hash_schemes}:
        print(f"hash schemes: {' '.join(f'{k}={v}' for k, v in sorted(others.items()))}", flush=True)
    print(
        f"control plane: {server.url}/_emulator/ ({CONTROL_TOKEN_HEADER}: {config.control_token})", flush=True
    )
    if config.resources:
        print(f"resources: demoResc (default), {', '.join(config.resources)}", flush=True)
    if config.openid_client is not None:
        print(
            f"OpenID client mode: {config.openid_client!r}; log in with auth_mode openid_client_mode "
            f"(Authorization: iRODS) or a browser at {server.base_url}/authenticate",
            flush=True,
        )
    conn_var = f"AIRFLOW_CONN_{args.conn_id.upper()}"
    print("paste into the shell that runs Airflow or dag.test():", flush=True)
    print(f"  export {conn_var}='{server.airflow_connection_uri()}'", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        _close(server)
    return 0


def _close(server: EmulatorServer) -> None:
    """Release the model and the client mode's connection pool."""
    server.model.close()
    if server.config.openid_client is not None:
        server.config.openid_client.close()
