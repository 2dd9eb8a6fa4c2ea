"""What a person sees in Airflow's UI, in Debian's Chromium: the connection form, Test, a DAG run, a task log.

The tests run in order on one page and one deployment (each step builds on the one before).
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CONN_ID = "my_irods"
DAG = "irods_basic_operations"
SECTIONS = ["Standard Fields", "Server", "Authentication", "OpenID Connect", "Advanced", "Extra Fields JSON"]
AUTH_LABELS = [
    "Basic: iRODS username and password",
    "Bearer token (an access token you already have)",
    "OpenID Connect: password grant (username and password)",
    "OpenID Connect: client credentials (service account)",
    "OpenID Connect: refresh token (offline access)",
]
STATE: dict[str, Any] = {}


def _open_form(page: Any, dep: Any) -> None:
    page.goto(f"{dep.api.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    page.fill("input[name=connection_id]", CONN_ID)
    kind = page.locator("input[aria-autocomplete=list]").first
    kind.click()
    kind.type("iRODS")
    page.get_by_role("option", name="iRODS (HTTP API)").click()
    page.get_by_role("button", name="Server").wait_for()


def test_connection_form_has_sections_labels_and_placeholders(dep, page) -> None:
    _open_form(page, dep)
    dialog = page.locator("[role=dialog][data-state=open]")
    triggers = dialog.locator("button[data-scope=accordion][data-part=item-trigger]")
    assert [t.inner_text().strip() for t in triggers.all()] == SECTIONS
    # Only the standard fields are open: the OpenID fields are out of the way.
    assert dialog.locator("input[name=element_openid_client_id]").is_visible() is False
    assert page.get_attribute("input[name=port]", "placeholder") == "empty: 443 for https, 80 for http"
    page.get_by_role("button", name="Authentication").click()
    dialog.locator("div:has(> input[name=element_auth_mode])").last.click()
    assert [o.inner_text() for o in page.get_by_role("option").all()] == AUTH_LABELS  # no "null" entry
    page.get_by_role("option", name=AUTH_LABELS[0]).click()  # Escape would close the whole dialog


def test_save_and_test_button_says_connected(dep, page) -> None:
    if not page.locator("input[name=host]").is_visible():  # opening a section may close the others
        page.get_by_role("button", name="Standard Fields").click()
    page.fill("input[name=host]", "127.0.0.1")
    page.fill("input[name=port]", str(dep.ports["irods"]))
    page.fill("input[name=schema]", "http")
    page.fill("input[name=login]", "rods")
    page.fill("input[name=password]", dep.irods_password)
    page.get_by_role("button", name="Server").click()
    page.fill("input[name=element_zone]", "tempZone")
    page.screenshot(path=str(ROOT / "images" / "connection_form.png"))  # the README shows this form
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Test Connection").first.wait_for()
    toast = _test_connection(page, "Connected to the iRODS HTTP API")
    assert toast.startswith("Test Connection Successful")
    assert "Connected to the iRODS HTTP API 0.7.0 (detected automatically)" in toast
    assert "(zone tempZone) with basic authentication" in toast


def _test_connection(page: Any, expect: str) -> str:
    """Press Test on the connection's row; the text of the toast that contains ``expect``."""
    with page.expect_response("**/api/v2/connections/test"):
        page.get_by_role("button", name="Test Connection").first.click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        texts = [str(t) for t in page.locator("[data-scope=toast]").all_inner_texts()]
        found = [t for t in texts if expect in t]
        if found:
            return found[0]
        page.wait_for_timeout(200)
    raise AssertionError(f"no toast saying {expect!r}; toasts: {texts}")


def test_wrong_password_says_so_in_plain_words(dep, page) -> None:
    page.get_by_role("button", name="Edit Connection").first.click()
    page.fill("input[name=password]", "Not-The-Password-42")
    page.get_by_role("button", name="Save").click()
    page.locator("[role=dialog][data-state=open]").wait_for(state="detached")
    toast = _test_connection(page, "refused")
    assert "The server refused the credentials of user 'rods' (basic)" in toast
    assert "Not-The-Password-42" not in toast


def test_trigger_basic_operations_from_the_ui_succeeds(dep, page) -> None:
    dep.api.wait_for_dag(DAG)
    page.goto(f"{dep.api.url}/dags/{DAG}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.locator("[role=dialog][data-state=open]")
    assert "Whose home holds the run's collection" in dialog.inner_text()  # params have descriptions
    with page.expect_response(lambda r: r.url.endswith("/dagRuns") and r.request.method == "POST") as posted:
        dialog.get_by_role("button", name="Trigger").click()
    run_id = posted.value.json()["dag_run_id"]
    STATE["run_id"] = run_id
    state, tasks = dep.api.follow(DAG, run_id, timeout=240, say=lambda _m: None)
    assert state == "success", {t.key: t.state for t in tasks}


def _task_log(page: Any, dep: Any, task_id: str) -> str:
    run = urllib.parse.quote(STATE["run_id"])
    page.goto(f"{dep.api.url}/dags/{DAG}/runs/{run}/tasks/{task_id}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = str(page.inner_text("body"))
        if "Post Execute" in text:
            return text
        page.wait_for_timeout(500)
    raise AssertionError(f"the log of {task_id} did not load: {text[-500:]}")


def test_task_log_shows_the_operator_summary(dep, page) -> None:
    if "run_id" not in STATE:
        pytest.skip("no DAG run (the trigger test failed)")
    text = _task_log(page, dep, "list_collection")
    assert "Listed 5 entries under /tempZone/home/rods/irods_basic_operations_" in text


def test_task_log_has_no_per_request_noise(dep, page) -> None:
    if "run_id" not in STATE:
        pytest.skip("no DAG run (the trigger test failed)")
    text = _task_log(page, dep, "list_collection")
    assert "HTTP Request:" not in text
