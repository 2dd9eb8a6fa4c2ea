"""Live deployment benchmark: the multi-cluster DAG (4 clusters) under CeleryExecutor vs serial LocalExecutor.

Starts a real deployment (``scripts/_live``) twice: LocalExecutor with ``parallelism=1``, then CeleryExecutor
with two workers of concurrency 2 (Redis broker). Each time it seeds the same input dataset, triggers
``multi_cluster_workflow`` through the REST API and reads the run's and task instances' start/end times.
Reports the wall-time ratio celery ÷ local-serial and the scheduling overhead (DAG wall ÷ sum of task
durations) of each.

    python benchmarks/live.py [--json] [--clusters 4] [--dataset-mib 16] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from _live.deploy import Deployment
from _live.scenario import MULTI, multi_cluster_conf, run_dag, seed_multi_cluster_input


def measure(*, executor: str, clusters: int, mib: int, repeat: int, parallelism: int) -> dict[str, Any]:
    """Run the DAG ``repeat`` times in one fresh deployment; wall, task sum and overhead per run."""
    dep = Deployment(executor=executor, clusters=clusters, parallelism=parallelism)
    runs: list[dict[str, float]] = []
    try:
        dep.start(say=lambda m: print(f"  {m}", file=sys.stderr))
        seed_multi_cluster_input(dep, mib=mib)
        for _ in range(repeat):
            r = run_dag(dep, MULTI, multi_cluster_conf(dep), timeout=900, say=lambda _m: None)
            if r.state != "success":
                raise RuntimeError(f"{executor}: run {r.run_id} ended {r.state}")
            hosts = sorted({t.hostname for t in r.tasks})
            runs.append({"wall_s": r.wall_seconds, "task_sum_s": r.task_seconds, "overhead": r.overhead})
            print(
                f"  {executor}: wall {r.wall_seconds:.1f} s, tasks {r.task_seconds:.1f} s on {hosts}",
                file=sys.stderr,
            )
    finally:
        left = dep.stop()
        if left:
            print(f"  WARNING: left behind: {left}", file=sys.stderr)
        else:
            dep.cleanup()
    return {
        "executor": executor,
        "parallelism": parallelism,
        "workers": dep.workers if executor == "celery" else 0,
        "worker_concurrency": dep.worker_concurrency if executor == "celery" else 0,
        "runs": runs,
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "task_sum_s": statistics.median(r["task_sum_s"] for r in runs),
        "overhead": statistics.median(r["overhead"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure both executors and print the figures (JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clusters", type=int, default=4)
    parser.add_argument("--dataset-mib", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    common = {"clusters": args.clusters, "mib": args.dataset_mib, "repeat": args.repeat}
    local = measure(executor="local", parallelism=1, **common)
    celery = measure(executor="celery", parallelism=32, **common)
    result = {
        "dag": MULTI,
        "clusters": args.clusters,
        "dataset_mib": args.dataset_mib,
        "local_serial": local,
        "celery_2x2": celery,
        "celery_over_local_serial_wall": celery["wall_s"] / local["wall_s"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"multi-cluster DAG, {args.clusters} clusters, {args.dataset_mib} MiB input")
        for name, r in (("LocalExecutor parallelism=1", local), ("Celery 2 workers x 2", celery)):
            print(f"  {name:<28} wall {r['wall_s']:6.1f} s  tasks {r['task_sum_s']:6.1f} s  ")
            print(f"  {'':<28} overhead wall/sum {r['overhead']:.2f}")
        print(f"  celery / local-serial wall time: {result['celery_over_local_serial_wall']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
