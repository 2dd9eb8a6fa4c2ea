"""The ranged reader's request sizes (:func:`request_size`): a ramp up to the chunk size, a taper at the end,
every byte requested once and in order, no request over the chunk size (the pooled buffers' size)."""

from __future__ import annotations

import pytest

from irods_provider.client.transfer._reader import RAMP_FLOOR, request_size

KIB, MIB = 1024, 1024 * 1024


def plan(size: int, *, chunk: int, streams: int) -> list[int]:
    """The sizes of the ranged reads of a ``size``-byte read, in order."""
    sizes: list[int] = []
    while (done := sum(sizes)) < size:
        sizes.append(request_size(len(sizes), size - done, chunk_size=chunk, streams=streams))
    return sizes


def test_the_first_requests_ramp_up_linearly_to_the_chunk_size() -> None:
    sizes = plan(256 * MIB, chunk=8 * MIB, streams=3)
    # chunk * (j + 1) / 6, 64 KiB aligned: the streams start together and finish a third of a chunk apart.
    assert sizes[:7] == [1344 * KIB, 2688 * KIB, 4 * MIB, 5440 * KIB, 6784 * KIB, 8 * MIB, 8 * MIB]
    assert sum(sizes) == 256 * MIB


def test_the_last_requests_shrink_by_a_share_of_a_chunk() -> None:
    sizes = plan(256 * MIB, chunk=8 * MIB, streams=3)
    # (remaining + chunk) / streams: each one a third of a chunk smaller than the one before.
    assert sizes[-4:] == [8 * MIB, 6848 * KIB, 4544 * KIB, 1 * MIB]
    assert sizes.count(8 * MIB) == len(sizes) - 8  # 5 ramp requests, 3 taper ones: 36 requests, not 32


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, []),
        (100, [100]),
        (RAMP_FLOOR + 1, [RAMP_FLOOR + 1]),  # no runt request under the floor
        (3 * MIB, [1344 * KIB, 1728 * KIB]),  # two streams at once, not one
        (8 * MIB, [1344 * KIB, 2688 * KIB, 4160 * KIB]),
    ],
)
def test_small_reads_take_few_requests_none_under_the_floor(size: int, expected: list[int]) -> None:
    assert plan(size, chunk=8 * MIB, streams=3) == expected


@pytest.mark.parametrize("chunk", [64 * KIB, 1 * MIB])
def test_a_chunk_size_at_or_under_the_floor_reads_whole_chunks(chunk: int) -> None:
    assert plan(10 * chunk + 7, chunk=chunk, streams=3) == [chunk] * 10 + [7]


@pytest.mark.parametrize("streams", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("size", [1, 5 * MIB - 1, 17 * MIB + 3, 100 * MIB + 12_345])
def test_every_plan_covers_the_bytes_once_within_the_chunk_size(streams: int, size: int) -> None:
    sizes = plan(size, chunk=4 * MIB, streams=streams)
    assert sum(sizes) == size
    assert all(0 < s <= 4 * MIB for s in sizes)
    assert all(s >= RAMP_FLOOR for s in sizes[:-1])
