"""The example DAGs under a real CeleryExecutor deployment: Redis broker, two workers of concurrency 2."""

from __future__ import annotations

from collections import Counter
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
    # Counted per worker, not timed: both workers ran staging tasks and every task ran on one of them.
    staged = Counter(t.hostname for t in stage_in)
    assert set(staged) == {"worker-1", "worker-2"}, [(t.key, t.hostname) for t in stage_in]
    assert sum(staged.values()) == 4
    ran = Counter(t.hostname for t in multi.tasks + basic.tasks)
    assert set(ran) == {"worker-1", "worker-2"}, ran
    assert sum(ran.values()) == len(multi.tasks) + len(basic.tasks) == 18 + 9


def test_no_secret_in_any_task_log(dep: Deployment) -> None:
    assert c.assert_no_secrets_in_task_logs(dep) >= 10
