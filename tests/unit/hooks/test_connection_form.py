"""The ``irods`` connection form as the Airflow 3 UI receives it (``GET /ui/connections/hook_meta``).

The UI (FlexibleForm) groups extra fields by ``schema.section`` in the order the sections first appear,
collapses every section but the standard fields, labels dropdown entries with ``schema.values_display``
and offers exactly the ``schema.enum`` entries (a ``None`` entry shows as a literal "null").
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider._provider_info import AUTH_MODE_LABELS, SECTIONS
from irods_provider.hooks._connection import AUTH_MODES, CHECKSUM_SCHEMES, CLIENT_AUTH_METHODS, EXTRA_DEFAULTS


@pytest.fixture(scope="module")
def form() -> dict[str, Any]:
    """The hook metadata exactly as the API server serialises it for the UI."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "irods"]
    return meta.model_dump(mode="json")


def _sections(extra_fields: dict[str, Any]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, spec in extra_fields.items():
        grouped.setdefault(spec["schema"].get("section", "<Extra Fields>"), []).append(name)
    return grouped


def test_fields_are_grouped_in_sections_in_order(form) -> None:
    grouped = _sections(form["extra_fields"])
    assert list(grouped) == list(SECTIONS) == ["Server", "Authentication", "OpenID Connect", "Advanced"]
    assert grouped["Server"] == [
        "zone",
        "default_resource",
        "api_path",
        "api_version",
        "verify_tls",
        "ca_bundle",
    ]
    assert grouped["Authentication"] == ["auth_mode", "access_token"]
    assert grouped["Advanced"] == [
        "checksum_scheme",
        "connect_timeout",
        "timeout",
        "outcome_wait_seconds",
        "outcome_wait_mib_per_second",
        "server_deadline_seconds",
    ]
    # Every OpenID field, and only those, sits in the (collapsed) OpenID Connect section.
    assert grouped["OpenID Connect"] == [k for k in EXTRA_DEFAULTS if k.startswith("openid_")]


def test_every_extra_the_hook_reads_has_exactly_one_field(form) -> None:
    assert sorted(form["extra_fields"]) == sorted(EXTRA_DEFAULTS)


def test_auth_mode_dropdown_has_human_labels_no_null_and_everyday_modes_first(form) -> None:
    schema = form["extra_fields"]["auth_mode"]["schema"]
    assert schema["enum"] == [
        "basic",
        "token",
        "openid_password",
        "openid_client_credentials",
        "openid_refresh_token",
        "openid_client_mode",  # HTTP API 0.4/0.5 only: last
    ]
    assert None not in schema["enum"]
    assert sorted(schema["enum"]) == sorted(AUTH_MODES)
    assert schema["values_display"] == AUTH_MODE_LABELS
    assert schema["values_display"]["basic"] == "Basic: iRODS username and password"
    assert form["extra_fields"]["auth_mode"]["value"] == "basic"
    # react-select filters on "label value" and Enter picks the first match: "token" must pick token.
    first = next(v for v in schema["enum"] if "token" in f"{schema['values_display'][v]} {v}".lower())
    assert first == "token"


@pytest.mark.parametrize(
    ("name", "allowed", "default"),
    [
        ("openid_client_auth_method", CLIENT_AUTH_METHODS, "client_secret_basic"),
        ("checksum_scheme", ("auto", *CHECKSUM_SCHEMES), "auto"),
    ],
)
def test_other_dropdowns_have_labels_and_no_null(form, name, allowed, default) -> None:
    spec = form["extra_fields"][name]
    assert spec["schema"]["enum"] == list(allowed)
    assert set(spec["schema"]["values_display"]) == set(allowed)
    assert spec["value"] == default


def test_defaults_shown_are_the_defaults_the_hook_uses(form) -> None:
    for name, spec in form["extra_fields"].items():
        expected = EXTRA_DEFAULTS[name]
        if name == "checksum_scheme":
            expected = "auto"  # None in the hook means auto: learn the scheme from the server
        if name == "openid_allow_foreign_token_endpoint":
            expected = None  # unset = off; a False default would be masked to "***" (key holds "token")
        assert spec["value"] == expected, name


def test_no_default_value_reaches_the_form_masked(form) -> None:
    assert all(spec["value"] != "***" for spec in form["extra_fields"].values())


def test_every_field_has_a_title_and_a_help_text(form) -> None:
    for name, spec in form["extra_fields"].items():
        assert spec["schema"]["title"], name
        assert len(spec["description"]) > 20, name


def test_secrets_are_password_fields(form) -> None:
    secret = {k for k, v in form["extra_fields"].items() if v["schema"].get("format") == "password"}
    assert secret == {"access_token", "openid_client_secret", "openid_password", "openid_refresh_token"}


def test_standard_fields_say_what_they_do(form) -> None:
    standard = form["standard_fields"]
    assert standard["port"]["placeholder"] == "empty: 443 for https, 80 for http (type it to use Test)"
    assert standard["url_schema"]["title"] == "Protocol"
    assert standard["login"]["title"] == "Username"
    assert "bearer token" in standard["password"]["placeholder"]


def test_empty_form_fields_saved_as_null_mean_the_defaults(monkeypatch) -> None:
    """The form saves every extra field, empty ones as null: they must read as unset, not fail."""
    import json

    from irods_provider.hooks.irods import IrodsHook

    extra = dict.fromkeys(EXTRA_DEFAULTS) | {"auth_mode": "basic"}
    conn = {"conn_type": "irods", "host": "h", "port": 0, "login": "rods", "password": "pw", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_FORM", json.dumps(conn))
    settings = IrodsHook("irods_form").settings
    assert settings.base_url == "https://h:443/irods-http-api"  # empty port (the UI sends 0): 443
    assert (settings.verify, settings.connect_timeout, settings.timeout) == (True, 10.0, 60.0)
    assert settings.checksum_scheme is None
    assert settings.zone is None


def test_the_form_dropdowns_offer_exactly_the_modes_the_hook_accepts() -> None:
    from irods_provider._auth_names import AUTH_MODES, CLIENT_AUTH_METHODS
    from irods_provider._provider_info import AUTH_MODE_LABELS, CLIENT_AUTH_LABELS

    assert sorted(AUTH_MODE_LABELS) == sorted(AUTH_MODES)
    assert sorted(CLIENT_AUTH_LABELS) == sorted(CLIENT_AUTH_METHODS)
