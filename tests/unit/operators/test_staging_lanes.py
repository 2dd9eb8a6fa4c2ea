"""How many SSH connections and files at once a staging plan gets: small files in a wide lane, as many as the
connections carry channels (OpenSSH's ``MaxSessions`` is 10 per connection; we use at most 8)."""

from __future__ import annotations

from dataclasses import dataclass

from irods_provider.client.transfer._config import TransferConfig
from irods_provider.client.transfer._runner import Lanes, plan_lanes
from irods_provider.sftp._endpoint import CHANNELS_PER_CONNECTION
from irods_provider.transfers._staging import auto_connections, staging_lanes

KIB, MIB = 1024, 1024 * 1024


@dataclass
class Planned:
    source: str
    destination: str
    size: int | None


@dataclass
class Endpoint:
    connections: int
    channels_per_connection: int = CHANNELS_PER_CONNECTION


def plan(*sizes: int) -> list[Planned]:
    return [Planned(f"s{i}", f"d{i}", size) for i, size in enumerate(sizes)]


def test_many_small_files_open_connections_for_their_channels() -> None:
    assert CHANNELS_PER_CONNECTION == 8  # below OpenSSH's default MaxSessions 10: room for a command
    assert auto_connections([4 * KIB] * 9) == 1  # one connection carries 8 at once: no login for the 9th
    assert auto_connections([4 * KIB] * 20) == 2  # the lane's first width, 16
    assert auto_connections([4 * KIB] * 63) == 2
    assert auto_connections([4 * KIB] * 64) == 4  # from 64: room for the adaptive lane to grow to 32
    assert auto_connections([4 * KIB] * 1000) == 4
    assert auto_connections([4 * KIB] * 100_000) == 6  # 390 MiB in all: the bytes rule, as before
    assert auto_connections([MIB] * 20) == 2  # 1 MiB is still small
    assert auto_connections([MIB + 1] * 20) == 1  # 20 MiB of large files: bytes decide, 4 at once
    assert auto_connections([256 * MIB] + [4 * KIB] * 100, irods_connections=6) == 6  # bytes decide
    assert auto_connections([10 * MIB] * 4 + [4 * KIB] * 12) == 2  # 4 large + 12 small at once


def test_staging_lanes_fit_the_connections_channels() -> None:
    config = TransferConfig()
    lanes = staging_lanes(plan(*[4 * KIB] * 100), config, Endpoint(4))  # type: ignore[arg-type]
    assert lanes.adaptive is not None
    assert (lanes.large, lanes.adaptive.limit, lanes.adaptive.maximum) == (4, 16, 32)
    assert staging_lanes(plan(*[4 * KIB] * 100), config, Endpoint(1)) == Lanes(4, 8, MIB)  # type: ignore[arg-type]
    # Two large files take a channel on each of the 4 connections: 32 - 2 x 4 left for small ones.
    lanes = staging_lanes(plan(64 * MIB, 64 * MIB, *[4 * KIB] * 100), config, Endpoint(4))  # type: ignore[arg-type]
    assert lanes.adaptive is not None
    assert (lanes.adaptive.limit, lanes.adaptive.maximum) == (16, 24)
    pinned = TransferConfig(max_concurrent_small_files=40)  # the user's pin: the channels then pace it
    assert staging_lanes(plan(*[4 * KIB] * 100), pinned, Endpoint(1)) == Lanes(4, 40, MIB)  # type: ignore[arg-type]


def test_plan_lanes_capacity_caps_the_small_lane_beside_the_large_files() -> None:
    sizes = [4 * KIB] * 50 + [8 * MIB] * 2
    lanes = plan_lanes(sizes, TransferConfig(), capacity=20)
    assert lanes.adaptive is not None
    assert (lanes.adaptive.limit, lanes.adaptive.maximum) == (16, 18)  # 20 at once, 2 of them large
    assert plan_lanes(sizes, TransferConfig(), capacity=10) == Lanes(4, 8, MIB)
    lanes = plan_lanes(sizes, TransferConfig())
    assert lanes.adaptive is not None
    assert lanes.adaptive.maximum == 50  # no capacity: the plan's count
