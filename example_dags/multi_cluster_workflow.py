"""Run one job on several HPC clusters at once, with the data staged straight from and back into iRODS.

A LEXIS-style workflow:

1. ``stage_in`` (one mapped task per cluster): the input dataset (an iRODS collection) is copied to each
   cluster's scratch directory over SFTP, chunk by chunk with no staging area, verified by checksum (and by
   ``sha256sum`` on the cluster).
2. ``run_job``: a real command runs on each cluster over SSH: it counts lines and words and hashes every input
   file, writing ``output/stats.tsv``, ``output/SHA256SUMS`` and ``output/job.json``.
3. ``stage_out``: the outputs come back into a per-cluster collection ``<results>/<run>/<cluster>``; every
   object carries AVUs naming the cluster, the job and the input dataset.
4. ``record_cluster``: the cluster collection gets AVUs with bytes, checksums and the three timings.
5. ``verify_run``: every cluster must have hashed exactly the bytes of the dataset as iRODS knows them and
   produced the same statistics; the run collection is then tagged ``lexis.run.status = verified``.

Connections: ``irods_default`` (type ``irods``) and one connection per cluster (type ``sftp``, also used for
SSH). Trigger with ``{"clusters": ["cluster_a", "cluster_b"], "dataset": "/zone/home/me/dataset"}``.

Per-site execution: ``cluster_queues`` maps a cluster to an executor queue, e.g.
``{"cluster_a": "site_a"}`` for an EdgeExecutor worker at that site serving ``site_a``; the cluster's
``stage_in``, ``run_job`` and ``stage_out`` then run there. Airflow fixes one queue per mapped task when the
scheduler expands it, so the deployment applies the mapping with a cluster policy
(``task_instance_mutation_hook``; ``make live EXECUTOR=edge`` installs ``scripts/_live/site_queues.py``).
Empty (the default): every task on the default queue, as on the Local or Celery executor.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from airflow.providers.ssh.operators.ssh import SSHOperator
from airflow.sdk import Param, dag, get_current_context, task

from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

RUN_COLLECTION = "{{ params.results_collection }}/{{ run_id | slug }}"

# The "job": plain POSIX shell, run in the cluster's working directory. Jinja fills in the paths.
JOB_COMMAND = r"""
set -eu
export LC_ALL=C
cd "{{ params.workdir_root }}/{{ run_id | slug }}"
mkdir -p output
start=$(date +%s.%N)
: > output/stats.tsv
files=0
for f in $(cd input && find . -type f | sed 's|^\./||' | sort); do
  printf '%s\t%s\t%s\t%s\n' "$f" "$(wc -l < "input/$f" | tr -d ' ')" "$(wc -w < "input/$f" | tr -d ' ')" \
    "$(wc -c < "input/$f" | tr -d ' ')" >> output/stats.tsv
  files=$((files + 1))
done
(cd input && find . -type f | sed 's|^\./||' | sort | xargs -r sha256sum) > output/SHA256SUMS
end=$(date +%s.%N)
printf '{"cluster": "%s", "host": "%s", "files": %d, "seconds": %s}\n' \
  "{{ task.ssh_conn_id }}" "$(hostname)" "$files" "$(echo "$end - $start" | awk '{print $1 - $3}')" \
  > output/job.json
cat output/job.json
"""


def slug(value: str) -> str:
    """Run id as path component: ``manual__2025-01-01T00:00:00+00:00`` → ``manual__2025-01-01T000000``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "", value.split("+", 1)[0])


