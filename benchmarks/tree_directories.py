"""Requests a tree copy costs, per direction: N files in K directories, plus empty directories.

    python benchmarks/tree_directories.py [--files 60] [--dirs 6] [--empty 6]

Counts, for each of local -> iRODS (``upload_files``), iRODS -> local (``download_files``), iRODS -> iRODS
(``copy_collection``), SFTP -> iRODS and iRODS -> SFTP (the staging operators), the iRODS HTTP API requests
(``irods``: every ``httpx2.HTTPTransport`` request, the session's ``/info`` and login included; ``create``:
collection creates; ``genquery``) and the SFTP requests (``sftp``: paramiko's ``_async_request``, pipelined
ones one each though they share a round trip; ``mkdir``). GenQuery pages read ahead past the end of a
listing vary by a few between runs. Against the
in-process emulator and the embedded SFTP server. Printed figures, no timing: run it on two checkouts
(``PYTHONPATH=<checkout>``) to compare what creating the directories adds. Empty directories are half at
the top, half nested one level below them (``empty-i/nested``).
"""

from __future__ import annotations

import argparse
import collections
import os
import posixpath
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import paramiko

HOME = "/tempZone/home/rods"
COUNTS: collections.Counter[str] = collections.Counter()


def _counting() -> None:
    """Count every iRODS HTTP request and every SFTP request from here on (class-level wrappers)."""
    http = httpx2.HTTPTransport.handle_request

    def handle(self: httpx2.HTTPTransport, request: httpx2.Request) -> httpx2.Response:
        COUNTS["irods"] += 1
        COUNTS["create"] += request.method == "POST" and b'name="op"\r\n\r\ncreate\r\n' in request.read()
        COUNTS["genquery"] += request.url.path.endswith("/query")
        return http(self, request)

    sftp = paramiko.SFTPClient._async_request  # type: ignore[attr-defined]

    def ask(self: paramiko.SFTPClient, kind: Any, message_type: int, *args: Any, **kwargs: Any) -> Any:
        COUNTS["sftp"] += 1
        COUNTS["mkdir"] += message_type == paramiko.sftp.CMD_MKDIR
        return sftp(self, kind, message_type, *args, **kwargs)

    httpx2.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    paramiko.SFTPClient._async_request = ask  # type: ignore[attr-defined]


def layout(files: int, dirs: int, empty: int) -> tuple[dict[str, bytes], list[str]]:
    """``files`` files spread over ``dirs`` directories, and ``empty`` empty directories (half nested)."""
    data = {f"d{i % dirs}/f{i:04d}.dat": f"file {i}\n".encode() for i in range(files)}
    tops = [f"empty-{i}" for i in range((empty + 1) // 2)]
    return data, tops + [f"{top}/nested" for top in tops[: empty // 2]]


def _local(root: Path, data: dict[str, bytes], empties: list[str]) -> Path:
    for name, blob in data.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
    for name in empties:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


KINDS = ("irods", "create", "genquery", "sftp", "mkdir")


def _irods(session: Any, root: str, data: dict[str, bytes], empties: list[str]) -> None:
    for name in sorted({posixpath.dirname(n) for n in data} | set(empties)):
        session.collections.create(f"{root}/{name}", intermediates=True, exist_ok=True)
    for name, blob in data.items():
        session.data_objects.write(f"{root}/{name}", blob)


@contextmanager
def counted(label: str, results: dict[str, tuple[int, ...]]) -> Iterator[None]:
    before = dict(COUNTS)
    yield
    results[label] = tuple(COUNTS[k] - before.get(k, 0) for k in KINDS)


def run(files: int, dirs: int, empty: int) -> dict[str, tuple[int, ...]]:
    from irods_provider.client import BasicAuth, IrodsSession
    from irods_provider.client.transfer import download_files, upload_files
    from irods_provider.client.transfer._tree import copy_collection
    from irods_provider.testing import EmulatorServer
    from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    data, empties = layout(files, dirs, empty)
    results: dict[str, tuple[int, ...]] = {}
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer() as server, EmbeddedSftpServer() as sftp:
        os.environ["AIRFLOW_CONN_IRODS_DEFAULT"] = server.airflow_connection_uri("rods", "rods-emulator")
        os.environ["AIRFLOW_CONN_CLUSTER"] = airflow_connection_json(sftp)
        os.environ["IRODS_PROVIDER_STATE_DIR"] = f"{tmp}/state"
        src = _local(Path(tmp) / "job", data, empties)
        _local(sftp.root / "job", data, empties)
        with IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as s:
            _irods(s, f"{HOME}/job", data, empties)  # the source of the other directions, whatever the code
        steps: list[tuple[str, Callable[[IrodsSession], object]]] = [
            ("local -> iRODS", lambda s: upload_files(s, str(src), f"{HOME}/up")),
            ("iRODS -> local", lambda s: download_files(s, f"{HOME}/job", Path(tmp) / "down")),
            ("iRODS -> iRODS", lambda s: copy_collection(s, f"{HOME}/job", f"{HOME}/copy")),
        ]
        for label, step in steps:
            with (
                counted(label, results),
                IrodsSession(server.base_url, auth=BasicAuth("rods", "rods-emulator")) as s,
            ):
                step(s)
        with counted("SFTP -> iRODS", results):
            SFTPToIrodsOperator(
                task_id="up", sftp_conn_id="cluster", source_path="job", destination_path=f"{HOME}/staged"
            ).execute({})
        with counted("iRODS -> SFTP", results):
            IrodsToSFTPOperator(
                task_id="down", sftp_conn_id="cluster", source_path=f"{HOME}/job", destination_path="back"
            ).execute({})
        made = sorted(p.relative_to(sftp.root / "back").as_posix() for p in (sftp.root / "back").rglob("*"))
        results["empty directories made at the SFTP destination"] = (sum(e in made for e in empties),)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--dirs", type=int, default=6)
    parser.add_argument("--empty", type=int, default=6)
    args = parser.parse_args()
    _counting()
    import irods_provider

    print(f"code: {Path(irods_provider.__file__).parent.parent}", file=sys.stderr)
    print(f"{args.files} files in {args.dirs} directories, {args.empty} empty directories")
    print(f"{'direction':<48}" + "".join(f"{k:>10}" for k in KINDS))
    for label, counts in run(args.files, args.dirs, args.empty).items():
        print(f"{label:<48}" + "".join(f"{n:>10}" for n in counts))


if __name__ == "__main__":
    main()
