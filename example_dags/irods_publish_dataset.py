"""Publish a dataset the way a LEXIS-style data platform does, end to end.

plan → upload into staging → checksum → verify checksums → publish (move into the public or project
scope, AVUs and ACLs on every object) → create a read ticket to share it → clean up abandoned upload
temporaries in the staging area

The dataset comes from ``source_dir`` (a local directory the worker can read), or, left empty, from a small
sample the DAG writes itself. It is uploaded to ``<home>/lexis/staging/<dataset>-<run>``, checksummed and
verified on the server, then moved in one rename to ``<zone>/home/public/datasets/<dataset>-<run>`` (scope
``public``: the ``public`` group may read it) or ``<home>/projects/<project>/datasets/<dataset>-<run>``
(scope ``project``: the group named ``project`` may read it), where every object gets the dataset's AVUs
and ACLs. A read ticket (limited uses, one week) shares it with people outside those groups; its string is
masked in the logs and is in the ticket task's XCom. Last, upload temporaries (``.<name>.irods-part-*``)
abandoned in the staging area for more than a day by killed workers are removed, quota freed.

Uses the ``irods_default`` connection; the zone and user come from it unless given as params (the helper
below is the one ``irods_basic_operations`` uses, repeated so each example stands alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from irods_provider.operators.catalog import IrodsChecksumOperator, IrodsCreateTicketOperator
from irods_provider.operators.cleanup import IrodsCleanupTemporaryObjectsOperator
from irods_provider.operators.publish import IrodsPublishOperator
from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

#: The sample dataset written when ``source_dir`` is empty (relative path → bytes).
SAMPLE = {
    "measurements.csv": b"station,t,value\nA,0,1.5\nA,1,1.7\nB,0,2.1\n",
    "raw/run-001.bin": bytes(range(256)) * 16,
    "README.md": b"# Sample dataset\nWritten by the irods_publish_dataset example DAG.\n",
}
#: Abandoned temporaries older than this are removed from the staging area (longer than any upload).
TEMPORARY_MIN_AGE_SECONDS = 24 * 3600
SHARE_TICKET_USES = 100
SHARE_TICKET_SECONDS = 7 * 24 * 3600


def irods_home(params: Mapping[str, Any], conn_id: str = "irods_default") -> str:
    """``/<zone>/home/<user>``: the ``zone``/``user`` params when given, else the connection's
    (:meth:`IrodsHook.home_collection`)."""
    from irods_provider.hooks.irods import IrodsHook

    with IrodsHook(conn_id) as hook:
        return hook.home_collection(params.get("zone"), params.get("user"))


def publication_plan(home: str, params: Mapping[str, Any], run_after: dt.datetime) -> dict[str, Any]:
    """Where the run stages and publishes the dataset, and the AVUs and ACLs it gets."""
    dataset, scope, project = params["dataset"], params["scope"], params["project"]
    name = f"{dataset}-{run_after.strftime('%Y%m%dT%H%M%S')}"
    zone = home.split("/")[1]
    if scope == "public":
        published, audience = f"/{zone}/home/public/datasets/{name}", "public"
    else:
        published, audience = f"{home}/projects/{project}/datasets/{name}", project
    return {
        "staging_root": f"{home}/lexis/staging",
        "staging": f"{home}/lexis/staging/{name}",
        "published": published,
        "metadata": {"lexis.dataset": dataset, "lexis.access": scope, "lexis.project": project},
        "permissions": {audience: "read_object"},
    }


@dag(
    dag_id="irods_publish_dataset",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={
        "dataset": Param(
            "sample-dataset",
            type="string",
            pattern=r"^[A-Za-z0-9._-]+$",
            title="Dataset name",
            description="Name of the dataset; its collections are named <dataset>-<run time>.",
        ),
        "scope": Param(
            "public",
            enum=["public", "project"],
            title="Publication scope",
            description="public: readable by the zone's public group; project: by the project's group.",
        ),
        "project": Param(
            "demo_project",
            type="string",
            title="Project",
            description="The project (and its iRODS group) the dataset belongs to; recorded as an AVU.",
        ),
        "source_dir": Param(
            None,
            type=["null", "string"],
            title="Local source directory",
            description="A directory the worker can read, uploaded as the dataset. Empty: a small sample.",
        ),
        "zone": Param(
            None,
            type=["null", "string"],
            title="Zone",
            description="iRODS zone of the staging and project areas. Empty: the connection's zone.",
        ),
        "user": Param(
            None,
            type=["null", "string"],
            title="User",
            description="Whose home holds the staging area. Empty: the connection's user.",
        ),
    },
    tags=["irods", "example", "lexis"],
    doc_md=__doc__,
)
def irods_publish_dataset() -> None:
    @task(multiple_outputs=True)
    def plan() -> dict[str, Any]:
        """Resolve the zone and user (params or connection) into the run's paths, AVUs and ACLs."""
        context = get_current_context()
        params = context["params"]
        return publication_plan(irods_home(params), params, context["dag_run"].run_after)

    @task
    def local_dataset() -> str:
        """The directory to upload: ``source_dir``, or a sample written to a fresh temporary directory."""
        import tempfile
        from pathlib import Path

        source_dir = get_current_context()["params"]["source_dir"]
        if source_dir:
            return str(source_dir)
        root = Path(tempfile.mkdtemp(prefix="irods-publish-dataset-"))
        for relative, data in SAMPLE.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(data)
        return str(root)

    paths: Any = plan()  # indexing an XComArg pulls one key of multiple_outputs
    upload = LocalToIrodsOperator(
        task_id="upload_dataset",
        source_path=local_dataset(),
        destination_path=paths["staging"],
        metadata={"lexis.dataset": "{{ params.dataset }}"},
    )
    checksum = IrodsChecksumOperator(task_id="checksum_dataset", path=paths["staging"])
    verify = IrodsChecksumOperator(task_id="verify_checksums", path=paths["staging"], verify=True)
    publish = IrodsPublishOperator(
        task_id="publish_dataset",
        source_path=paths["staging"],
        destination_path=paths["published"],
        mode="move",
        metadata=paths["metadata"],
        permissions=paths["permissions"],
    )
    share = IrodsCreateTicketOperator(
        task_id="create_share_ticket",
        path=paths["published"],
        ticket_type="read",
        use_count=SHARE_TICKET_USES,
        expires_in_seconds=SHARE_TICKET_SECONDS,
    )
    cleanup = IrodsCleanupTemporaryObjectsOperator(
        task_id="cleanup_temporaries",
        path=paths["staging_root"],
        min_age_seconds=TEMPORARY_MIN_AGE_SECONDS,
    )

    upload >> checksum >> verify >> publish >> share >> cleanup


publish_dataset_dag = irods_publish_dataset()
