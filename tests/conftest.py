"""Session-wide test setup: an isolated AIRFLOW_HOME before anything imports Airflow."""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="irods-provider-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# One Fernet key for the whole session: rows Airflow encrypts (connections, variables, trigger kwargs of
# asset watchers) stay readable by every later test, whatever order the tests run in.
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parent.parent / "example_dags")
)
pytest_plugins = ["irods_provider.testing.pytest_plugin"]


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _forget_discovered_api_versions():  # type: ignore[no-untyped-def]
    """``auto`` discovery caches per API root for the process; emulators reuse ports between tests."""
    yield
    from irods_provider.client._discovery import forget_discovered_versions

    forget_discovered_versions()


@pytest.fixture
def http_loggers_reset():  # type: ignore[no-untyped-def]
    """The HTTP client loggers as a fresh process has them (an earlier test's Airflow logging setup may have
    disabled them, stopped their propagation or set a level): tests that read their records through caplog."""
    import logging

    from irods_provider.client._redact import HTTP_LOGGERS

    saved = []
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate, logger.disabled))
        logger.setLevel(logging.NOTSET)
        logger.propagate, logger.disabled = True, False
    yield
    for logger, level, propagate, disabled in saved:
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled
