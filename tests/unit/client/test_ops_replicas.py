"""Request builders of the replica calls: parameter names as the 0.7.0 server reads them.

Names pinned from endpoints/data_objects/src/main.cpp at 0.7.0: replicate reads ``lpath``,
``dst-resource``, ``src-resource``, ``src-replica-number``, ``admin``; trim ``lpath``, ``replica-number``,
``catalog-only``, ``admin``; register ``lpath``, ``ppath``, ``resource``, ``as-additional-replica``,
``data-size``, ``checksum``, ``force``; modify_replica ``lpath``, ``resource-hierarchy`` or
``replica-number`` and ``new-data-*`` properties.
"""

from __future__ import annotations

import pytest

from irods_provider.client import _ops_fs as ops
from irods_provider.exceptions import IrodsUsageError


def test_replicate_fields() -> None:
    op = ops.do_replicate("/z/a", "archiveResc", src_replica_number=0, admin=True)
    assert (op.method, op.endpoint, op.idempotent) == ("POST", "data-objects", True)
    assert op.fields == (
        ("op", "replicate"),
        ("lpath", "/z/a"),
        ("dst-resource", "archiveResc"),
        ("src-replica-number", "0"),
        ("admin", "1"),
    )
    assert ("src-resource", "demoResc") in ops.do_replicate("/z/a", "x", src_resource="demoResc").fields


def test_trim_fields_and_not_retried() -> None:
    op = ops.do_trim("/z/a", 2, catalog_only=True)
    assert op.fields == (("op", "trim"), ("lpath", "/z/a"), ("replica-number", "2"), ("catalog-only", "1"))
    assert op.idempotent is False


def test_register_fields() -> None:
    op = ops.do_register(
        "/z/a", "/vault/a", "demoResc", as_additional_replica=True, data_size=5, checksum=True
    )
    assert op.fields == (
        ("op", "register"),
        ("lpath", "/z/a"),
        ("ppath", "/vault/a"),
        ("resource", "demoResc"),
        ("as-additional-replica", "1"),
        ("data-size", "5"),
        ("checksum", "1"),
    )


def test_modify_replica_fields() -> None:
    op = ops.do_modify_replica("/z/a", {"replica_status": 0, "expiry-time": "01700000000"}, replica_number=1)
    assert op.fields == (
        ("op", "modify_replica"),
        ("lpath", "/z/a"),
        ("replica-number", "1"),
        ("new-data-expiry-time", "01700000000"),
        ("new-data-replica-status", "0"),
    )
    older = ops.do_modify_replica(
        "/z/a", {"expiry_time": "01700000000"}, replica_number=1, expiry_param="new-data-expiry"
    )
    assert older.fields[-1] == ("new-data-expiry", "01700000000")
    by_hier = ops.do_modify_replica("/z/a", {"size": 3}, resource_hierarchy="replResc;replResc_ufs0")
    assert ("resource-hierarchy", "replResc;replResc_ufs0") in by_hier.fields


def test_targeting_goes_through_one_function() -> None:
    assert ops.target_fields("x", resource="demoResc", replica_number=1) == {
        "resource": "demoResc",
        "replica_number": 1,
    }
    write = ops.do_write("/z/a", b"x", resource="archiveResc")
    assert ("irods-api-request-resource", "archiveResc") in write.headers
    init = ops.do_parallel_write_init("/z/a", stream_count=2, replica_number=1)
    assert ("replica-number", "1") in init.fields
    for bad in ({"replica_number": -1}, {"resource": ""}, {"resource": "a;b"}, {"resource": "a/b"}):
        with pytest.raises(IrodsUsageError):
            ops.target_fields("data_objects.read", **bad)  # type: ignore[arg-type]
    with pytest.raises(IrodsUsageError):
        ops.do_read("/z/a", replica_number=-2)
