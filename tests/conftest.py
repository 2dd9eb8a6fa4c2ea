"""Session-wide test setup: an isolated AIRFLOW_HOME before anything imports Airflow."""

from __future__ import annotations

import atexit
import base64
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMP_ROOT_ENV = "IRODS_TEST_TMPDIR"
_TMPFS_MIN_FREE = 4 * 1024**3

# Subprocesses (the crash workers, emulator and SFTP servers run as commands) import the provider under
# test: this checkout's, even where the venv's editable install names another (a git worktree sharing it).
_ROOT = str(Path(__file__).resolve().parent.parent)
if os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != _ROOT:
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))


def _tmpfs_root() -> Path | None:
    """Linux's /dev/shm when it is a tmpfs with room that allows exec, else None.

    Creating a file there costs microseconds; on this project's shared CI disk (ext4) 1-3 ms, and the suite
    creates tens of thousands of files (emulator spools, tmp_path) and writes an SQLite DB per process.
    """
    try:
        with open("/proc/mounts") as mounts:
            entry = next((line.split() for line in mounts if line.split()[1:2] == ["/dev/shm"]), None)
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return None
    if entry is None or entry[2] != "tmpfs" or "noexec" in entry[3].split(",") or free < _TMPFS_MIN_FREE:
        return None
    root = Path("/dev/shm") / f"ipt-{os.getuid()}"  # short: an AF_UNIX path is limited to 107 bytes
    root.mkdir(exist_ok=True)
    root.chmod(0o1777)  # as /tmp: servers run as another user (sshd) reach and write their directories
    return root


# Where every temporary file of the session goes (this process, the xdist workers and every subprocess,
# through TMPDIR): IRODS_TEST_TMPDIR if set ("default": the system's temp dir), else a tmpfs if any.
# Files of several GiB do not belong in RAM: tests writing them use ``disk_tmp_path`` (the system's temp dir,
# remembered for the workers, which inherit the changed TMPDIR).
os.environ.setdefault("IRODS_TEST_DISK_TMPDIR", tempfile.gettempdir())
DISK_TEMP_ROOT = Path(os.environ["IRODS_TEST_DISK_TMPDIR"])
_chosen = os.environ.get(TEMP_ROOT_ENV, "")
if _chosen == "default":
    _temp_root = None
elif _chosen:
    _temp_root = Path(_chosen)
else:
    _temp_root = _tmpfs_root()
if _temp_root is not None:
    os.environ["TMPDIR"] = tempfile.tempdir = str(_temp_root)

# Emulators of either checksum scheme come and go on reused loopback ports, so a scheme one process learned
# and kept for the worker (client/transfer/_scheme_cache.py) would be a wrong hint for another test's
# emulator: kept off here (and in every subprocess), on only in the tests of that cache.
os.environ.setdefault("IRODS_PROVIDER_CHECKSUM_SCHEME_CACHE", "off")

# One id per run, shared with the xdist workers (they inherit the environment): see ``airflow_db``.
os.environ.setdefault("IRODS_TEST_RUN", os.urandom(8).hex())
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="irods-provider-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# One metadata DB per xdist worker, copied from one migrated template (see ``airflow_db``): two workers'
# ``dag.test()`` writing the same DAGs' assets into one shared SQLite DB at once failed one of them on the
# asset table's unique key (seen in CI: test_multi_cluster_workflow, IntegrityError on asset name, uri).
_DB_NAME = f"airflow-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.db"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{Path(os.environ['AIRFLOW_HOME']) / _DB_NAME}"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# One Fernet key for the whole session: rows Airflow encrypts (connections, variables, trigger kwargs of
# asset watchers) stay readable by every later test, whatever order the tests run in.
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parent.parent / "example_dags")
)
pytest_plugins = ["irods_provider.testing.pytest_plugin"]


import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # With --dist loadfile, xdist hands out the files with the most tests first, so a file of one long test
    # (the README's DAG, the 2 GiB round trip) could start last while the other worker idles. The order is
    # ours instead: pytest_collection_modifyitems below.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a ``slow`` test first, then the others, each in collection order: the longest work is
    handed out first and the many short files fill the end of a parallel run."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


