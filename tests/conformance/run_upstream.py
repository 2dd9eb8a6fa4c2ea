"""Run the upstream iRODS HTTP API test suite of one release against the emulator's matching profile.

The upstream tests are never copied into this repository: the runner copies
``<IRODS_UPSTREAM_DIR>/irods_client_http_api-<version>-test`` (default directory
``<repo>/../shared/upstream``) into a temporary directory, writes a ``config.py`` pointing at a freshly
started emulator of that API version, runs ``pytest test_irods_http_api.py test_auth_endpoint.py`` in a
subprocess with a JUnit XML report and parses it. The suites' literal ``/tmp`` paths are redirected to a
private directory of that run (see :func:`_private_tmp`); nothing else in the copy is changed.
For 0.4.0 and 0.5.0 the emulator runs in OpenID client mode, as the suites' ``config.py`` says
(``'mode': 'client'``): a django-oauth-toolkit provider (tests/support/oidc_provider) stands in for the
suites' Keycloak, with the users they log in as (``bob``/``bob``; ``non_irods_user``/``bad``, whom no zone
user is mapped to) and a Keycloak-shaped login page; see :func:`_client_mode`.
Usage: ``python tests/conformance/run_upstream.py [--api-version 0.6.0] [--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_UPSTREAM_DIR = REPO.parent / "shared" / "upstream"
VERSIONS = ("0.4.0", "0.5.0", "0.6.0", "0.7.0")
#: Releases whose suite is another release's: the 0.4.0 ``test/`` folder differs from 0.5.0's only in
#: ``config.py`` (``git diff --stat 0.4.0 0.5.0 -- test``: url_base and the schema id), which the runner
#: writes itself, so 0.4.0 runs the stored 0.5.0 suite under ``/irods-http-api/0.4.0``.
SUITE_OF = {"0.4.0": "0.5.0"}
TEST_FILES = ("test_irods_http_api.py", "test_auth_endpoint.py")
#: Releases with the OpenID client mode the suites' config asks for (removed in 0.6.0, #416).
CLIENT_MODE_VERSIONS = ("0.4.0", "0.5.0")
#: The provider users test_auth_endpoint.py logs in as (test_auth_endpoint.py:23-26, :59, :86 at 0.5.0).
PROVIDER_USERS = {"bob": "bob", "non_irods_user": "bad"}

CONFIG_TEMPLATE = """import logging

test_config = {{
    'log_level': logging.WARNING,
    'host': '127.0.0.1',
    'port': {port},
    'url_base': '/irods-http-api/{version}',
    'openid_connect': {{'mode': 'client'}},
    'rodsadmin': {{'username': 'rods', 'password': 'rods'}},
    'rodsuser': {{'username': 'http_api', 'password': 'http_api'}},
    'irods_zone': 'tempZone',
    'irods_server_hostname': 'localhost',
    'run_genquery2_tests': True,
    'dstream_exposes_irods_error_codes': False,
}}
"""


@dataclass
class Outcome:
    """One upstream test's result."""

    test: str
    status: str  # passed, failed, error, skipped
    message: str = ""


def upstream_path(version: str = "0.7.0") -> Path:
    """Where the upstream suite of ``version`` is (under ``IRODS_UPSTREAM_DIR`` or the shared default)."""
    root = Path(os.environ.get("IRODS_UPSTREAM_DIR") or DEFAULT_UPSTREAM_DIR)
    return root / f"irods_client_http_api-{SUITE_OF.get(version, version)}-test"


