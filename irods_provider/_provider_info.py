"""The provider metadata Airflow reads: hooks, connection type, operators, sensors, triggers."""

from __future__ import annotations

from typing import Any

from irods_provider import __version__


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
    }
