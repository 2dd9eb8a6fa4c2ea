"""A DAG written only from the README's snippets, as a newcomer would (tests/dags/test_newcomer.py runs it).

A job step (the user's own; here a small task) writes ``scratch/<run>/output/**/*.h5`` on ``cluster_a``;
the DAG stages the outputs into iRODS under a per-run collection named with ``irods_safe_run_id`` (run
ids hold a ``+``), waits for them with the path sensor, tags the collection with typed AVUs and cleans
up after itself.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from irods_provider.operators.irods import IrodsDeleteOperator, IrodsPutMetadataOperator
from irods_provider.sensors.irods import IrodsPathSensor
from irods_provider.templates import IRODS_FILTERS
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

#: What the "cluster job" writes (the test compares the staged checksums with these bytes).
OUTPUTS = {
    "a.h5": b"\x89HDF\r\n" + bytes(range(256)) * 300,
    "deep/b.h5": b"\x89HDF\r\n" * 10,
    "log.txt": b"x",
}


@task
def cluster_job(out_dir: str) -> list[str]:
    """Stands for the user's own job step (an SSHOperator or a scheduler submission): outputs on cluster_a."""
    import contextlib
    import posixpath

    from airflow.providers.sftp.hooks.sftp import SFTPHook

    hook = SFTPHook(ssh_conn_id="cluster_a")
    with hook.get_managed_conn() as client:
        for name, data in OUTPUTS.items():
            path = posixpath.join(out_dir, name)
            parts = posixpath.dirname(path).split("/")
            for depth in range(1, len(parts) + 1):
                with contextlib.suppress(OSError):  # exists already
                    client.mkdir("/".join(parts[:depth]))
            with client.open(path, "wb") as fh:
                fh.write(data)
    return sorted(OUTPUTS)


@dag(dag_id="newcomer_readme", schedule=None, catchup=False, user_defined_filters=IRODS_FILTERS)
def newcomer_readme() -> None:
    stage_out = SFTPToIrodsOperator(
        task_id="stage_out",
        sftp_conn_id="cluster_a",
        source_path="scratch/{{ irods_safe_run_id }}/output/**/*.h5",
        glob=True,
        destination_path="/tempZone/home/alice/results/{{ irods_safe_run_id }}/",
        metadata={"cluster": "cluster_a", "job": "{{ run_id }}"},
        skip="checksum",
    )
    wait = IrodsPathSensor(
        task_id="wait_for_results",
        path="/tempZone/home/alice/results/{{ run_id | irods_safe }}/*.h5",
        glob=True,
        deferrable=True,
        poke_interval=1,
        timeout=60,
    )
    tag = IrodsPutMetadataOperator(
        task_id="tag",
        path="/tempZone/home/alice/results/{{ irods_safe_run_id }}",
        metadata={"status": "complete", "files": 2, "size": (1024, "MiB"), "validated": True},
        mode="set",
    )
    cleanup = IrodsDeleteOperator(
        task_id="cleanup",
        paths="/tempZone/home/alice/results/{{ irods_safe_run_id }}",
        recurse=True,
        no_trash=True,
    )
    job = cluster_job(out_dir="scratch/{{ run_id | irods_safe }}/output")
    job >> stage_out >> wait >> tag >> cleanup


newcomer_readme_dag = newcomer_readme()
