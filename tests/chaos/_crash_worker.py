"""Write paths of the crash-consistency harness and the fork server that runs them in killable workers.

Run as a script it is a *zygote*: it imports the provider once, then for each job line read from stdin
(JSON: ``{"path": <write path>, "args": {...}}``) forks a child, prints ``pid <n>``, lets the child start
when the parent answers ``go`` (so the parent knows whom to kill before the first request), waits for it
and prints ``exit <returncode>`` (``-9`` when killed). Forking a warm, single-threaded process costs
milliseconds where a fresh interpreter with Airflow costs seconds.

Imported by the test it provides the same write paths (:data:`WRITE_PATHS`), run in-process for the retry.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from irods_provider.client import BasicAuth, IrodsSession
from irods_provider.client.transfer import (
    OverwritePolicy,
    TransferConfig,
    download_object,
    open_writer,
    parallel_upload,
    upload_object,
)

KIB = 1024
CHUNK = 64 * KIB
RAMP_CHUNK = 512 * KIB
STREAMS = 3
CONN_ID = "irods_default"


def _session(args: dict[str, Any]) -> IrodsSession:
    # Plain HTTP to 127.0.0.1: no TLS context to build (that alone costs ~0.1 s per session).
    return IrodsSession(args["base_url"], auth=BasicAuth(args["user"], args["password"]), verify=False)


def _config() -> TransferConfig:
    # A checkpoint of the committed prefix after every chunk, so a killed upload has one to resume from.
    return TransferConfig(
        chunk_size=CHUNK, small_file_threshold=CHUNK, streams=STREAMS, resume_checkpoint_bytes=CHUNK
    )


def run_upload_object(args: dict[str, Any]) -> dict[str, Any]:
    """Client ``upload_object`` (local path, atomic publish, resume), overwrite on a retry."""
    with _session(args) as session:
        result = upload_object(
            session, args["local"], args["remote"], config=_config(), overwrite=OverwritePolicy.OVERWRITE
        )
    return {"resumed_from": result.resumed_from}


def run_upload_object_ramp(args: dict[str, Any]) -> dict[str, Any]:
    """``upload_object`` with chunks of ``RAMP_CHUNK``: its first two chunks go out as the writer's ramp
    (64, 64, 64, 128, 192 | 256, 256 KiB over three streams; 64 KiB chunks are too small to ramp), each
    request checkpointed."""
    cfg = replace(_config(), chunk_size=RAMP_CHUNK, small_file_threshold=RAMP_CHUNK)
    with _session(args) as session:
        result = upload_object(
            session, args["local"], args["remote"], config=cfg, overwrite=OverwritePolicy.OVERWRITE
        )
    return {"resumed_from": result.resumed_from}


def run_parallel_upload(args: dict[str, Any]) -> dict[str, Any]:
    """Client ``parallel_upload`` from an open file object."""
    with _session(args) as session, open(args["local"], "rb") as fh:
        parallel_upload(session, fh, args["remote"], config=_config(), size=os.fstat(fh.fileno()).st_size)
    return {}


def run_open_writer(args: dict[str, Any]) -> dict[str, Any]:
    """Client ``open_writer``: the bytes written in 10 KiB pieces, then closed."""
    with open(args["local"], "rb") as fh:
        data = fh.read()
    with _session(args) as session:
        writer = open_writer(session, args["remote"], config=_config(), size=len(data))
        with writer:
            for i in range(0, len(data), 10 * KIB):
                writer.write(data[i : i + 10 * KIB])
    return {}


def _fs(args: dict[str, Any]) -> Any:
    from irods_provider.fs import IrodsFileSystem

    return IrodsFileSystem(
        base_url=args["base_url"],
        username=args["user"],
        password=args["password"],
        chunk_size=CHUNK,
        streams=STREAMS,
        skip_instance_cache=True,
    )


def run_fs_put(args: dict[str, Any]) -> dict[str, Any]:
    """fsspec ``put`` of one local file."""
    fs = _fs(args)
    try:
        fs.put(args["local"], args["remote"])
    finally:
        fs.close_session()
    return {}


def run_fs_open_wb(args: dict[str, Any]) -> dict[str, Any]:
    """fsspec ``open(path, "wb")`` written in 10 KiB pieces."""
    with open(args["local"], "rb") as fh:
        data = fh.read()
    fs = _fs(args)
    try:
        with fs.open(args["remote"], "wb") as out:
            for i in range(0, len(data), 10 * KIB):
                out.write(data[i : i + 10 * KIB])
    finally:
        fs.close_session()
    return {}


def run_local_to_irods(args: dict[str, Any]) -> dict[str, Any]:
    """``LocalToIrodsOperator.execute`` of one file into a collection (skip by checksum, as a re-run)."""
    from irods_provider.operators.transfer import LocalToIrodsOperator

    report = LocalToIrodsOperator(
        task_id="up",
        irods_conn_id=args.get("conn_id", CONN_ID),
        source_path=args["local"],
        destination_path=args["remote_dir"],
        chunk_size=CHUNK,
        streams=STREAMS,
        skip="checksum",
        overwrite=args.get("overwrite", False),
    ).execute({})
    return {"files": [{k: f.get(k) for k in ("status", "resumed_from")} for f in report["files"]]}


def run_local_to_irods_overwrite(args: dict[str, Any]) -> dict[str, Any]:
    """:func:`run_local_to_irods` with ``overwrite=True``: an older object there is replaced."""
    return run_local_to_irods({**args, "overwrite": True})


def run_download_object(args: dict[str, Any]) -> dict[str, Any]:
    """Client ``download_object`` onto a local path (overwrite on a retry)."""
    with _session(args) as session:
        download_object(
            session, args["remote"], args["local"], config=_config(), overwrite=OverwritePolicy.OVERWRITE
        )
    return {}


def run_irods_to_local(args: dict[str, Any]) -> dict[str, Any]:
    """``IrodsToLocalOperator.execute`` of one object into a local directory (skip by checksum)."""
    from irods_provider.operators.transfer import IrodsToLocalOperator

    IrodsToLocalOperator(
        task_id="down",
        irods_conn_id=args.get("conn_id", CONN_ID),
        source_path=args["remote"],
        destination_path=args["local_dir"],
        chunk_size=CHUNK,
        streams=STREAMS,
        skip="checksum",
    ).execute({})
    return {}


def _staged(operator: type[Any], args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A staging operator's ``execute`` over two SSH connections to the ``crash_sftp`` server (skip by
    checksum, as a re-run), with ``args["env"]`` (the SFTP connection, the resume-state directory) set for
    the call only."""
    from unittest import mock

    with mock.patch.dict(os.environ, args["env"]):
        report = operator(
            irods_conn_id=args.get("conn_id", CONN_ID),
            sftp_conn_id="crash_sftp",
            chunk_size=CHUNK,
            streams=STREAMS,
            sftp_connections=2,
            sftp_retry_backoff=0.05,
            skip="checksum",
            **kwargs,
        ).execute({})
    return {"files": [{k: f.get(k) for k in ("status", "resumed_from")} for f in report["files"]]}


