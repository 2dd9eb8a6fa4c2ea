"""The connection's ``default_resource`` for the writers a first pass left out: IrodsCreateObjectOperator and
the hook's ``write_bytes``/``write_text``/``upload_file`` wrote every object to the server's default resource
(``demoResc``), whatever the extra said ("Resource for the data objects operators write when the task names
none", the connection form). Replica layouts are read from the catalog (``data_objects.replicas``)."""

from __future__ import annotations

import os

from irods_provider.hooks.irods import IrodsHook
from irods_provider.operators.catalog import IrodsCreateObjectOperator

HOME = "/tempZone/home/rods"
ARCHIVE = ["archiveResc:1"]
REPL = ["replResc;replResc_ufs0:1", "replResc;replResc_ufs1:1"]


def hierarchies(session, path: str) -> list[str]:
    return [f"{r.hierarchy}:{r.status}" for r in session.data_objects.replicas(path)]


def test_create_object_operator_writes_to_the_default_resource(zone, session) -> None:
    cases = (("irods_archive", ARCHIVE), ("irods_repl", REPL), ("irods_default", ["demoResc:1"]))
    for conn_id, layout in cases:
        path = f"{HOME}/created/{conn_id}.json"
        result = IrodsCreateObjectOperator(
            task_id="create", irods_conn_id=conn_id, path=path, content='{"k": 1}'
        ).execute({})
        assert result["size"] == 8
        assert hierarchies(session, path) == layout
        assert session.data_objects.read(path) == b'{"k": 1}'


def test_hook_write_shortcuts_write_to_the_default_resource(zone, session, tmp_path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)  # several chunks: the parallel writer, not one request
    (tmp_path / "big.bin").write_bytes(data)
    with IrodsHook("irods_archive") as hook:
        hook.write_bytes(f"{HOME}/hook/a.bin", b"bytes")
        hook.write_text(f"{HOME}/hook/b.txt", "text")
        hook.upload_file(tmp_path / "big.bin", f"{HOME}/hook/big.bin")
    for name in ("a.bin", "b.txt", "big.bin"):
        assert hierarchies(session, f"{HOME}/hook/{name}") == ARCHIVE
    assert session.data_objects.read(f"{HOME}/hook/big.bin") == data
