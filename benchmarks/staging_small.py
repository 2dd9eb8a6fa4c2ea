"""Many small files staged both ways through the WAN model: files per second, connections, round trips.

    python benchmarks/staging_small.py --json [--quick]

Debian's sshd (``MaxSessions 10``, OpenSSH's default) and the emulator (in a subprocess) each sit behind the
WAN model of ``staging.py --wan`` (30 ms RTT, 512 KiB in flight per TCP connection); the task runs in a
process of its own, like an Airflow task. ``FILES`` objects of 4 KiB go iRODS -> SFTP with
``IrodsToSFTPOperator`` (a collection into a directory), then back SFTP -> iRODS with
``SFTPToIrodsOperator``, both with their defaults (automatic ``sftp_connections``, the small-file lane,
``remote_checksum`` when it can, resume). Every byte is compared afterwards. Figures:

* ``wan_staged_small_files_per_second_down`` / ``_up``: files over the operator's whole run (planning
  included), the best of two runs each;
* ``..._4_at_once``: the same with the small-file lane pinned to ``max_concurrent_files`` (4 at once over
  one connection, as every file ran before the lane), so the ratio shows what the lane adds in one run;
* ``ssh_connections_down`` / ``_up``: the SSH connections the operator opened (its automatic count);
* ``http_requests_per_file_*`` / ``sftp_requests_per_file_*``: requests per file, counted in the task's
  process (blocking SFTP requests and pipelined ones alike).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _staging_wan import _envs, wan_proxy
from staging import emulator

ROOT = Path(__file__).resolve().parent.parent
HOME = "/tempZone/home/rods"
FILES = 500
FILE_BYTES = 4096
#: Measured on the main before the small-file lane (one SSH connection, 4 files at once, sha256sum per
#: file), same model.
BEFORE = {"wan_staged_small_files_per_second_down": 11.8, "wan_staged_small_files_per_second_up": 16.8}
#: This script's run on the eleventh session's code (the lane, read-back; 6 SFTP round trips from a
#: download's create to its rename, a stat per file), 2026-12-06.
PREVIOUS = {
    "wan_staged_small_files_per_second_down": 74.5,
    "wan_staged_small_files_per_second_up": 101.8,
    "wan_staged_small_files_per_second_down_4_at_once": 14.7,
    "wan_staged_small_files_per_second_up_4_at_once": 22.5,
    "over_4_at_once_down": 5.07,
    "over_4_at_once_up": 4.52,
    "http_requests_per_file_down": 2.09,
    "sftp_requests_per_file_down": 11.01,
    "http_requests_per_file_up": 3.01,
    "sftp_requests_per_file_up": 7.02,
}


def _child(op: str, source: str, destination: str, pinned: bool) -> dict[str, Any]:
    """One operator run in this process; its seconds, SSH connections and requests."""
    import time

    import paramiko

    from irods_provider.client._events import add_listener
    from irods_provider.sftp._endpoint import SftpEndpoint
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    counts = {"http": 0, "sftp": 0, "ssh": 0}
    add_listener(lambda event, _v, _t: counts.__setitem__("http", counts["http"] + (event == "request")))
    send, link = paramiko.SFTPClient._async_request, SftpEndpoint._open_link

    def counted_send(client: Any, *args: Any) -> Any:
        counts["sftp"] += 1
        return send(client, *args)

    def counted_link(endpoint: Any, *args: Any) -> Any:
        counts["ssh"] += 1
        return link(endpoint, *args)

    paramiko.SFTPClient._async_request = counted_send  # type: ignore[method-assign]
    SftpEndpoint._open_link = counted_link  # type: ignore[method-assign]
    operator = IrodsToSFTPOperator if op == "down" else SFTPToIrodsOperator
    more = {"max_concurrent_small_files": 4, "sftp_connections": 1} if pinned else {}  # 4 at once, as before
    start = time.perf_counter()
    report = operator(
        task_id=op,
        sftp_conn_id="bench_sftp",
        source_path=source,
        destination_path=destination,
        recursive=True,
        progress_interval_seconds=3600,
        **more,
    ).execute({})
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "transferred": report["transferred"], "failed": report["failed"], **counts}


def _run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(files: int) -> dict[str, Any]:
    from irods_provider.testing.sftp import OpenSshServer

    work = Path(tempfile.mkdtemp(prefix="staging-small-"))
    rates: dict[str, list[float]] = {}
    seen: dict[str, dict[str, Any]] = {}
    try:
        with (
            OpenSshServer() as server,
            emulator(work / "spool") as port,
            wan_proxy(server.port) as sftp_proxy,
            wan_proxy(port) as irods_proxy,
        ):
            env = _envs(work, server, irods_proxy.port, sftp_proxy.port)
            blobs = {f"f{i:05d} #[{i % 7}].bin": os.urandom(FILE_BYTES) for i in range(files)}
            source = _seed(port, blobs)
            (server.root / "bench").mkdir(exist_ok=True)
            os.chown(server.root / "bench", server.root.stat().st_uid, server.root.stat().st_gid)
            for _round in range(2):
                for pinned in (False, True):
                    tag, name = uuid.uuid4().hex[:8], "_4_at_once" if pinned else ""
                    down = _run_child(env, "down", source, f"bench/{tag}/", str(pinned))
                    landed = server.root / "bench" / tag
                    assert {p.name: p.read_bytes() for p in landed.iterdir()} == blobs, "down: bytes differ"
                    up = _run_child(env, "up", f"bench/{tag}", f"{HOME}/back-{tag}", str(pinned))
                    _check_zone(port, f"{HOME}/back-{tag}", blobs)
                    for way, result in (("down", down), ("up", up)):
                        assert (result["transferred"], result["failed"]) == (files, 0), result
                        key = f"wan_staged_small_files_per_second_{way}{name}"
                        rates.setdefault(key, []).append(files / result["seconds"])
                        seen[f"{way}{name}"] = result
                    shutil.rmtree(landed, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {"files": files, "file_bytes": FILE_BYTES, "date": str(datetime.date.today())}
    result |= {key: round(max(values), 1) for key, values in rates.items()}
    for way in ("down", "up"):
        result[f"over_4_at_once_{way}"] = round(
            result[f"wan_staged_small_files_per_second_{way}"]
            / result[f"wan_staged_small_files_per_second_{way}_4_at_once"],
            2,
        )
        result[f"ssh_connections_{way}"] = seen[way]["ssh"]
        result[f"http_requests_per_file_{way}"] = round(seen[way]["http"] / files, 2)
        result[f"sftp_requests_per_file_{way}"] = round(seen[way]["sftp"] / files, 2)
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    return result


def _session(port: int) -> Any:
    from irods_provider.client import BasicAuth, IrodsSession

    return IrodsSession(
        f"http://127.0.0.1:{port}/irods-http-api/0.7.0", auth=BasicAuth("rods", "rods-emulator")
    )


def _seed(port: int, blobs: dict[str, bytes]) -> str:
    """The files as data objects in a fresh collection (on loopback, not through the model); its path + /."""
    collection = f"{HOME}/small-{uuid.uuid4().hex[:8]}"
    with _session(port) as session:
        session.collections.create(collection, intermediates=True, exist_ok=True)
        for name, data in blobs.items():
            session.data_objects.write(f"{collection}/{name}", data, truncate=True)
    return collection + "/"


def _check_zone(port: int, collection: str, blobs: dict[str, bytes]) -> None:
    with _session(port) as session:
        for name, data in blobs.items():
            assert session.data_objects.read(f"{collection}/{name}") == data, f"up: {name} differs"


def write_results(result: dict[str, Any]) -> None:
    """Rewrite the staged-small-files section of RESULTS.md."""
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text()
    head, _, rest = text.partition("<!-- staging_small -->")
    old, _, tail = rest.partition("<!-- staging_small -->")
    rows = "\n".join(
        f"| `{k}` | {v} | {PREVIOUS.get(k, '')} | {BEFORE.get(k, '')} |"
        for k, v in result.items()
        if not isinstance(v, dict | list)
    )
    section = (
        "<!-- staging_small -->\n## Many small files staged over SFTP (`benchmarks/staging_small.py`)\n\n"
        f"Run {result['date']}: {result['files']} files of {result['file_bytes']} B, iRODS -> SFTP with "
        "`IrodsToSFTPOperator`, then back with `SFTPToIrodsOperator`, defaults, sshd at `MaxSessions 10` and "
        "the emulator each behind the WAN model of `staging.py --wan` (30 ms RTT). Every byte compared. The "
        "`before` column is the main before the small-file lane (one SSH connection, 4 files at once, "
        "`sha256sum` per file), `previous` this script on the eleventh session's code (the lane; 6 SFTP "
        "round trips from a download's create to its rename, a `stat` per file), both measured on the same "
        "model on 2026-12-06; `over_4_at_once_*` is measured within each run.\n\n"
        "| metric | this run | previous | before |\n| --- | --- | --- | --- |\n"
        f"{rows}\n<!-- staging_small -->"
    )
    path.write_text(head + section + tail if old else text.rstrip("\n") + "\n\n" + section + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="many small files staged over SFTP through a WAN model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="100 files instead of 500")
    parser.add_argument(
        "--child", nargs=4, metavar=("OP", "SOURCE", "DESTINATION", "PINNED"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        op, source, destination, pinned = args.child
        print(json.dumps(_child(op, source, destination, pinned == "True")))
        return 0
    result = run(100 if args.quick else FILES)
    write_results(result)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
