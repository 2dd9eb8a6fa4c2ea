"""Where one staging task's fixed cost goes: a timeline of its phases and round trips (``--wan --phases``).

Wraps, in the measuring process only, the calls that cost round trips on a WAN path: every iRODS HTTP
request (``IrodsSession._send`` and ``stream``), every blocking SFTP request (``SFTPClient._request``: one
round trip each), every SSH connection (``SftpEndpoint._open_link``: TCP, key exchange, auth, the SFTP
subsystem) and SFTP channel, and the operators' phases (plan, stage one file, open the source, write the
temporary, verify, publish...). Each call becomes ``(start ms, end ms, thread, label)``; :func:`summary`
sums them per label and counts round trips on the critical path (the main and file worker threads).
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

_events: list[tuple[float, float, str, str]] = []
_t0 = 0.0


def _wrap(owner: Any, name: str, label: Callable[..., str] | str) -> None:
    raw = inspect.getattr_static(owner, name)
    original = raw.__func__ if isinstance(raw, staticmethod | classmethod) else getattr(owner, name)

    @functools.wraps(original)
    def traced(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            text = label(*args, **kwargs) if callable(label) else label
            _events.append((start - _t0, time.perf_counter() - _t0, threading.current_thread().name, text))

    if isinstance(raw, staticmethod):
        setattr(owner, name, staticmethod(traced))
    elif isinstance(raw, classmethod):
        setattr(owner, name, classmethod(traced))
    else:
        setattr(owner, name, traced)


def _wrap_generator(owner: Any, name: str, label: Callable[..., str]) -> None:
    """Like :func:`_wrap` for a generator method: from the call until the first item (the round trip)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def traced(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        first = True
        for item in original(*args, **kwargs):
            if first:
                end = time.perf_counter() - _t0
                _events.append((start - _t0, end, threading.current_thread().name, label(*args, **kwargs)))
                first = False
            yield item

    setattr(owner, name, traced)


def install() -> None:
    """Patch the traced calls (idempotent enough for one process: call once)."""
    global _t0
    import httpx2
    import paramiko
    from paramiko.sftp import CMD_NAMES

    from irods_provider.client import _config, _discovery
    from irods_provider.client._sync._session import IrodsSession
    from irods_provider.client.transfer import _sink_download, _upload
    from irods_provider.hooks.irods import IrodsHook
    from irods_provider.sftp import _endpoint, _file, _pipelined, _ranged, _sink
    from irods_provider.transfers import irods_to_sftp, sftp_to_irods
    from irods_provider.transfers._resume_store import ResumeStore
    from irods_provider.transfers._staging import SftpStagingOperator

    _t0 = time.perf_counter()
    _wrap(IrodsSession, "_send", lambda self, op, *a, **k: f"http {op.name}")
    _wrap_generator(IrodsSession, "stream", lambda self, op, *a, **k: f"http {op.name} (to first byte)")
    _wrap(paramiko.SFTPClient, "_request", lambda self, t, *a: f"sftp {CMD_NAMES.get(t, t)}")
    _wrap(  # requests sent together (one round trip): "sftp stat+mkdir+realpath"
        _pipelined,
        "exchange",
        lambda client, requests: "sftp " + "+".join(str(CMD_NAMES.get(r[0], r[0])) for r in requests),
    )
    _wrap(_endpoint.SftpEndpoint, "_open_link", lambda self, link: f"ssh connect #{link.index}")
    _wrap(_endpoint.SftpEndpoint, "open", "phase endpoint.open")
    _wrap(_endpoint.SftpEndpoint, "widen", "phase endpoint.widen")
    _wrap(_endpoint.SftpEndpoint, "run", lambda self, command, **k: f"ssh exec {command.split()[0]}")
    _wrap(_endpoint, "open_sftp_channels", lambda transport, count: f"sftp channel x{count}")
    _wrap(IrodsHook, "get_conn", "phase irods hook.get_conn")
    _wrap(IrodsHook, "get_connection", "phase airflow get_connection")
    _wrap(_discovery, "discover_api", "phase irods discover version")
    _wrap(_discovery, "_get_info", "http info (version probe)")
    _wrap(IrodsSession, "__init__", "phase irods session init")
    _wrap(_config, "shared_ssl_context", "phase tls context (CA store)")
    _wrap(httpx2.Client, "__init__", "phase httpx2 client init")
    _wrap(SftpStagingOperator, "run_recorded", "phase run files")
    _wrap(SftpStagingOperator, "finish", "phase finish (report, lineage)")
    _wrap(SftpStagingOperator, "record_staging_lineage", "phase lineage")
    for module in (sftp_to_irods.SFTPToIrodsOperator, irods_to_sftp.IrodsToSFTPOperator):
        _wrap(module, "_plan", "phase plan")
        _wrap(module, "_stage", "phase stage one file")
    _wrap(_sink.SftpStagingSink, "destination_state", "phase sftp mkdir + decide")
    _wrap(_sink.SftpStagingSink, "open_temp", "phase open sftp temp")
    _wrap(_sink_download, "_stream", "phase stream bytes")
    _wrap(_sink.SftpStagingSink, "verify", "phase remote sha256sum")
    _wrap(_sink, "publish", "phase publish (sftp rename)")
    _wrap(_sink_download, "verify_checksum", "phase verify irods checksum")
    for caller in (_ranged, _file):  # they import open_source under their own name: wrap it there
        _wrap(caller, "open_source", "phase open sftp source")
    _wrap(_upload, "_choose_temp", "phase choose temp")
    _wrap(_upload, "_upload_to_temp", "phase write temp")
    _wrap(_upload, "_source_change", "phase source check")
    _wrap(_upload, "_finish", "phase finalize + publish")
    _wrap(_upload, "copy", "phase stream bytes")
    _wrap(_upload, "verify_upload", "phase verify irods checksum")
    _wrap(ResumeStore, "save", "resume-store save")
    _wrap(ResumeStore, "load", "resume-store load")
    _wrap(ResumeStore, "drop", "resume-store drop")
    _install_ssh_steps()


def _install_ssh_steps() -> None:
    """The steps of each SSH connection (``ssh step ...``: the Airflow hook, the key exchange, the login, the
    session channel, the SFTP subsystem) and each piece a parallel SFTP read finished (``piece read``):
    where a connection's ~9 round trips go, and when the bytes of the first chunks arrived."""
    import paramiko
    from airflow.providers.ssh.hooks.ssh import SSHHook

    from irods_provider.sftp import _io

    _wrap(SSHHook, "__init__", "ssh step hook init (Airflow connection)")
    _wrap(paramiko.Transport, "start_client", "ssh step key exchange")
    for login in ("auth_publickey", "auth_password"):
        _wrap(paramiko.Transport, login, "ssh step login")
    _wrap(paramiko.Transport, "open_session", "ssh step channel open")
    _wrap(paramiko.Channel, "invoke_subsystem", "ssh step sftp subsystem")
    _wrap(_io.ParallelSftpRangeReader, "finished", "piece read")


def summary(total: float) -> dict[str, Any]:
    """Per label: calls, seconds summed and wall seconds (overlapping calls once); round trips (HTTP
    requests, SFTP requests, SSH connects). Call it right after the measured operation (``total`` seconds)."""
    per: dict[str, dict[str, float]] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for start, end, _thread, label in _events:
        row = per.setdefault(label, {"calls": 0, "seconds": 0.0})
        row["calls"] += 1
        row["seconds"] += end - start
        spans.setdefault(label, []).append((start, end))
    for label, intervals in spans.items():  # wall time: calls running at once count once
        wall, reach = 0.0, float("-inf")
        for start, end in sorted(intervals):
            wall += max(0.0, end - max(start, reach))
            reach = max(reach, end)
        per[label]["wall_seconds"] = wall
    http = sum(int(v["calls"]) for k, v in per.items() if k.startswith("http "))
    begin = time.perf_counter() - _t0 - total
    sftp = sum(int(v["calls"]) for k, v in per.items() if k.startswith("sftp "))
    return {
        "seconds": round(total, 3),
        # When the measured operation started on the timeline (it ended ``total`` seconds later, just now):
        # what aligns two runs' timelines (an operator's and its leg's).
        "start_ms": round(begin * 1000),
        "http_requests": http,
        "sftp_blocking_requests": sftp,
        "ssh_connections": int(sum(v["calls"] for k, v in per.items() if k.startswith("ssh connect"))),
        **_write_ramp(begin),
        "per_label": {
            k: {
                "calls": int(v["calls"]),
                "seconds": round(v["seconds"], 3),
                "wall": round(v["wall_seconds"], 3),
            }
            for k, v in per.items()
        },
        "timeline": [[round(s * 1000), round(e * 1000), t, label] for s, e, t, label in sorted(_events)],
    }


def _write_ramp(begin: float) -> dict[str, int | None]:
    """When (ms from the operation's start) the first iRODS write left, when every write stream had sent
    one (the parallel upload at full width), and when the last write was answered: a task's fixed cost
    shows as the first two, beside its iRODS leg's."""
    writes = sorted((s, e, t) for s, e, t, label in _events if label == "http data_objects.write")
    firsts: dict[str, float] = {}
    for start, _end, thread in writes:
        firsts.setdefault(thread, start)
    at = {
        "first_write_ms": writes[0][0] if writes else None,
        "all_streams_writing_ms": max(firsts.values()) if firsts else None,
        "last_write_answered_ms": max(e for _s, e, _t in writes) if writes else None,
    }
    return {key: None if value is None else round((value - begin) * 1000) for key, value in at.items()}


__all__ = ["install", "summary"]
