"""The example DAGs under a real CeleryExecutor deployment: Redis broker, two workers of concurrency 2."""

from __future__ import annotations

from collections.abc import Iterator

import _live_checks as c
import pytest
from _live.deploy import Deployment

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    yield from c.start_deployment(executor="celery", clusters=4, workers=2, worker_concurrency=2)


def test_both_example_dags_succeed_with_staging_spread_over_both_workers(dep: Deployment) -> None:
    multi, basic = c.run_both_dags(dep, mib=8)
    c.assert_succeeded(multi, expected_tasks=1 + 4 * 4 + 1, dep=dep)
    c.assert_succeeded(basic, expected_tasks=9, dep=dep)
    stage_in = [t for t in multi.tasks if t.task_id == "stage_in"]
    assert sorted(t.map_index for t in stage_in) == [0, 1, 2, 3]
    assert {t.hostname for t in stage_in} == {"worker-1", "worker-2"}, [(t.key, t.hostname) for t in stage_in]
    assert c.overlapping(stage_in), [(t.key, t.hostname, t.start, t.end) for t in stage_in]
    hosts = {t.hostname for t in multi.tasks + basic.tasks}
    assert hosts == {"worker-1", "worker-2"}


def test_no_secret_in_any_task_log(dep: Deployment) -> None:
    assert c.assert_no_secrets_in_task_logs(dep) >= 10
