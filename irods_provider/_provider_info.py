"""The provider metadata Airflow reads: hooks, connection type, operators, sensors, triggers."""

from __future__ import annotations

from typing import Any

from irods_provider import __version__

_STRING = {"type": ["string", "null"]}
_SECRET = {"type": ["string", "null"], "format": "password"}
_BOOL = {"type": ["boolean", "null"]}
_SECONDS = {"type": ["number", "null"], "minimum": 0}

#: The form's sections, in the order the UI shows them (it orders sections by their first field).
SECTIONS = ("Server", "Authentication", "OpenID Connect", "Advanced")

#: The auth-mode dropdown: everyday modes first, so typing "token" + Enter picks the bearer token mode.
AUTH_MODE_LABELS = {
    "basic": "Basic: iRODS username and password",
    "token": "Bearer token (an access token you already have)",
    "openid_password": "OpenID Connect: password grant (username and password)",
    "openid_client_credentials": "OpenID Connect: client credentials (service account)",
    "openid_refresh_token": "OpenID Connect: refresh token (offline access)",
    "openid_client_mode": "OpenID Connect run by the server (client mode, HTTP API 0.4/0.5 only)",
}
CLIENT_AUTH_LABELS = {
    "client_secret_basic": "HTTP Basic header (client_secret_basic)",
    "client_secret_post": "In the request body (client_secret_post)",
}
CHECKSUM_LABELS = {
    "auto": "Auto: learn it from the server's answers",
    "sha256": "SHA-256",
    "md5": "MD5",
    "sha512": "SHA-512",
    "sha1": "SHA-1",
    "adler32": "ADLER-32 (a 32-bit checksum: catches damage, not a deliberate change)",
}


