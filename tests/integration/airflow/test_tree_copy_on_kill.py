"""on_kill stops a server-side tree copy (IrodsCopyOperator, IrodsPublishOperator): no new object starts."""

from __future__ import annotations

import threading
import time

import pytest

from irods_provider.exceptions import IrodsTransferCancelledError
from irods_provider.operators.irods import IrodsCopyOperator
from irods_provider.operators.publish import IrodsPublishOperator

HOME = "/tempZone/home/rods"
OBJECTS = 12
SIZE = (1 << 20) + 1  # above the small-file lane's limit: max_concurrent_files=1 copies one at a time


def _count(session, path: str) -> int:
    if not session.collections.exists(path):
        return 0
    return sum(1 for e in session.collections.iterate(path) if not e.path.rsplit("/", 1)[-1].startswith("."))


@pytest.mark.parametrize("kind", ["copy", "publish"])
def test_on_kill_stops_a_tree_copy(irods, session, kind) -> None:
    session.collections.create(f"{HOME}/src")
    for i in range(OBJECTS):
        session.data_objects.write(f"{HOME}/src/f{i:02}.dat", b"x" * SIZE)
    if kind == "copy":
        op = IrodsCopyOperator(
            task_id="c", source_path=f"{HOME}/src", destination_path=f"{HOME}/dst", max_concurrent_files=1
        )
    else:
        op = IrodsPublishOperator(
            task_id="p", source_path=f"{HOME}/src", destination_path=f"{HOME}/dst", max_concurrent_files=1
        )
    irods.set_faults(latency_seconds=0.05)
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(op.execute({}))
        except BaseException as error:  # the test inspects it
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while _count(session, f"{HOME}/dst") < 1:
        assert time.monotonic() < deadline, "the copy never started"
        assert worker.is_alive(), outcome
        time.sleep(0.02)
    op.on_kill()
    worker.join(30)
    irods.set_faults(latency_seconds=0.0)
    assert not worker.is_alive()
    assert isinstance(outcome[0], IrodsTransferCancelledError), outcome
    assert _count(session, f"{HOME}/dst") < OBJECTS
