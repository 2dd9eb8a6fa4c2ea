"""An iRODS HTTP API emulator (0.4.0, 0.5.0, 0.6.0 or 0.7.0 profile) for tests and demos (moto style).

Start one with :class:`EmulatorServer` (``with EmulatorServer() as server: server.base_url``), from
pytest with the ``irods_emulator`` fixture (plugin ``irods_provider.testing.pytest_plugin``), or from a
shell with ``python -m irods_provider.testing serve --port 9000``. ``EmulatorConfig(api_version=...)`` /
``serve --api-version`` pick the release to behave as (default 0.7.0; see ``_versions.py``). Importing
this package is cheap: uvicorn is only imported when :class:`EmulatorServer` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irods_provider.testing._config import API_VERSION, BASE_PATH, EmulatorConfig, Faults, OpenIdValidator
from irods_provider.testing._errors import IrodsModelError
from irods_provider.testing._versions import API_VERSIONS, VersionProfile, profile_for

if TYPE_CHECKING:
    from irods_provider.testing._model import EmulatorModel
    from irods_provider.testing._server import EmulatorServer

__all__ = [
    "API_VERSION",
    "API_VERSIONS",
    "BASE_PATH",
    "EmulatorConfig",
    "EmulatorModel",
    "EmulatorServer",
    "Faults",
    "IrodsModelError",
    "OpenIdValidator",
    "VersionProfile",
    "profile_for",
]


def __getattr__(name: str) -> Any:
    if name == "EmulatorServer":
        from irods_provider.testing._server import EmulatorServer

        return EmulatorServer
    if name == "EmulatorModel":
        from irods_provider.testing._model import EmulatorModel

        return EmulatorModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
