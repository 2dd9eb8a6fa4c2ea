import json

import httpx2
import pytest

from irods_provider.client import AVU, MetadataOperation, PermissionOperation, ServerLimits, build_base_url
from irods_provider.client import _ops_fs as ops
from irods_provider.client import _ops_misc as misc
from irods_provider.client._operation import Reply, decode_reply, request_arguments
from irods_provider.exceptions import (
    IrodsAlreadyExistsError,
    IrodsConfigurationError,
    IrodsInvalidPathError,
    IrodsNotADataObjectError,
    IrodsProtocolError,
    IrodsResponseError,
    IrodsUsageError,
)

BASE = "http://h:1/irods-http-api/0.7.0"


def build(op, token="tok"):
    return httpx2.Client().build_request(**request_arguments(op, base_url=BASE, token=token))


def ok(**extra):
    return Reply(200, {}, json.dumps({"irods_response": {"status_code": 0}, **extra}).encode())


def test_base_url():
    assert build_base_url(host="irods.example", port=443) == "https://irods.example:443/irods-http-api/0.7.0"
    assert build_base_url(host="h", scheme="http", path_prefix="/api/", version="0.6.0") == (
        "http://h/api/irods-http-api/0.6.0"
    )
    assert build_base_url(host="::1", port=9000).startswith("https://[::1]:9000/")
    with pytest.raises(IrodsConfigurationError):
        build_base_url(host="h", scheme="ftp")


def test_get_encodes_hostile_characters_in_query_string():
    request = build(ops.coll_stat("/z/a b&c=d%#'é", ticket="T1"))
    assert request.method == "GET"
    assert request.headers["authorization"] == "Bearer tok"
    params = dict(request.url.params)
    assert params == {"op": "stat", "lpath": "/z/a b&c=d%#'é", "ticket": "T1"}
    assert "=d" not in request.url.query.decode().split("lpath=")[1].split("&")[0].replace("%3D", "")


def test_get_refuses_plus():
    with pytest.raises(IrodsInvalidPathError, match=r"\+"):
        ops.do_stat("/z/a+b")
    with pytest.raises(IrodsInvalidPathError):
        ops.coll_list("/z/a", ticket="a+b")


def test_posts_are_multipart_and_carry_plus_intact():
    request = build(ops.coll_create("/z/a+b c", intermediates=True))
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = request.read().decode()
    assert 'name="op"\r\n\r\ncreate\r\n' in body
    assert 'name="lpath"\r\n\r\n/z/a+b c\r\n' in body
    assert 'name="create-intermediates"\r\n\r\n1\r\n' in body


def test_metadata_operations_json_in_multipart():
    avus = [MetadataOperation("add", AVU("a+b", "v=1&x", "u")), MetadataOperation("remove", AVU("k", "it's"))]
    request = build(ops.modify_metadata("collections", "/z/c", avus))
    body = request.read().decode()
    payload = body.split('name="operations"\r\n\r\n')[1].split("\r\n--")[0]
    assert json.loads(payload) == [
        {"operation": "add", "attribute": "a+b", "value": "v=1&x", "units": "u"},
        {"operation": "remove", "attribute": "k", "value": "it's"},
    ]


def test_header_form_write_sends_raw_body():
    op = ops.do_write("/z/a+b", b"\x00+\xff=&", offset=10, truncate=False)
    request = build(op)
    assert request.headers["irods-api-request-op"] == "write"
    assert request.headers["irods-api-request-lpath"] == "/z/a+b"
    assert request.headers["irods-api-request-offset"] == "10"
    assert request.headers["irods-api-request-truncate"] == "0"
    assert request.read() == b"\x00+\xff=&"
    assert op.idempotent
    assert not ops.do_write("/z/a", b"x", append=True).idempotent


def test_non_ascii_write_falls_back_to_multipart_with_binary_bytes():
    request = build(ops.do_write("/z/é", b"\x00\xff"))
    body = request.read()
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="bytes"\r\n' in body
    assert b"\r\n\r\n\x00\xff\r\n" in body
    assert "/z/é".encode() in body


@pytest.mark.parametrize("path", ["/z/report ", "/z/two  spaces  "])
def test_write_of_a_path_ending_in_a_space_falls_back_to_multipart(path: str) -> None:
    """A header value may not end in a space (RFC 9110 field-value, h11): such a path goes as a form."""
    request = build(ops.do_write(path, b"\x00 "))
    body = request.read()
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert f'name="lpath"\r\n\r\n{path}\r\n'.encode() in body
    assert b"\r\n\r\n\x00 \r\n" in body
    # Inner spaces are fine in a header value: that write keeps the header form.
    assert build(ops.do_write("/z/inner space", b"")).headers["irods-api-request-lpath"] == "/z/inner space"


@pytest.mark.parametrize(
    "op",
    [
        ops.do_copy("/z/src", "/z/dst"),
        ops.do_rename("/z/src", "/z/dst"),
        ops.coll_rename("/z/src", "/z/dst"),
    ],
    ids=lambda op: op.name,
)
def test_an_existing_target_is_named_by_already_exists_other_errors_name_the_source(op) -> None:
    """OVERWRITE_WITHOUT_FORCE_FLAG, CAT_NAME_EXISTS_AS_*: the target exists; a missing source: the source."""
    for code in (-312000, -833000, -834000):
        body = json.dumps({"irods_response": {"status_code": code}}).encode()
        with pytest.raises(IrodsAlreadyExistsError) as exists:
            decode_reply(op, Reply(200, {}, body))
        assert (exists.value.path, exists.value.operation) == ("/z/dst", op.name)
    missing = json.dumps({"irods_response": {"status_code": -808000}}).encode()  # CAT_NO_ROWS_FOUND
    with pytest.raises(IrodsResponseError) as not_there:
        decode_reply(op, Reply(200, {}, missing))
    assert not_there.value.path == "/z/src"


