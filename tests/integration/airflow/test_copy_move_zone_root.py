"""A copy or move whose destination is "/", "//", a zone collection or a name directly under "/" is refused
before any request: iRODS keeps only zone collections at its root. The real server refuses a collection
there (rsCollCreate's validate_logical_path, SYS_INVALID_INPUT_PARAM: irods/irods 4.3.4
server/api/src/rsCollCreate.cpp:70-79, server/core/src/dataObjOpr.cpp:45-70), answered with HTTP 200 by the
HTTP API (irods_client_http_api 0.7.0 endpoints/collections/src/main.cpp:312-370, the filesystem_error
catch); the emulator used to create "/src" and "/a.csv" at the root.
"""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsInvalidPathError, IrodsResponseError
from irods_provider.operators.irods import IrodsCopyOperator, IrodsMoveOperator

HOME = "/tempZone/home/rods"
SYS_INVALID_INPUT_PARAM = -130000  # irods/irods 4.3.4 lib/core/include/irods/rodsErrorTable.h


def run(op):
    class _Ti:
        pass

    ti = _Ti()
    ti.try_number = 1  # type: ignore[attr-defined]
    return op.execute(context={"ti": ti})


def _root_entries(irods_emulator) -> set[str]:
    model = irods_emulator.model
    with model.lock:
        paths = [*model.collections, *model.data_objects]
    return {p for p in paths if p != "/" and p.count("/") == 1}


@pytest.mark.parametrize("intermediates", [False, True])
def test_the_emulator_refuses_a_collection_outside_every_zone(session, irods_emulator, intermediates) -> None:
    with pytest.raises(IrodsResponseError) as refused:
        session.collections.create("/newtop/sub" if intermediates else "/newtop", intermediates=intermediates)
    assert refused.value.irods_code == SYS_INVALID_INPUT_PARAM
    assert refused.value.http_status == 200
    assert _root_entries(irods_emulator) == {"/tempZone"}


@pytest.mark.parametrize("destination", ["/", "//", "/tempZone", "/otherZone", "/a.csv"])
@pytest.mark.parametrize("kind", ["data_object", "collection"])
@pytest.mark.parametrize("operator", [IrodsCopyOperator, IrodsMoveOperator])
def test_a_destination_at_the_root_is_refused_before_any_request(
    session, irods_emulator, operator, kind, destination
) -> None:
    session.collections.create(f"{HOME}/src/sub", intermediates=True)
    session.data_objects.write(f"{HOME}/src/a.csv", b"1,2,3\n")
    source = f"{HOME}/src/a.csv" if kind == "data_object" else f"{HOME}/src"
    with pytest.raises(IrodsInvalidPathError, match="inside a zone") as refused:
        run(operator(task_id="t", source_path=source, destination_path=destination))
    assert refused.value.path in ("/a.csv", "/src", "/tempZone", "/otherZone")
    assert _root_entries(irods_emulator) == {"/tempZone"}
    assert session.data_objects.read(f"{HOME}/src/a.csv") == b"1,2,3\n"
