"""Browser tests: skipped unless ``IRODS_UI_TESTS=1`` (run them with ``make ui-test``).

One real deployment for the module (PostgreSQL, the emulator, one SSH/SFTP cluster, Airflow's api-server,
scheduler, dag-processor and triggerer; ``scripts/_live``) and Debian's Chromium driven by Playwright. On a
failure the page is screenshotted into a temporary directory named in the failure report.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

UI = os.environ.get("IRODS_UI_TESTS") == "1"
CHROMIUM = os.environ.get("IRODS_UI_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(tempfile.mkdtemp(prefix="irods-ui-shots-")) if UI else None
#: Chromium as root on a closed network: no sandbox, no background connections (they would be refused).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/ui skipped unless IRODS_UI_TESTS=1."""
    if UI:
        return
    skip = pytest.mark.skip(reason="browser tests: set IRODS_UI_TESTS=1 (make ui-test)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failed test, screenshot the page into SHOTS and name the file in the report."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None and SHOTS is not None:
        shot = SHOTS / f"{item.name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            report.sections.append(("screenshot", str(shot)))
        except Exception as error:  # the page may be gone: the report still says why
            report.sections.append(("screenshot", f"none: {error}"))
    return report


@pytest.fixture(scope="module")
def dep() -> Iterator[Any]:
    """The deployment, with the UI's Test button enabled."""
    from _live.deploy import Deployment

    class UiDeployment(Deployment):
        def _airflow_env(self) -> None:
            super()._airflow_env()
            self.env["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (make ui-test does as root)")
    deployment = UiDeployment(executor="local", clusters=1)
    try:
        deployment.start(say=lambda _msg: None)
        yield deployment
    finally:
        left = deployment.stop()
        if not left:
            deployment.cleanup()
    assert not left, f"processes left behind: {left}"


@pytest.fixture(scope="module")
def page(dep: Any) -> Iterator[Any]:
    """One logged-in browser page for the module (the simple auth manager's admin)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(30_000)
        page.goto(f"{dep.api.url}/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", dep.admin_password)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/auth/login" not in url)
        yield page
        browser.close()
