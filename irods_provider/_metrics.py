"""Metrics for data-access analytics, through Airflow's own metrics layer (StatsD, Datadog or OpenTelemetry).

Names (Airflow adds its ``statsd_prefix``, ``airflow.`` by default) and tags are listed in the README
("Metrics"). Tags reach StatsD only with ``[metrics] statsd_influxdb_enabled`` (or Datadog/OpenTelemetry);
plain StatsD sums each name over all tags. Emitting never fails a task: a broken backend is ignored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from irods_provider.client._events import add_listener

if TYPE_CHECKING:
    from irods_provider.client.transfer import TransferReport

__all__ = ["DIRECTIONS", "incr", "install_metrics", "record_sensor_poll", "record_transfer"]

log = logging.getLogger(__name__)

#: The ``direction`` tag for each transfer direction the operators report.
DIRECTIONS = {
    "local -> iRODS": "upload",
    "iRODS -> local": "download",
    # As HPC sites say it (and the multi-cluster DAG names its tasks): data is staged in to the cluster.
    "iRODS -> SFTP": "stage_in",
    "SFTP -> iRODS": "stage_out",
}
#: Client events forwarded as counters: event name -> metric name.
_CLIENT_COUNTERS = {"retry": "irods.retries", "checksum_mismatch": "irods.checksum_mismatches"}
#: Client events forwarded as timers (milliseconds).
_CLIENT_TIMERS = {"request": "irods.request.duration"}


def _stats() -> Any:
    """Airflow's Stats (imported late: the client and the emulator never load Airflow)."""
    from airflow.sdk.observability.stats import Stats

    return Stats


def incr(name: str, count: int = 1, **tags: str) -> None:
    """Add ``count`` to the counter ``name`` (tags as given)."""
    try:
        _stats().incr(name, count, tags=tags)
    except Exception as error:  # a metrics backend must never fail a transfer
        log.debug("metric %s not sent: %s", name, error)


def _gauge(name: str, value: float, **tags: str) -> None:
    try:
        _stats().gauge(name, value, tags=tags)
    except Exception as error:
        log.debug("metric %s not sent: %s", name, error)


def _timing(name: str, milliseconds: float, **tags: str) -> None:
    try:
        _stats().timing(name, milliseconds, tags=tags)
    except Exception as error:
        log.debug("metric %s not sent: %s", name, error)


def record_transfer(
    report: TransferReport, *, direction: str, conn_id: str, sftp_conn_id: str | None = None
) -> None:
    """Bytes and files moved, skipped and failed, duration and throughput of one transfer report.

    Staging passes its SFTP connection (``sftp_conn_id`` tag): one per cluster, so a deployment staging to
    several clusters through one iRODS connection can tell them apart.
    """
    if report.dry_run:
        return
    tags = {"direction": DIRECTIONS.get(direction, direction.replace(" ", "_")), "conn_id": conn_id}
    if sftp_conn_id is not None:
        tags["sftp_conn_id"] = sftp_conn_id
    counters = {
        "irods.transfer.bytes": report.bytes,
        "irods.transfer.files": report.transferred,
        "irods.transfer.files_skipped": report.skipped,
        "irods.transfer.files_failed": report.failed,
    }
    for name, count in counters.items():
        if count:
            incr(name, count, **tags)
    _timing("irods.transfer.duration", report.seconds * 1000.0, **tags)
    if report.bytes:
        _gauge("irods.transfer.throughput_mb_per_second", report.mb_per_second, **tags)


def record_sensor_poll(
    *, sensor: str, conn_id: str, done: bool, mode: str = "poke", failed: bool = False
) -> None:
    """One poll of an iRODS sensor: in a worker (``mode="poke"``) or by its trigger (``"deferred"``)."""
    outcome = "failed" if failed else "done" if done else "waiting"
    incr("irods.sensor.polls", 1, sensor=sensor, conn_id=conn_id, outcome=outcome, mode=mode)


def _forward(event: str, value: float, tags: dict[str, str]) -> None:
    if event in _CLIENT_COUNTERS:
        incr(_CLIENT_COUNTERS[event], int(value), **tags)
    elif event in _CLIENT_TIMERS:
        _timing(_CLIENT_TIMERS[event], value, **tags)


def install_metrics() -> None:
    """Forward the client's events (retries, checksum mismatches, request latency) to Airflow's metrics."""
    add_listener(_forward)