def _parse_junit(report: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        classname = case.get("classname", "").split(".")[-1]
        name = f"{classname}::{case.get('name')}" if classname else str(case.get("name"))
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                status = "failed" if tag == "failure" else tag
                message = (
                    (node.get("message") or "").strip().splitlines()[0][:300] if node.get("message") else ""
                )
                break
        outcomes.append(Outcome(name, status, message))
    return outcomes


def _private_tmp(work: Path, private: Path) -> None:
    """Point the suites' hard-coded ``'/tmp`` paths (files to register, vault paths) at ``private``.

    The one change made to the temporary copy: without it, suites running at the same time (the four
    versions, or two checkouts on one machine) overwrite and delete each other's ``/tmp`` files.
    """
    private.mkdir()
    for name in TEST_FILES:
        path = work / name
        path.write_text(path.read_text().replace("'/tmp", f"'{private}"))


@contextlib.contextmanager
def _client_mode(api_version: str, tmp: Path) -> Iterator[dict[str, Any]]:
    """``EmulatorConfig`` arguments for the suite's OpenID client mode (none from 0.6.0 on).

    The provider's ``bob`` maps to the zone user ``bob`` by the ``local_file`` plugin's rule (0.4.0:
    ``user_attribute_mapping``, the same matching) on ``preferred_username``; ``non_irods_user`` maps to
    nobody, which the suite expects to be refused with 400 (main.cpp:342-351 at 0.5.0).
    """
    if api_version not in CLIENT_MODE_VERSIONS:
        yield {}
        return
    sys.path.insert(0, str(REPO / "tests" / "support"))
    from oidc_provider.harness import start_oidc_provider

    from irods_provider.testing._openid_client import OpenIdClientMode

    with start_oidc_provider(tmp / "oidc", extra_users=PROVIDER_USERS) as provider:
        client = OpenIdClientMode(
            provider.issuer,
            client_id="irods-client-mode",
            client_secret=provider.clients["irods-client-mode"],
            user_mapping={"bob": {"preferred_username": "bob"}},
        )
        try:
            yield {"openid_client": client}
        finally:
            client.close()


def run(upstream: Path, *, api_version: str = "0.7.0", timeout: float = 600.0) -> list[Outcome]:
    """Start an emulator of ``api_version``, run the upstream suite against it, one outcome per test."""
    sys.path.insert(0, str(REPO))
    from irods_provider.testing import EmulatorConfig

    with tempfile.TemporaryDirectory(prefix="irods-upstream-") as tmp:
        work = Path(tmp) / "tests"
        shutil.copytree(upstream, work)
        _private_tmp(work, Path(tmp) / "tmp")
        (work / "pytest.ini").write_text("[pytest]\n")
        spool = Path(tmp) / "spool"
        # The upstream suite logs in as rods/rods and registers files it writes under its /tmp, which
        # _private_tmp moved into ``tmp`` (wherever the temporary directory is: a tmpfs in the test suite).
        with _client_mode(api_version, Path(tmp)) as openid:
            config = EmulatorConfig(
                spool_dir=spool,
                api_version=api_version,
                admin_password="rods",
                register_root=Path(tmp),
                **openid,
            )
            return _run_suite(work, config, api_version, Path(tmp) / "report.xml", timeout)


def _run_suite(work: Path, config: Any, api_version: str, report: Path, timeout: float) -> list[Outcome]:
    """Serve ``config`` and run the suite in ``work`` against it (the zone user ``bob`` added for client
    mode's logins)."""
    from irods_provider.testing import EmulatorServer

    with EmulatorServer(config) as server:
        if config.openid_client is not None:
            server.add_user("bob", "bob-irods-password")
        (work / "config.py").write_text(CONFIG_TEMPLATE.format(port=server.port, version=api_version))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *TEST_FILES,
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                "-o",
                "junit_family=xunit2",
            ],
            cwd=work,
            timeout=timeout,
            check=False,
            capture_output=True,
        )
        return _parse_junit(report)


def main() -> int:
    """Print a summary (or JSON with ``--json``); exit 0 when the suite ran."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--api-version", choices=VERSIONS, default="0.7.0")
    args = parser.parse_args()
    upstream = upstream_path(args.api_version)
    if not upstream.is_dir():
        print(f"upstream tests not found at {upstream}", file=sys.stderr)
        return 2
    outcomes = run(upstream, api_version=args.api_version)
    if args.json:
        print(json.dumps([asdict(o) for o in outcomes], indent=1))
        return 0
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    print(json.dumps(counts))
    for o in outcomes:
        if o.status in ("failed", "error"):
            print(f"{o.status.upper()} {o.test}: {o.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
