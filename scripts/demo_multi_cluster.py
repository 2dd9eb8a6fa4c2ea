"""`make demo`: run the multi-cluster workflow end to end on this machine and print what happened.

Starts the iRODS emulator and N embedded SSH/SFTP "clusters" on 127.0.0.1, points Airflow connections at them,
seeds an input dataset, runs ``example_dags/multi_cluster_workflow.py`` with ``dag.test()`` and prints a
summary read back from the zone. Exits 0 only if the run succeeded and every check passed.

    python scripts/demo_multi_cluster.py [--clusters 3] [--dataset-mib 24] [--api-version 0.5.0]

``--api-version`` (``make demo IRODS_API_VERSION=0.5.0``) picks the emulator's HTTP API version profile;
the connection names no version, so the provider discovers it (``api_version`` extra ``auto``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATASET = "/tempZone/home/rods/lexis/datasets/texts"
RESULTS = "/tempZone/home/rods/lexis/results"
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "irods", "airflow", "cluster", "staging", "chunk", "lexis"]


def prepare_airflow(home: Path) -> None:
    """An isolated Airflow: temp home, no examples, our DAG folder, a migrated SQLite DB."""
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "example_dags"),
        AIRFLOW__LOGGING__LOGGING_LEVEL=os.environ.get("DEMO_LOG_LEVEL", "WARNING"),
    )
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def text(size: int, seed: int) -> bytes:
    """Deterministic lines of words, ``size`` bytes long."""
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def seed_dataset(session: object, mib: int) -> dict[str, int]:
    """A few text files in the input collection: small ones and one of ``mib`` MiB."""
    files = {
        "README.txt": text(2_000, 1),
        "part-001.txt": text(300_000, 2),
        f"bulk/corpus-{mib}MiB.txt": text(mib << 20, 3),
    }
    for name, data in files.items():
        path = f"{DATASET}/{name}"
        session.collections.create(path.rsplit("/", 1)[0], intermediates=True, exist_ok=True)  # type: ignore[attr-defined]
        _upload(session, path, data)
    return {name: len(data) for name, data in files.items()}


def _upload(session: object, path: str, data: bytes) -> None:
    import io

    from irods_provider.client.transfer import parallel_upload

    parallel_upload(session, io.BytesIO(data), path, size=len(data))  # type: ignore[arg-type]


def load_dag() -> object:
    spec = importlib.util.spec_from_file_location(
        "multi_cluster_workflow", REPO / "example_dags" / "multi_cluster_workflow.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.multi_cluster_dag  # type: ignore[attr-defined]


def _mbps(size: int, seconds: float) -> str:
    return f"{size / max(seconds, 1e-9) / 1e6:6.1f} MB/s"


def print_cluster(session: Any, run: str, cluster: str) -> int:
    """One cluster's part of the summary; returns the bytes staged in."""
    avus = {a.attribute: a.value for a in session.metadata.list(f"{run}/{cluster}")}
    bytes_in, secs_in = int(avus["lexis.stage_in.bytes"]), float(avus["lexis.stage_in.seconds"])
    bytes_out, secs_out = int(avus["lexis.stage_out.bytes"]), float(avus["lexis.stage_out.seconds"])
    print(f"\n[{cluster}] (SSH/SFTP host {avus['lexis.job.host']})")
    print("  stage in  iRODS dataset -> SFTP lexis-jobs/<run>/input/")
    rate = _mbps(bytes_in, secs_in)
    print(f"            {bytes_in:>12,d} B in {secs_in:6.2f} s {rate}  sha256 verified both ends")
    print(
        f"  job       {avus['lexis.job.files']} files counted and hashed over SSH in "
        f"{float(avus['lexis.job.seconds']):.2f} s"
    )
    print(f"  stage out SFTP lexis-jobs/<run>/output/ -> iRODS {run}/{cluster}")
    print(f"            {bytes_out:>12,d} B in {secs_out:6.2f} s  sha256 verified")
    for key in sorted(k for k in avus if k.startswith("lexis.checksum.")):
        print(f"              {key.removeprefix('lexis.checksum.'):<12} {avus[key]}")
    print("  job output (stats.tsv):")
    for line in session.data_objects.read(f"{run}/{cluster}/stats.tsv").decode().splitlines():
        name, lines, words, size = line.split("\t")
        print(
            f"              {name:<24} {int(lines):>9,d} lines {int(words):>10,d} words {int(size):>11,d} B"
        )
    return bytes_in


def summary(session: Any, clusters: list[str], files: dict[str, int], seconds: float) -> bool:
    """Print what moved where, read back from the zone; True when everything checks out."""
    from irods_provider.client import EntryKind

    runs = [e.path for e in session.collections.iterate(RESULTS) if e.kind is EntryKind.COLLECTION]
    run = sorted(runs)[-1]
    tags = {a.attribute: a.value for a in session.metadata.list(run)}
    total = sum(files.values())
    print(f"\n=== multi-cluster workflow: {len(clusters)} clusters, input {DATASET}")
    print(f"    ({len(files)} files, {total:,d} B); results in {run}")
    ok = tags.get("lexis.run.status") == "verified"
    for cluster in clusters:
        ok = print_cluster(session, run, cluster) == total and ok
    print("\nrun collection AVUs: " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())))
    verdict = "SUCCESS" if ok else "FAILED"
    print(f"{verdict}: every byte checked by sha256 at both ends; the DAG run took {seconds:.1f} s")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clusters", type=int, default=3)
    parser.add_argument("--dataset-mib", type=int, default=24)
    parser.add_argument(
        "--api-version", default="0.7.0", help="the emulator's iRODS HTTP API version: 0.4.0 to 0.7.0"
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="irods-demo-"))
    try:
        prepare_airflow(work / "airflow")
        return run_demo(work, args.clusters, args.dataset_mib, args.api_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_demo(work: Path, count: int, mib: int, api_version: str = "0.7.0") -> int:
    from contextlib import ExitStack

    from irods_provider.hooks.irods import IrodsHook
    from irods_provider.testing import EmulatorConfig, EmulatorServer
    from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json

    names = [f"cluster_{chr(ord('a') + i)}" for i in range(count)]
    with ExitStack() as stack:
        config = EmulatorConfig(spool_dir=work / "spool", api_version=api_version)
        irods = stack.enter_context(EmulatorServer(config))
        os.environ["AIRFLOW_CONN_IRODS_DEFAULT"] = irods.airflow_connection_uri()
        for name in names:
            server = stack.enter_context(EmbeddedSftpServer(work / name, username=f"user_{name}"))
            os.environ[f"AIRFLOW_CONN_{name.upper()}"] = airflow_connection_json(server)
            print(f"cluster {name}: SSH/SFTP on {server.host}:{server.port}, scratch {server.root}")
        print(f"iRODS emulator: {irods.base_url}")
        hook = stack.enter_context(IrodsHook())
        print(f"provider detected iRODS HTTP API {hook.get_conn().api.version} (api_version: auto)")
        files = seed_dataset(hook.get_conn(), mib)
        dag = load_dag()
        started = time.monotonic()
        run = dag.test(run_conf={"clusters": names, "dataset": DATASET, "results_collection": RESULTS})  # type: ignore[attr-defined]
        seconds = time.monotonic() - started
        if str(run.state) != "success":
            print(f"FAILED: the DAG run ended as {run.state}")
            return 1
        return 0 if summary(hook.get_conn(), names, files, seconds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