@dag(
    dag_id="multi_cluster_workflow",
    schedule=None,
    catchup=False,
    tags=["irods", "sftp", "ssh", "hpc", "lexis"],
    user_defined_filters={"slug": slug},
    params={
        "dataset": Param(
            "/tempZone/home/rods/lexis/datasets/texts",
            type="string",
            title="Input dataset",
            description="iRODS collection copied to every cluster (all its files, recursively).",
        ),
        "clusters": Param(
            ["cluster_a", "cluster_b", "cluster_c"],
            type="array",
            title="Clusters",
            description="Connection ids of the clusters, one per line (type sftp, also used for SSH).",
        ),
        "results_collection": Param(
            "/tempZone/home/rods/lexis/results",
            type="string",
            title="Results collection",
            description="iRODS collection that receives <run>/<cluster>/ with each cluster's outputs.",
        ),
        "cluster_queues": Param(
            {},
            type="object",
            additionalProperties={"type": "string", "minLength": 1},
            title="Queue per cluster",
            description=(
                "Executor queue of each cluster's stage_in, run_job and stage_out, e.g. "
                '{"cluster_a": "site_a"} for an Edge worker at the site. Empty: the default queue.'
            ),
        ),
        "workdir_root": Param(
            "lexis-jobs",
            type="string",
            title="Scratch directory",
            description="Directory on each cluster (relative to the login directory) for the run's files.",
        ),
    },
    doc_md=__doc__,
)
def multi_cluster_workflow() -> None:
    @task
    def list_clusters() -> list[str]:
        """The clusters of this run (a param, so each run may choose), unchanged: the site-queue policy reads
        the cluster of map index ``i`` as ``params.clusters[i]``."""
        params = get_current_context()["params"]
        clusters = list(params["clusters"])
        if not clusters:
            raise ValueError("params.clusters is empty")
        unknown = sorted(set(params.get("cluster_queues") or {}) - set(clusters))
        if unknown:
            raise ValueError(f"params.cluster_queues names clusters not in params.clusters: {unknown}")
        return clusters

    clusters = list_clusters()

    stage_in = IrodsToSFTPOperator.partial(
        task_id="stage_in",
        source_path="{{ params.dataset }}",
        destination_path="{{ params.workdir_root }}/{{ run_id | slug }}/input/",
        skip="checksum",
        overwrite=True,
    ).expand(sftp_conn_id=clusters)

    run_job = SSHOperator.partial(task_id="run_job", command=JOB_COMMAND, cmd_timeout=600).expand(
        ssh_conn_id=clusters
    )

    stage_out = SFTPToIrodsOperator.partial(
        task_id="stage_out",
        source_path="{{ params.workdir_root }}/{{ run_id | slug }}/output",
        destination_path=RUN_COLLECTION + "/{{ task.sftp_conn_id }}",
        metadata={
            "lexis.cluster": "{{ task.sftp_conn_id }}",
            "lexis.job": "{{ dag.dag_id }}/{{ run_id }}",
            "lexis.input": "{{ params.dataset }}",
        },
        overwrite=True,
    ).expand(sftp_conn_id=clusters)

    @task
    def record_cluster(reports: tuple[dict[str, Any], str, dict[str, Any]]) -> dict[str, Any]:
        """Put the cluster's bytes, checksums and timings as AVUs on its results collection."""
        from irods_provider.client import AVU
        from irods_provider.hooks.irods import IrodsHook

        staged_in, job_stdout, staged_out = reports
        job = json.loads(base64.b64decode(job_stdout).decode().strip().splitlines()[-1])
        collection = staged_out["destination"]
        avus = {
            "lexis.cluster": job["cluster"],
            "lexis.job.host": job["host"],
            "lexis.job.files": str(job["files"]),
            "lexis.stage_in.bytes": str(staged_in["bytes"]),
            "lexis.stage_in.seconds": str(staged_in["seconds"]),
            "lexis.job.seconds": f"{float(job['seconds']):.3f}",
            "lexis.stage_out.bytes": str(staged_out["bytes"]),
            "lexis.stage_out.seconds": str(staged_out["seconds"]),
        }
        avus |= {f"lexis.checksum.{p.rsplit('/', 1)[-1]}": c for p, c in staged_out["checksums"].items()}
        with IrodsHook() as hook:
            hook.get_conn().metadata.set(collection, *(AVU(k, v) for k, v in avus.items()))
        return {"collection": collection, "job": job, "stage_in": staged_in, "stage_out": staged_out}

    @task
    def verify_run(records: list[dict[str, Any]]) -> dict[str, Any]:
        """Check every cluster hashed the dataset's exact bytes and agreed on the results; tag the run."""
        from irods_provider.client import AVU
        from irods_provider.hooks.irods import IrodsHook

        records = [records[i] for i in range(len(records))]  # index access: no probing past the end
        context = get_current_context()
        dataset = context["params"]["dataset"]
        run_collection = records[0]["collection"].rsplit("/", 1)[0]
        with IrodsHook() as hook:
            session = hook.get_conn()
            expected = {
                e.path[len(dataset) + 1 :]: base64.b64decode((e.checksum or "sha2:")[5:]).hex()
                for e in session.collections.iterate(dataset, recursive=True, with_stat=True)
                if e.checksum
            }
            stats = set()
            for record in records:
                collection = record["collection"]
                sums = session.data_objects.read(f"{collection}/SHA256SUMS").decode().split("\n")
                hashed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in sums if line.strip()}
                if hashed != expected:
                    raise ValueError(f"{record['job']['cluster']} hashed other bytes than {dataset} holds")
                stats.add(session.data_objects.read(f"{collection}/stats.tsv"))
            if len(stats) != 1:
                raise ValueError("the clusters disagree on the job's results")
            moved = sum(r["stage_in"]["bytes"] + r["stage_out"]["bytes"] for r in records)
            session.metadata.set(
                run_collection,
                AVU("lexis.run.status", "verified"),
                AVU("lexis.run.clusters", ",".join(r["job"]["cluster"] for r in records)),
                AVU("lexis.run.bytes_moved", str(moved)),
                AVU("lexis.run.input", dataset),
            )
        return {
            "run_collection": run_collection,
            "clusters": len(records),
            "files": len(expected),
            "bytes": moved,
        }

    records = record_cluster.expand(reports=stage_in.output.zip(run_job.output, stage_out.output))
    stage_in >> run_job >> stage_out
    verify_run(records)


multi_cluster_dag = multi_cluster_workflow()
