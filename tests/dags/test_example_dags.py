"""Every example DAG through ``dag.test()`` against the emulator (one module: the first run warms up ~7 s)."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from unittest import mock

import pytest

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
HOME = "/tempZone/home/rods"


def load_dag(name: str):
    spec = importlib.util.spec_from_file_location(f"example_dag_{name}", EXAMPLE_DAGS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (dag,) = [v for v in vars(module).values() if type(v).__name__ == "DAG"]
    return dag


def task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def return_values(dag_run) -> dict[str, object]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
    with create_session() as db:
        return {row.task_id: XComModel.deserialize_value(row) for row in db.scalars(query)}


CHAIN = [
    "create_collection",
    "write_input_files",
    "check_collection_exists",
    "list_collection",
    "put_collection_metadata",
    "get_collection_metadata",
    "remove_collection_metadata",
    "delete_files",
    "delete_collections",
]


@pytest.mark.timeout(120)
def test_irods_basic_operations(irods_default) -> None:
    from irods_provider.hooks.irods import IrodsHook

    dag = load_dag("irods_basic_operations")
    assert [t.task_id for t in dag.topological_sort()] == CHAIN
    dag_run = dag.test()
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert states == dict.fromkeys(CHAIN, "success")

    values = return_values(dag_run)
    collection = values["create_collection"]["path"].removesuffix("/raw")
    assert collection.startswith(f"{HOME}/irods_basic_operations_")
    assert values["check_collection_exists"] is True
    listed = {
        (e["path"].removeprefix(collection), e["kind"], e["size"])
        for e in values["list_collection"]["entries"]
    }
    assert listed == {
        ("/README", "data_object", 5),
        ("/raw", "collection", None),
        ("/raw/notes.txt", "data_object", 10),
        ("/raw/samples.csv", "data_object", 19),
        ("/results", "collection", None),
    }
    assert values["get_collection_metadata"]["avus"] == [
        {"attribute": "files", "value": "3", "units": "count"},
        {"attribute": "project", "value": "airflow-provider-irods", "units": ""},
    ]
    assert len(values["remove_collection_metadata"]["removed"]) == 2
    assert sorted(values["delete_files"]["deleted"]) == sorted(values["write_input_files"])
    assert values["delete_collections"] == {
        "deleted": [collection],
        "missing": [],
        "deleted_count": 1,
        "truncated": False,
    }

    with IrodsHook() as hook:
        session = hook.get_conn()
        leftovers = [p for p in session.collections.list(HOME) if "irods_basic_operations_" in p]
        trash = session.collections.list("/tempZone/trash/home/rods")
    assert leftovers == []
    assert trash == []


@pytest.mark.timeout(120)
def test_irods_basic_operations_with_openid_password_grant(
    openid_emulator, oidc_provider, airflow_db, monkeypatch, caplog, capsys
) -> None:
    """The same DAG as alice with tokens from the real provider; no secret or token reaches the logs."""
    from irods_provider.hooks import irods as hook_module

    password = oidc_provider.users["alice"]
    client_secret = oidc_provider.clients["irods-pw-long"]  # hour-long tokens: about secrets, not expiry
    connection = {
        "conn_type": "irods",
        "host": "127.0.0.1",
        "port": openid_emulator.port,
        "schema": "http",
        "login": "alice",
        "password": password,
        "extra": {
            "zone": "tempZone",
            "auth_mode": "openid_password",
            "openid_discovery_url": oidc_provider.issuer,
            "openid_allow_insecure_http": True,
            "openid_client_id": "irods-pw-long",
            "openid_client_secret": client_secret,
            "openid_scope": "openid",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_IRODS_DEFAULT", json.dumps(connection))
    minted: list[str] = []
    real_mask = hook_module._mask_token

    def record(token: str) -> None:
        minted.append(token)
        real_mask(token)

    before = oidc_provider.token_requests("password")
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(hook_module, "_mask_token", side_effect=record):
        dag_run = load_dag("irods_basic_operations").test()  # the user comes from the connection
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert states == dict.fromkeys(CHAIN, "success")
    assert oidc_provider.token_requests("password") > before
    assert minted, "every minted token goes through on_token -> mask_secret"
    values = return_values(dag_run)
    assert values["create_collection"]["path"].startswith("/tempZone/home/alice/irods_basic_operations_")
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert "Set 2 AVU(s) on /tempZone/home/alice/" in logs  # the task logs were captured
    for secret in [password, client_secret, *minted]:
        assert secret not in logs


@pytest.mark.parametrize(
    "name", ["irods_basic_operations", "multi_cluster_workflow", "irods_publish_dataset"]
)
def test_example_dag_params_say_what_they_are(name) -> None:
    params = load_dag(name).params
    assert params
    for key in params:
        param = params.get_param(key)
        assert param.schema.get("title"), key
        assert len(param.description or "") > 20, key


def test_basic_operations_home_comes_from_the_connection(irods_emulator, monkeypatch) -> None:
    """No params: the zone from the server's /info (the connection has no zone extra), the user its login."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "basic_ops_home", EXAMPLE_DAGS / "irods_basic_operations.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    irods_emulator.add_user("bob", "Bob-Pw-1234")
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT", f"irods://bob:Bob-Pw-1234@127.0.0.1:{irods_emulator.port}/http"
    )
    assert module.irods_home({"zone": None, "user": None}) == "/tempZone/home/bob"
    # Another zone: the federated home of this zone's user there.
    assert module.irods_home({"zone": "otherZone", "user": None}) == "/otherZone/home/bob#tempZone"
    assert module.irods_home({"zone": "z", "user": "u"}) == "/z/home/u"  # both given: no connection needed
    monkeypatch.setenv(
        "AIRFLOW_CONN_IRODS_DEFAULT", f"irods://bob:pw@127.0.0.1:{irods_emulator.port}/http?zone=zX"
    )
    assert module.irods_home({"zone": None, "user": "carol"}) == "/zX/home/carol"
