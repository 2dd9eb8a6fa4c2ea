"""The provider metadata Airflow reads: hooks, connection type, operators, sensors, triggers."""

from __future__ import annotations

from typing import Any

from irods_provider import __version__
from irods_provider._auth_names import AUTH_MODES, CLIENT_AUTH_METHODS

_STRING = {"type": ["string", "null"]}
_SECRET = {"type": ["string", "null"], "format": "password"}


def _field(label: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {**schema, **extra}}


def _conn_fields() -> dict[str, Any]:
    """The ``irods`` connection's extra fields, stored in ``Connection.extra`` under these names."""
    return {
        "zone": _field("Zone", "iRODS zone name, e.g. tempZone (optional: read from /info).", _STRING),
        "api_path": _field("API path", "URL path of the iRODS HTTP API.", _STRING, default="/irods-http-api"),
        "api_version": _field(
            "API version",
            "auto (probe /info of 0.7.0, 0.6.0, 0.5.0 once per process) or a version such as 0.6.0.",
            _STRING,
            default="auto",
        ),
        "default_resource": _field("Default resource", "Resource for new data objects.", _STRING),
        "checksum_scheme": _field(
            "Checksum scheme",
            "The zone's checksum scheme: auto (learned from the server's answers), sha256 or md5.",
            {"type": ["string", "null"]},
            default="auto",
            enum=["auto", "sha256", "md5"],
        ),
        "connect_timeout": _field(
            "Connect timeout (s)",
            "Seconds to wait for a TCP/TLS connection.",
            {"type": ["number", "null"]},
            default=10,
            minimum=0,
        ),
        "timeout": _field(
            "Read/write timeout (s)",
            "Seconds to wait for each response.",
            {"type": ["number", "null"]},
            default=60,
            minimum=0,
        ),
        "verify_tls": _field(
            "Verify TLS certificate",
            "Check the server certificate (https).",
            {"type": ["boolean", "null"]},
            default=True,
        ),
        "ca_bundle": _field("CA bundle path", "PEM file of trusted CAs (on the workers).", _STRING),
        "auth_mode": _field(
            "Authentication",
            "basic: login/password; token: the password is a bearer token; openid_*: from a provider.",
            {"type": ["string", "null"]},
            default="basic",
            enum=[*AUTH_MODES, None],
        ),
        "access_token": _field("Access token", "Static bearer token (auth mode token).", _SECRET),
        "openid_discovery_url": _field(
            "OpenID discovery URL",
            "Issuer URL or its /.well-known/openid-configuration.",
            _STRING,
            format="url",
        ),
        "openid_token_url": _field(
            "OpenID token URL", "Token endpoint, instead of discovery.", _STRING, format="url"
        ),
        "openid_client_id": _field("OpenID client id", "Client registered at the provider.", _STRING),
        "openid_client_secret": _field("OpenID client secret", "Secret of that client.", _SECRET),
        "openid_client_auth_method": _field(
            "OpenID client authentication",
            "How the client secret is sent to the token endpoint.",
            {"type": ["string", "null"]},
            default="client_secret_basic",
            enum=[*CLIENT_AUTH_METHODS, None],
        ),
        "openid_scope": _field("OpenID scope", "Space-separated scopes, e.g. openid.", _STRING),
        "openid_audience": _field(
            "OpenID audience", "Audience to request (if the provider needs it).", _STRING
        ),
        "openid_username": _field(
            "OpenID username", "Password grant user (default: the Login field).", _STRING
        ),
        "openid_password": _field(
            "OpenID password", "Password grant password (default: the Password field).", _SECRET
        ),
        "openid_refresh_token": _field(
            "OpenID refresh token",
            "Offline/long-lived refresh token (auth mode openid_refresh_token).",
            _SECRET,
        ),
        "openid_allow_insecure_http": _field(
            "OpenID over plain http",
            "Allow http:// discovery/token URLs (loopback test providers only; secrets travel in clear).",
            {"type": ["boolean", "null"]},
            default=False,
        ),
        "openid_allow_foreign_token_endpoint": _field(
            "OpenID token endpoint on another host",
            "Accept a discovered token endpoint on another host/port than the issuer.",
            {"type": ["boolean", "null"]},
            default=False,
        ),
    }


def _connection_type() -> dict[str, Any]:
    return {
        "connection-type": "irods",
        "hook-class-name": "irods_provider.hooks.irods.IrodsHook",
        "hook-name": "iRODS (HTTP API)",
        "ui-field-behaviour": {
            "hidden-fields": ["extra"],
            "relabeling": {"schema": "Protocol", "login": "Username"},
            "placeholders": {
                "host": "irods-http.example.org",
                "port": "443",
                "schema": "https",
                "login": "rods (Basic; OpenID password grant)",
                "password": "password (Basic), or the access token (auth mode token)",
            },
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
