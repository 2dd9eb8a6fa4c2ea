"""IrodsToSFTPOperator over a collection another client is still writing into: the complete objects are
staged (and with ``move`` removed), the one being written is left out, reported as skipped with the reason
and kept; a selection whose only match is still being written fails, saying so."""

from __future__ import annotations

import pytest

from irods_provider.client.transfer._leftout import BEING_WRITTEN, NO_GOOD_REPLICA
from irods_provider.exceptions import IrodsNotFoundError
from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

pytestmark = pytest.mark.timeout(60)

HOME = "/tempZone/home/rods"


def down(**kwargs):
    return IrodsToSFTPOperator(task_id="down", sftp_conn_id="cluster", **kwargs).execute({})


def being_written(session, path: str) -> str:
    handle = session.data_objects.parallel_write_init(path, stream_count=1)
    session.data_objects.write(None, b"partial", parallel_write_handle=handle, stream_index=0, offset=0)
    return handle


def test_the_object_in_flight_is_left_for_the_next_run(remote, session, irods) -> None:
    session.collections.create(f"{HOME}/inst")
    session.data_objects.write(f"{HOME}/inst/run1.h5", b"one")
    being_written(session, f"{HOME}/inst/run2.h5")
    being_written(session, f"{HOME}/inst/run0.h5")
    irods.drop_parallel_writes(f"{HOME}/inst/run0.h5")  # its writer died: stale
    report = down(source_path=f"{HOME}/inst/*.h5", glob=True, destination_path=remote.path("got"), move=True)
    assert (report["transferred"], report["skipped"], report["failed"]) == (1, 2, 0)
    (staged,) = [f["destination"] for f in report["files"] if f["status"] == "transferred"]
    got = staged.rpartition("/")[0]  # as the server resolved destination_path
    skipped = [
        (f["source"], f["destination"], f["reason"]) for f in report["files"] if f["status"] == "skipped"
    ]
    assert sorted(skipped) == [
        (f"{HOME}/inst/run0.h5", f"{got}/run0.h5", NO_GOOD_REPLICA),
        (f"{HOME}/inst/run2.h5", f"{got}/run2.h5", BEING_WRITTEN),
    ]
    assert remote.files("got") == {"run1.h5": b"one"}
    names = {e.path for e in session.collections.iterate(f"{HOME}/inst")}
    assert names == {f"{HOME}/inst/run0.h5", f"{HOME}/inst/run2.h5"}  # only the staged one was removed


def test_a_selection_whose_only_match_is_being_written_has_not_arrived(remote, session) -> None:
    session.collections.create(f"{HOME}/only")
    being_written(session, f"{HOME}/only/run1.h5")
    with pytest.raises(IrodsNotFoundError, match="cannot be read yet"):
        down(source_path=f"{HOME}/only/*.h5", glob=True, destination_path=remote.path("none"))


@pytest.mark.parametrize("stored", [False, True], ids=["checksum-asked", "checksum-stored"])
def test_a_write_that_starts_after_the_plan_leaves_that_object_out(
    remote, session, monkeypatch, stored
) -> None:
    """The plan saw it complete (its size known from the listing, so no stat is asked again); another
    client opens it for writing before it is read: its checksum (voting finds no replica: HIERARCHY_ERROR)
    or, with one stored, its reads (HTTP 500) fail, and its replicas say it is being written: left out."""
    from irods_provider.transfers import irods_to_sftp

    session.collections.create(f"{HOME}/late")
    for name in ("a.h5", "b.h5"):
        session.data_objects.write(f"{HOME}/late/{name}", name.encode())
        if stored:
            session.data_objects.calculate_checksum(f"{HOME}/late/{name}")
    engine = irods_to_sftp.download_to_sink

    def rewritten_meanwhile(s, source, *args, **kwargs):
        if source.endswith("b.h5"):
            being_written(session, source)
        return engine(s, source, *args, **kwargs)

    monkeypatch.setattr(irods_to_sftp, "download_to_sink", rewritten_meanwhile)
    report = down(source_path=f"{HOME}/late", destination_path=remote.path("late"), max_concurrent_files=1)
    outcome = {f["source"].rpartition("/")[2]: (f["status"], f["reason"]) for f in report["files"]}
    assert outcome == {"a.h5": ("transferred", None), "b.h5": ("skipped", BEING_WRITTEN)}
    assert remote.files("late") == {"a.h5": b"a.h5"}
