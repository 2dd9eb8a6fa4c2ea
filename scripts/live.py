"""`make live`: run the example DAGs under a real local Airflow deployment and follow them as a user would.

Starts, all on 127.0.0.1 and each as its own process: a throwaway PostgreSQL cluster (the metadata DB), the
iRODS HTTP API emulator, N embedded SSH/SFTP "clusters", and Airflow's api-server, scheduler, dag-processor
and triggerer (LocalExecutor), or with ``--executor celery`` Redis plus two ``airflow celery worker``
processes, or with ``--executor edge`` the EdgeExecutor with one ``airflow edge worker`` per cluster (queue
``site_<x>``, reaching the API server through its own WAN proxy) and one central worker (queue ``default``).
Connections come from ``AIRFLOW_CONN_*`` variables of the central processes (Edge workers get them through the
execution API). Through the REST API it unpauses and triggers
``multi_cluster_workflow`` and ``irods_basic_operations``, prints task-state changes and a summary, then stops
everything it started (also on Ctrl-C or failure) and checks that no process is left behind.

    python scripts/live.py [--executor local|celery|edge] [--clusters 3] [--dataset-mib 16] [--keep]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _live.deploy import Deployment
from _live.scenario import (
    BASIC,
    MULTI,
    basic_conf,
    multi_cluster_conf,
    run_dag,
    seed_multi_cluster_input,
    summary,
)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)  # one interrupt starts the teardown; more must not cut it short
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the live demo; exit status 0 only if both DAG runs and every task succeeded."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--executor", choices=["local", "celery", "edge"], default="local")
    parser.add_argument("--clusters", type=int, default=3)
    parser.add_argument("--dataset-mib", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per DAG run")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) afterwards")
    args = parser.parse_args(argv)
    for sig in (
        signal.SIGINT,
        signal.SIGTERM,
        signal.SIGHUP,
    ):  # also when started with SIGINT ignored (nohup, &)
        signal.signal(sig, _on_sigterm)
    dep = Deployment(executor=args.executor, clusters=args.clusters)
    print(f"work directory {dep.work}")
    ok = False
    started = time.monotonic()
    try:
        dep.start()
        files = seed_multi_cluster_input(dep, mib=args.dataset_mib)
        print(f"seeded the input dataset: {len(files)} files, {sum(files.values()):,d} B")
        results = [
            run_dag(dep, MULTI, multi_cluster_conf(dep), timeout=args.timeout),
            run_dag(dep, BASIC, basic_conf(), timeout=args.timeout),
        ]
        ok = summary(results)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the deployment")
    except Exception as e:
        print(f"\nFAILED: {type(e).__name__}: {e}")
    finally:
        left = dep.stop()
        if left:
            print(f"WARNING: processes left behind: {', '.join(left)}")
            ok = False
        else:
            print(f"stopped all {len(dep.procs.children)} processes started; none left behind")
        if args.keep or not ok:
            print(f"logs kept in {dep.procs.log_dir}")
        else:
            dep.cleanup()
    verdict = "SUCCESS" if ok else "FAILED"
    print(f"{verdict} ({args.executor} executor, {time.monotonic() - started:.0f} s in all)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