# Airflow's secrets maskers (the SDK's and the core's), when a test has loaded them.
_MASKER_MODULES = (
    "airflow.sdk._shared.secrets_masker.secrets_masker",
    "airflow._shared.secrets_masker.secrets_masker",
)


@pytest.fixture(autouse=True)
def _secrets_masker_as_before():  # type: ignore[no-untyped-def]
    """Forget the secrets a test taught Airflow's masker (each test's tokens are new ones).

    The masker recompiles one alternation of every secret it knows at each new one, and runs it over every
    log line: kept for a worker's whole session (thousands of tokens), that cost grew with every test.
    Secrets masked before the test (a module's or the session's fixtures) stay.
    """
    before = {name: set(_masker(name).patterns) for name in _MASKER_MODULES if name in sys.modules}
    yield
    for name in _MASKER_MODULES:
        if name in sys.modules:
            masker, patterns = _masker(name), before.get(name, set())
            if masker.patterns != patterns:
                masker.patterns = patterns
                masker.replacer = re.compile("|".join(patterns)) if patterns else None


def _masker(module: str):  # type: ignore[no-untyped-def]
    return sys.modules[module]._secrets_masker()


@pytest.fixture(autouse=True)
def _forget_discovered_api_versions():  # type: ignore[no-untyped-def]
    """``auto`` discovery caches per API root for the process; emulators reuse ports between tests."""
    yield
    from irods_provider.client._discovery import forget_discovered_versions

    forget_discovered_versions()


@pytest.fixture(autouse=True)
def _forget_shared_token_sources():  # type: ignore[no-untyped-def]
    """The triggerer's token sources are kept per connection for the process; emulators reuse ports."""
    yield
    from irods_provider.hooks._token_sources import forget_token_sources

    forget_token_sources()


@pytest.fixture(autouse=True)
def _forget_attached_irods_stores():  # type: ignore[no-untyped-def]
    """Airflow keeps one ``ObjectStoragePath`` store per scheme and connection id for the process, holding a
    session to the emulator of the test that attached it; a later test's ``irods://irods_default@`` would
    reach that old port (seen: another test's emulator there, refusing the path). A test's stores go."""
    store = sys.modules.get("airflow.sdk.io.store")
    before = set(getattr(store, "_STORE_CACHE", {}))
    yield
    store = sys.modules.get("airflow.sdk.io.store")
    cache = getattr(store, "_STORE_CACHE", {})
    for alias in [a for a in cache if a not in before and a.startswith("irods")]:
        attached = cache.pop(alias)
        if "fs" in vars(attached):  # its filesystem was made: close its session (no unclosed sockets)
            attached.fs.close_session()


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """This worker's SQLite metadata DB under the session's AIRFLOW_HOME (for ``dag.test()``), a copy of one
    template migrated once for the whole run: the xdist workers share AIRFLOW_HOME, so the first to need it
    migrates the template under a lock and each copies it (``airflow db migrate`` costs ~6 s, more on a
    loaded machine). A DB of its own per worker: see ``_DB_NAME``."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    template = home / f"airflow-template-{os.environ['IRODS_TEST_RUN']}.db"  # this run's, in any home
    own = home / _DB_NAME
    with (home / ".migrate.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = home / f".migrated-{os.environ['IRODS_TEST_RUN']}"
        if not done.exists():
            template.unlink(missing_ok=True)
            subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                check=True,
                env={**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{template}"},
                capture_output=True,
                timeout=180,
            )
            done.touch()
        copied = home / f".copied-{os.environ['IRODS_TEST_RUN']}-{_DB_NAME}"
        if not copied.exists():
            shutil.copyfile(template, own)
            copied.touch()
    return str(home)


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


@pytest.fixture
def disk_tmp_path():  # type: ignore[no-untyped-def]
    """A temporary directory on disk (the system's temp dir), removed afterwards: for files of several GiB,
    which would otherwise sit in the RAM of the tmpfs the suite's temporary files use."""
    path = Path(tempfile.mkdtemp(prefix="irods-provider-disk-", dir=DISK_TEMP_ROOT))
    yield path
    shutil.rmtree(path, ignore_errors=True)
