"""Apache Airflow provider for iRODS, over the iRODS HTTP API.

Importing this package is cheap: it imports neither Airflow nor the HTTP stack.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager (the ``apache_airflow_provider`` entry point)."""
    from irods_provider._provider_info import provider_info

    return provider_info()
