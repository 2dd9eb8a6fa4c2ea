"""An iRODS HTTP API 0.7.0 emulator for tests and demos (moto style): state model + HTTP layer.

Start one with :class:`EmulatorServer` (``with EmulatorServer() as server: server.base_url``), from
pytest with the ``irods_emulator`` fixture (plugin ``irods_provider.testing.pytest_plugin``), or from a
shell with ``python -m irods_provider.testing serve --port 9000``. Importing this package is cheap:
uvicorn is only imported when :class:`EmulatorServer` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irods_provider.testing._config import API_VERSION, BASE_PATH, EmulatorConfig, Faults, OpenIdValidator
from irods_provider.testing._errors import IrodsModelError

if TYPE_CHECKING:
    from irods_provider.testing._model import EmulatorModel
    from irods_provider.testing._server import EmulatorServer

__all__ = [
    "API_VERSION",
    "BASE_PATH",
    "EmulatorConfig",
    "EmulatorModel",
    "EmulatorServer",
    "Faults",
    "IrodsModelError",
    "OpenIdValidator",
]


def __getattr__(name: str) -> Any:
    if name == "EmulatorServer":
        from irods_provider.testing._server import EmulatorServer

        return EmulatorServer
    if name == "EmulatorModel":
        from irods_provider.testing._model import EmulatorModel

        return EmulatorModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