def run_irods_to_sftp(args: dict[str, Any]) -> dict[str, Any]:
    """``IrodsToSFTPOperator`` of one object onto the SFTP server (each chunk written at its offset as its
    read completes), resumable unless ``args["resume"]`` is false."""
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

    return _staged(
        IrodsToSFTPOperator,
        args,
        task_id="down",
        source_path=args["remote"],
        destination_path=args["sftp_path"],
        resume=args.get("resume", True),
    )


def run_sftp_to_irods(args: dict[str, Any]) -> dict[str, Any]:
    """``SFTPToIrodsOperator`` of one file on the SFTP server into a collection."""
    from irods_provider.transfers.sftp_to_irods import SFTPToIrodsOperator

    return _staged(
        SFTPToIrodsOperator,
        args,
        task_id="up",
        source_path=args["sftp_path"],
        destination_path=args["remote_dir"],
    )


def run_irods_to_sftp_no_resume(args: dict[str, Any]) -> dict[str, Any]:
    """:func:`run_irods_to_sftp` without resume: a killed attempt's temporary is removed, not resumed."""
    return run_irods_to_sftp({**args, "resume": False})


WRITE_PATHS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "upload_object": run_upload_object,
    "upload_object_ramp": run_upload_object_ramp,
    "upload_object_in_place": run_upload_object,  # as a user who may write the older object, not rename it
    "parallel_upload": run_parallel_upload,
    "open_writer": run_open_writer,
    "fs_put": run_fs_put,
    "fs_open_wb": run_fs_open_wb,
    "local_to_irods_operator": run_local_to_irods,
    "local_to_irods_operator_overwrite": run_local_to_irods_overwrite,
    "download_object": run_download_object,
    "irods_to_local_operator": run_irods_to_local,
    "irods_to_sftp_operator": run_irods_to_sftp,
    "irods_to_sftp_operator_no_resume": run_irods_to_sftp_no_resume,
    "sftp_to_irods_operator": run_sftp_to_irods,
}


QUIET_LOGGERS = ("httpx2", "httpx", "irods_provider", "airflow.task")


def quiet() -> None:
    """One log line per HTTP request costs more than the request on this scale: keep warnings only."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _child(job: dict[str, Any], go: int) -> None:
    os.read(go, 1)
    try:
        WRITE_PATHS[job["path"]](job["args"])
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def serve() -> None:
    """The zygote loop (see the module docstring)."""
    out = os.fdopen(os.dup(1), "w")  # the protocol; anything else printed (Airflow's logs) goes to stderr
    os.dup2(2, 1)
    import irods_provider.fs  # warm imports, shared by every child
    import irods_provider.operators.transfer
    import irods_provider.transfers.irods_to_sftp
    import irods_provider.transfers.sftp_to_irods  # noqa: F401

    quiet()
    gc.freeze()  # children do not touch (and so copy) the warm heap's pages when they collect
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        job = json.loads(line)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(write_end)
            _child(job, read_end)
        os.close(read_end)
        out.write(f"pid {pid}\n")
        out.flush()
        answer = sys.stdin.readline().strip()
        if answer == "go":
            os.write(write_end, b"g")
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        out.write(f"exit {os.waitstatus_to_exitcode(status)}\n")
        out.flush()


if __name__ == "__main__":
    serve()