def _field(
    section: str, label: str, description: str, schema: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """One extra field in Airflow's ``conn-fields`` format; ``section`` groups it in the UI form."""
    return {"label": label, "description": description, "schema": {**schema, **extra, "section": section}}


def _choice(
    section: str, label: str, description: str, labels: dict[str, str], default: str
) -> dict[str, Any]:
    """A dropdown: ``enum`` in ``labels`` order, shown with ``values_display`` (no null entry)."""
    return _field(
        section, label, description, _STRING, default=default, enum=list(labels), values_display=labels
    )


def _server_fields() -> dict[str, Any]:
    return {
        "zone": _field(
            "Server",
            "Zone",
            "The iRODS zone, e.g. tempZone. Test connection checks that it exists; the example DAGs build "
            "their paths from it. Empty: the server's own zone (from /info).",
            _STRING,
        ),
        "default_resource": _field(
            "Server",
            "Default resource",
            "Resource for the data objects operators write when the task names none. "
            "Empty: the server's default resource.",
            _STRING,
        ),
        "api_path": _field(
            "Server",
            "API path",
            "URL path of the iRODS HTTP API on the host, without the version.",
            _STRING,
            default="/irods-http-api",
        ),
        "api_version": _field(
            "Server",
            "API version",
            "auto: probe 0.7.0, then 0.6.0, 0.5.0, 0.4.0 (once per process); or pin a version such as 0.6.0.",
            _STRING,
            default="auto",
            examples=["auto", "0.7.0", "0.6.0", "0.5.0", "0.4.0"],
        ),
        "verify_tls": _field(
            "Server",
            "Verify TLS certificate",
            "Check the certificates of the server and of the OpenID provider over https. Switch off only for "
            "a test server: anyone on the path could then read the credentials.",
            _BOOL,
            default=True,
        ),
        "ca_bundle": _field(
            "Server",
            "CA bundle path",
            "PEM file of CAs to trust besides the system's (for the server and the OpenID provider), as a "
            "path on the workers. Empty: the system's trusted CAs only.",
            _STRING,
        ),
    }


def _auth_fields() -> dict[str, Any]:
    return {
        "auth_mode": _choice(
            "Authentication",
            "Authentication",
            "How the provider logs in. Basic uses Username and Password above; Bearer token sends the "
            "Password (or Access token) as is; the OpenID Connect modes get a token from the provider "
            "configured in the OpenID Connect section. Client mode sends Username and Password (the "
            "provider's) to a 0.4.0/0.5.0 server configured with OpenID mode client, which logs in itself.",
            AUTH_MODE_LABELS,
            "basic",
        ),
        "access_token": _field(
            "Authentication",
            "Access token",
            "Bearer token mode only: the token to send. Empty: the Password field holds it.",
            _SECRET,
        ),
    }


_GRANT_URL_HELP = (
    "The provider's token endpoint, used instead of discovery (formerly the openid_token_url extra)."
)


def _openid_fields() -> dict[str, Any]:
    section = "OpenID Connect"
    return {
        "openid_discovery_url": _field(
            section,
            "Discovery URL",
            "The issuer URL or its /.well-known/openid-configuration (or set the token endpoint instead).",
            _STRING,
            format="url",
        ),
        "openid_grant_url": _field(section, "Token endpoint URL", _GRANT_URL_HELP, _STRING, format="url"),
        "openid_client_id": _field(section, "Client id", "The client registered at the provider.", _STRING),
        "openid_client_secret": _field(
            section,
            "Client secret",
            "That client's secret (needed for client credentials; empty for a public client).",
            _SECRET,
        ),
        "openid_client_auth_method": _choice(
            section,
            "Client authentication",
            "How the client secret is sent to the token endpoint.",
            CLIENT_AUTH_LABELS,
            "client_secret_basic",
        ),
        "openid_scope": _field(section, "Scope", "Space-separated scopes to request, e.g. openid.", _STRING),
        "openid_audience": _field(
            section, "Audience", "The audience to request, when the provider needs one.", _STRING
        ),
        "openid_username": _field(
            section, "Username", "Password grant only. Empty: the Username field above.", _STRING
        ),
        "openid_password": _field(
            section, "Password", "Password grant only. Empty: the Password field above.", _SECRET
        ),
        "openid_refresh_token": _field(
            section, "Refresh token", "Refresh token mode only: the offline or long-lived token.", _SECRET
        ),
        "openid_allow_insecure_http": _field(
            section,
            "Allow plain http",
            "Accept http:// discovery and token URLs (loopback test providers only: secrets go in clear).",
            _BOOL,
            default=False,
        ),
        "openid_allow_foreign_token_endpoint": _field(
            section,
            "Allow a token endpoint on another host",
            "Off unless switched on: accept a discovered token endpoint on another host or port than "
            "the issuer.",
            # No default on purpose: Airflow masks the value of any key holding "token", and a masked
            # False would reach the form as "***"; unset (null) means off.
            _BOOL,
        ),
    }


def _advanced_fields() -> dict[str, Any]:
    return {
        "checksum_scheme": _choice(
            "Advanced",
            "Checksum scheme",
            "The zone's checksum scheme, used to verify transfers. Auto learns it from the server.",
            CHECKSUM_LABELS,
            "auto",
        ),
        "connect_timeout": _field(
            "Advanced",
            "Connect timeout (s)",
            "Seconds to wait for a TCP and TLS connection.",
            _SECONDS,
            default=10,
        ),
        "timeout": _field(
            "Advanced", "Read/write timeout (s)", "Seconds to wait for each response.", _SECONDS, default=60
        ),
        "outcome_wait_seconds": _field(
            "Advanced",
            "Outcome wait (s)",
            "Least seconds a checksum, copy, replication, trim or removal whose reply was lost is looked "
            "for in the catalog (longer for a large object at the pace below).",
            _SECONDS,
            default=120,
        ),
        "outcome_wait_mib_per_second": _field(
            "Advanced",
            "Outcome wait pace (MiB/s)",
            "A busy server's storage pace for hashing or copying: a large object's outcome is waited for "
            "its size at this pace. Lower it for tape-backed resources.",
            _SECONDS,
            default=10,
        ),
        "server_deadline_seconds": _field(
            "Advanced",
            "Server request deadline (s)",
            "The HTTP API's requests.timeout_in_seconds (30 by default): a verification whose reply is "
            "lost after this long is not sent again.",
            _SECONDS,
            default=30,
        ),
    }


def _conn_fields() -> dict[str, Any]:
    """The ``irods`` connection's extra fields (``Connection.extra`` keys), grouped in :data:`SECTIONS`."""
    return {**_server_fields(), **_auth_fields(), **_openid_fields(), **_advanced_fields()}


#: What the standard fields say in the form (Airflow shows these as input placeholders).
PLACEHOLDERS = {
    "host": "irods-http.example.org (or https://host:port)",
    "port": "empty: 443 for https, 80 for http (type it to use Test)",
    "schema": "https (default) or http",
    "login": "iRODS user, e.g. rods (Basic and OpenID password grant)",
    "password": "iRODS password (Basic), or the bearer token (Bearer token mode)",
}


def _connection_type() -> dict[str, Any]:
    return {
        "connection-type": "irods",
        "hook-class-name": "irods_provider.hooks.irods.IrodsHook",
        "hook-name": "iRODS (HTTP API)",
        "ui-field-behaviour": {
            "hidden-fields": ["extra"],
            "relabeling": {"schema": "Protocol", "login": "Username"},
            "placeholders": PLACEHOLDERS,
        },
        "conn-fields": _conn_fields(),
    }


def provider_info() -> dict[str, Any]:
    """Return the provider-info dict (kept in one place so tests can check it against the code)."""
    return {
        "package-name": "airflow-provider-irods",
        "name": "iRODS",
        "description": "iRODS (https://irods.org) over the iRODS HTTP API, with SFTP staging for HPC.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "iRODS",
                "external-doc-url": "https://github.com/irods/irods_client_http_api",
                "tags": ["software"],
            }
        ],
        "hooks": [{"integration-name": "iRODS", "python-modules": ["irods_provider.hooks.irods"]}],
        "operators": [
            {
                "integration-name": "iRODS",
                "python-modules": [
                    "irods_provider.operators.catalog",
                    "irods_provider.operators.cleanup",
                    "irods_provider.operators.irods",
                    "irods_provider.operators.metadata",
                    "irods_provider.operators.publish",
                    "irods_provider.operators.replicas",
                    "irods_provider.operators.transfer",
                    "irods_provider.transfers.irods_to_local",
                    "irods_provider.transfers.local_to_irods",
                ],
            }
        ],
        "sensors": [{"integration-name": "iRODS", "python-modules": ["irods_provider.sensors.irods"]}],
        "triggers": [
            {
                "integration-name": "iRODS",
                "python-modules": ["irods_provider.triggers.irods", "irods_provider.triggers.events"],
            }
        ],
        "transfers": [
            {
                "source-integration-name": "SSH File Transfer Protocol (SFTP)",
                "target-integration-name": "iRODS",
                "python-module": "irods_provider.transfers.sftp_to_irods",
            },
            {
                "source-integration-name": "iRODS",
                "target-integration-name": "SSH File Transfer Protocol (SFTP)",
                "python-module": "irods_provider.transfers.irods_to_sftp",
            },
        ],
        "connection-types": [_connection_type()],
        "filesystems": ["irods_provider.fs.irods"],
        "asset-uris": [
            {
                "schemes": ["irods"],
                "handler": "irods_provider.assets.irods.sanitize_uri",
                "factory": "irods_provider.assets.irods.create_asset",
                "to_openlineage_converter": "irods_provider.assets.irods.convert_asset_to_openlineage",
            }
        ],
    }
