"""IrodsReplicateOperator and IrodsTrimOperator on a large collection keep their XCom result bounded, as the
listing, copy and transfer operators do: every path they touched went to XCom (a run's 100 000 objects are
megabytes of JSON in the metadata database). Each list keeps its leading paths within ``max_report_bytes`` of
JSON (one budget for the whole result); ``<list>_count`` is always complete and ``truncated`` says whether
paths were left out. The replica layout is read back from the catalog."""

from __future__ import annotations

import json

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.operators.replicas import IrodsReplicateOperator, IrodsTrimOperator

HOME = "/tempZone/home/rods"
RUN = f"{HOME}/run-with-a-rather-long-collection-name-for-every-object"
# ~300 bytes of JSON per path: 240 paths are about 72 KB, over the 48 KiB default budget, with a third of the
# objects (and requests) 95-byte paths would need. Each name stays under the vault's 255-byte component limit.
PAD = "-take-with-a-descriptive-name" * 7
N = 240


@pytest.fixture
def run_tree(session) -> list[str]:
    session.collections.create(RUN, intermediates=True)
    paths = [f"{RUN}/frame-{i:05d}{PAD}.tif" for i in range(N)]
    assert len(json.dumps(paths)) > 48 * 1024 * 1.4
    for path in paths:
        session.data_objects.write(path, b"f")
    return paths


def test_replicate_and_trim_report_bounded_lists_with_full_counts(zone, session, run_tree) -> None:
    replicated = IrodsReplicateOperator(task_id="rep", path=RUN, resource="archiveResc").execute({})
    assert len(json.dumps(replicated)) < 64 * 1024
    assert (replicated["replicated_count"], replicated["already_good_count"]) == (N, 0)
    assert replicated["truncated"] is True
    assert 0 < len(replicated["replicated"]) < N
    assert replicated["replicated"] == run_tree[: len(replicated["replicated"])]
    assert all(
        [r.root for r in session.data_objects.replicas(p)] == ["demoResc", "archiveResc"] for p in run_tree
    )

    again = IrodsReplicateOperator(task_id="rep", path=RUN, resource="archiveResc", max_report_bytes=0)
    result = again.execute({})
    assert (result["replicated"], result["already_good"]) == ([], [])
    assert (result["replicated_count"], result["already_good_count"], result["truncated"]) == (0, N, True)

    trimmed = IrodsTrimOperator(task_id="trim", path=RUN, resource="demoResc").execute({})
    assert len(json.dumps(trimmed)) < 64 * 1024
    assert (trimmed["trimmed_count"], trimmed["untouched_count"], trimmed["truncated"]) == (N, 0, True)
    assert [t["path"] for t in trimmed["trimmed"]] == run_tree[: len(trimmed["trimmed"])]
    assert all([r.root for r in session.data_objects.replicas(p)] == ["archiveResc"] for p in run_tree)


def test_a_small_run_reports_everything(zone, session) -> None:
    session.data_objects.write(f"{HOME}/one.csv", b"1")
    result = IrodsReplicateOperator(task_id="rep", path=f"{HOME}/one.csv", resource="archiveResc").execute({})
    assert result["replicated"] == [f"{HOME}/one.csv"]
    assert (result["replicated_count"], result["truncated"]) == (1, False)
    with pytest.raises(IrodsUsageError, match="max_report_bytes"):
        IrodsTrimOperator(task_id="t", path=f"{HOME}/one.csv", resource="x", max_report_bytes=-1).execute({})
