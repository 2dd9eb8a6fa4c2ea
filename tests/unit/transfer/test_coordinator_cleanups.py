"""The coordinator's failure-cleanup registry: run once, newest first, each told the transfer's error;
a cleanup's own error is logged and masks nothing; success (or withdrawing one) drops them."""

from __future__ import annotations

import logging

from irods_provider.client.transfer import TransferCoordinator, TransferStatus
from irods_provider.exceptions import IrodsTransferCancelledError


def _recorder(calls: list[tuple[str, BaseException | None]], name: str):
    return lambda cause: calls.append((name, cause))


def test_cleanups_run_newest_first_each_told_the_error() -> None:
    coordinator = TransferCoordinator(path="/z/a.bin")
    calls: list[tuple[str, BaseException | None]] = []
    for name in ("temporary", "handle", "moved-aside"):
        coordinator.add_failure_cleanup(_recorder(calls, name))
    error = OSError("disk gone")
    coordinator.run_failure_cleanups(error)
    assert calls == [("moved-aside", error), ("handle", error), ("temporary", error)]


def test_cleanups_run_once() -> None:
    coordinator = TransferCoordinator(path="/z/a.bin")
    calls: list[tuple[str, BaseException | None]] = []
    coordinator.add_failure_cleanup(_recorder(calls, "temporary"))
    coordinator.run_failure_cleanups(None)
    coordinator.run_failure_cleanups(OSError("again"))
    assert calls == [("temporary", None)]


def test_a_failing_cleanup_is_logged_and_neither_masks_nor_stops_the_others(caplog) -> None:
    coordinator = TransferCoordinator(path="/z/a.bin")
    calls: list[tuple[str, BaseException | None]] = []

    def broken(cause: BaseException | None) -> None:
        raise RuntimeError("remove refused")

    coordinator.add_failure_cleanup(_recorder(calls, "temporary"))
    coordinator.add_failure_cleanup(broken)
    coordinator.add_failure_cleanup(_recorder(calls, "handle"))
    error = ValueError("the transfer's own error")
    caplog.set_level(logging.WARNING, logger="irods_provider.client.transfer._coordinator")
    coordinator.run_failure_cleanups(error)  # returns: the caller goes on to raise its own error
    assert calls == [("handle", error), ("temporary", error)]
    [record] = caplog.records
    assert "/z/a.bin" in record.getMessage()
    assert "remove refused" in record.getMessage()


def test_succeed_drops_the_cleanups() -> None:
    coordinator = TransferCoordinator(path="/z/a.bin")
    calls: list[tuple[str, BaseException | None]] = []
    coordinator.add_failure_cleanup(_recorder(calls, "temporary"))
    coordinator.succeed()
    coordinator.run_failure_cleanups(OSError("late"))
    assert calls == []
    assert coordinator.status is TransferStatus.SUCCEEDED


def test_a_withdrawn_cleanup_does_not_run_and_withdrawing_twice_is_harmless() -> None:
    coordinator = TransferCoordinator(path="/z/a.bin")
    calls: list[tuple[str, BaseException | None]] = []
    coordinator.add_failure_cleanup(_recorder(calls, "temporary"))
    withdraw = coordinator.add_failure_cleanup(_recorder(calls, "handle"))
    withdraw()
    withdraw()
    cancelled = IrodsTransferCancelledError("transfer cancelled", path="/z/a.bin")
    coordinator.run_failure_cleanups(cancelled)
    assert calls == [("temporary", cancelled)]
