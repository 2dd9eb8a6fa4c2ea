"""ProvidersManager discovers the iRODS hook, the ``irods`` connection type, its fields and behaviour."""

from __future__ import annotations

import importlib

import irods_provider
from irods_provider.hooks._connection import EXTRA_DEFAULTS, SECRET_EXTRAS


def test_connection_type_and_hook_are_discovered() -> None:
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["irods"]
    assert hook is not None
    assert hook.hook_class_name == "irods_provider.hooks.irods.IrodsHook"
    assert hook.connection_id_attribute_name == "irods_conn_id"
    assert hook.hook_name == "iRODS (HTTP API)"
    assert hook.package_name == "airflow-provider-irods"


def test_connection_form_fields_and_sensitive_fields() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = {k: v for k, v in manager.connection_form_widgets.items() if k.startswith("extra__irods__")}
    names = {k.removeprefix("extra__irods__") for k in widgets}
    assert names == set(EXTRA_DEFAULTS)
    sensitive = {k.removeprefix("extra__irods__") for k, v in widgets.items() if v.is_sensitive}
    assert sensitive == set(SECRET_EXTRAS)
    behaviour = manager.field_behaviours["irods"]
    assert "extra" in behaviour["hidden_fields"]
    assert behaviour["relabeling"] == {"schema": "Protocol", "login": "Username"}
    assert behaviour["placeholders"]["schema"] == "https (default) or http"


def test_provider_info_modules_exist() -> None:
    info = irods_provider.get_provider_info()
    assert info["package-name"] == "airflow-provider-irods"
    for key in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[key]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    (conn_type,) = info["connection-types"]
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), name)
    assert hook.conn_type == conn_type["connection-type"]


def test_declared_airflow_floor_is_3_3() -> None:
    from importlib.metadata import requires

    declared = [r for r in requires("airflow-provider-irods") or [] if r.startswith("apache-airflow>=")]
    assert declared == ["apache-airflow>=3.3.0"]
