"""A request body over the server's limit is refused before it is sent, typed, naming the limit.

The HTTP API's parser has ``body_limit(max_size_of_request_body_in_bytes)`` (core/src/session.cpp:75 at
0.7.0); a body over it ends the request at its header (``on_read_header``: :96-99, :165-168) with no reply,
the connection closed: the client saw "server closed or broke the connection" and resent the whole body,
though the server never acted. One atomic metadata call with a few thousand instrument AVUs is such a body.
"""

from __future__ import annotations

from typing import Any

import pytest

from irods_provider.client import AVU, PermissionOperation
from irods_provider.exceptions import IrodsUsageError

pytestmark = pytest.mark.timeout(60)

PATH = "/tempZone/home/rods/m.txt"


def test_an_atomic_metadata_call_over_the_body_limit_is_refused(session: Any) -> None:
    session.data_objects.write(PATH, b"x")
    limit = session.limits.max_request_body_bytes
    avus = [AVU(f"a{i}", "v" * 2600) for i in range(limit // 2600 + 10)]
    with pytest.raises(IrodsUsageError) as caught:
        session.metadata.add(PATH, *avus)
    assert caught.value.path == PATH
    assert str(limit) in str(caught.value)
    assert caught.value.operation == "data_objects.modify_metadata"
    assert session.metadata.list(PATH) == []
    session.metadata.add(PATH, *avus[:100])  # a body within the limit still goes
    assert len(session.metadata.list(PATH)) == 100


def test_an_acl_batch_over_the_body_limit_is_refused(session: Any) -> None:
    session.data_objects.write(PATH, b"x")
    limit = session.limits.max_request_body_bytes
    ops = [PermissionOperation("x" * 60 + str(i), "read") for i in range(limit // 60)]
    with pytest.raises(IrodsUsageError, match=str(limit)):
        session.data_objects.modify_permissions(PATH, ops)