def test_parallel_write_with_handle():
    request = build(ops.do_write(None, b"abc", parallel_write_handle="H", stream_index=2, offset=0))
    assert request.headers["irods-api-request-parallel-write-handle"] == "H"
    assert request.headers["irods-api-request-stream-index"] == "2"
    assert request.headers["irods-api-request-offset"] == "0"
    assert "irods-api-request-lpath" not in request.headers
    with pytest.raises(IrodsUsageError):
        ops.do_write(None, b"x")


def test_decoders():
    stat = decode_reply(
        ops.do_stat("/z/f"),
        ok(
            type="data_object",
            size=5,
            checksum="",
            modified_at=17,
            permissions=[{"name": "rods", "zone": "z", "type": "rodsadmin", "perm": "own"}],
        ),
    )
    assert (stat.size, stat.checksum, stat.modified_at, stat.permissions[0].perm) == (5, None, 17, "own")
    assert decode_reply(ops.coll_list("/z"), ok(entries=None)) == []
    assert decode_reply(ops.coll_create("/z/x"), ok(created=False)) is False
    assert decode_reply(ops.do_read("/z/f"), Reply(200, {}, b'{"irods_response":{"status_code":-1}}')) == (
        b'{"irods_response":{"status_code":-1}}'
    )
    with pytest.raises(IrodsNotADataObjectError):
        decode_reply(ops.do_stat("/z/c"), Reply(200, {}, b'{"irods_response":{"status_code":-171000}}'))


def test_non_json_200_is_protocol_error():
    with pytest.raises(IrodsProtocolError, match="not an iRODS HTTP API"):
        decode_reply(ops.coll_stat("/z"), Reply(200, {}, b"<html>hello</html>"))


def test_verify_checksum_findings_are_results():
    body = {
        "irods_response": {"status_code": -407000},
        "results": [{"error_code": -862000, "severity": "warning"}],
    }
    report = decode_reply(ops.do_verify_checksum("/z/f"), Reply(200, {}, json.dumps(body).encode()))
    assert not report.ok
    assert report.results[0]["error_code"] == -862000


def test_limits_understand_old_and_new_keys():
    new = misc.decode_limits(
        {
            "max_size_of_request_body_in_bytes": 100,
            "max_number_of_streams_per_parallel_write_handle": 5,
            "max_number_of_rows_per_catalog_query": 7,
            "api_version": "0.7.0",
        }
    )
    assert (new.max_request_body_bytes, new.max_streams_per_handle, new.max_rows_per_query) == (100, 5, 7)
    old = misc.decode_limits({"max_number_of_parallel_write_streams": 4, "api_version": "0.6.0"})
    assert old.max_streams_per_handle == 4
    assert old.max_request_body_bytes == ServerLimits().max_request_body_bytes
    assert old.api_version == "0.6.0"


def test_authenticate_uses_basic_and_no_bearer():
    request = build(misc.authenticate("alice", "pa:ss"), token="ignored")
    assert request.headers["authorization"] == "Basic YWxpY2U6cGE6c3M="


def test_operation_repr_hides_credentials_and_body():
    text = repr(misc.authenticate("alice", "pa:ss")) + repr(ops.do_write("/z/f", b"secret-bytes"))
    assert "YWxpY2U6cGE6c3M=" not in text
    assert "secret-bytes" not in text
    assert "name='authenticate'" in text


def test_permission_vocabulary_checked():
    with pytest.raises(IrodsUsageError):
        ops.coll_set_permission("/z/c", "bob", "readwrite")
    body = build(ops.do_modify_permissions("/z/f", [PermissionOperation("bob", "read")])).read().decode()
    assert '[{"entity_name": "bob", "acl": "read"}]' in body


def test_ticket_create_fields():
    from irods_provider.client import TicketType

    body = (
        build(
            misc.ticket_create(
                "/z/c",
                ticket_type=TicketType.WRITE,
                use_count=3,
                users=["a", "b"],
                seconds_until_expiration=60,
            )
        )
        .read()
        .decode()
    )
    for expected in (
        'name="type"\r\n\r\nwrite',
        'name="use-count"\r\n\r\n3',
        'name="users"\r\n\r\na,b',
        'name="seconds-until-expiration"\r\n\r\n60',
    ):
        assert expected in body
    with pytest.raises(IrodsUsageError):
        misc.ticket_create("/z/c", seconds_until_expiration=0)


@pytest.mark.parametrize(
    ("code", "results", "ok"),
    [
        (
            -407000,
            [{"severity": "info", "error_code": 0, "message": "INFO: Number of replicas skipped: 1"}],
            True,
        ),
        (
            -407000,
            [{"severity": "info", "error_code": 0}, {"severity": "warning", "error_code": -862000}],
            False,
        ),
        (-407000, [{"severity": "info", "error_code": -314000}], False),  # a code is never an info note
        (-407000, [], False),  # the server sends CHECK_VERIFICATION_RESULTS only with results
        (0, [], True),
    ],
)
def test_verify_checksum_info_notes_are_not_findings(code, results, ok):
    """rsDataObjChksum.cpp:164-176 (4.3.4) notes skipped stale replicas as ``info`` with code 0."""
    body = {"irods_response": {"status_code": code}, "results": results}
    report = decode_reply(ops.do_verify_checksum("/z/f"), Reply(200, {}, json.dumps(body).encode()))
    assert report.ok is ok
    assert list(report.results) == results
