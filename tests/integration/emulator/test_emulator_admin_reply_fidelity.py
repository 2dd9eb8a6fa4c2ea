"""users-groups permissions, data-object rc* reply shapes, zone report and specific queries, over real HTTP.

Expectations come from irods_client_http_api 0.7.0 (endpoints/*/src/main.cpp) and irods/irods 4.3.4
(lib/administration/user/src/user_administration.cpp, plugins/database/src/db_plugin.cpp, apiTable.hpp),
file:line in each test; never from the emulator.
"""

from __future__ import annotations

from emulator_http import ZONE, Api, code

RODS = f"/{ZONE}/home/rods"
UG = "users-groups"


def _group_op(api: Api, who: str, op: str, group: str, user: str) -> int:
    return code(api.post(UG, who, op=op, group=group, user=user, zone=ZONE))


def test_groupadmin_creates_rodsusers_only(api: Api) -> None:
    # add_user (user_administration.cpp:47-66 at 4.3.4) sends a groupadmin through rcUserAdmin "mkuser", which
    # always registers a rodsuser (rsUserAdmin.cpp:156-161); chlRegUserRE lets a groupadmin in
    # (db_plugin.cpp:8653-8664). A rodsuser is refused by GeneralAdmin's API-table level (SYS_NO_API_PRIV).
    api.server.add_user("gadm", "gadm", "groupadmin")
    r = api.post(UG, "gadm", op="create_user", name="made", zone=ZONE, **{"user-type": "rodsadmin"})
    assert r.json() == {"irods_response": {"status_code": 0}}
    assert api.get(UG, "rods", op="stat", name="made", zone=ZONE).json()["type"] == "rodsuser"
    assert code(api.post(UG, "alice", op="create_user", name="other", zone=ZONE)) == -13000
    # remove_user always uses GeneralAdmin (user_administration.cpp:84-98): a groupadmin is refused.
    assert code(api.post(UG, "gadm", op="remove_user", name="made", zone=ZONE)) == -13000


def test_groupadmin_manages_only_its_own_or_empty_groups(api: Api) -> None:
    # chlModGroup (db_plugin.cpp:7780-7803): a groupadmin must be a member of the group, except that it may
    # "add" to a group with no members (cmlGetGroupMemberCount excludes the group's own row,
    # mid_level_routines.cpp:1860-1875); otherwise CAT_INSUFFICIENT_PRIVILEGE_LEVEL (-830000).
    api.server.add_user("gadm", "gadm", "groupadmin")
    api.server.add_user("bob", "bob")
    assert code(api.post(UG, "rods", op="create_group", name="full")) == 0
    assert code(api.post(UG, "rods", op="create_group", name="empty")) == 0
    assert _group_op(api, "rods", "add_to_group", "full", "bob") == 0
    assert _group_op(api, "gadm", "add_to_group", "full", "alice") == -830000
    assert _group_op(api, "gadm", "remove_from_group", "full", "bob") == -830000
    assert _group_op(api, "gadm", "add_to_group", "empty", "gadm") == 0  # empty group: allowed
    assert _group_op(api, "gadm", "add_to_group", "empty", "alice") == 0  # now a member
    assert _group_op(api, "gadm", "remove_from_group", "empty", "alice") == 0
    assert _group_op(api, "alice", "add_to_group", "empty", "bob") == -13000  # rodsuser: API table


def test_group_membership_errors_follow_chl_mod_group(api: Api) -> None:
    # db_plugin.cpp:7826-7862: the user (not a group, in the given zone) is looked up before the group;
    # removing a non-member is USER_NOT_IN_GROUP (-1830000, :7866-7882).
    assert code(api.post(UG, "rods", op="create_group", name="g")) == 0
    assert _group_op(api, "rods", "remove_from_group", "g", "alice") == -1830000
    assert _group_op(api, "rods", "add_to_group", "nogroup", "nouser") == -827000  # CAT_INVALID_USER first
    assert _group_op(api, "rods", "add_to_group", "nogroup", "alice") == -829000
    r = api.post(UG, "rods", op="add_to_group", group="g", user="alice", zone="otherZone")
    assert code(r) == -827000


def test_is_member_of_group_is_a_query_and_never_an_error(api: Api) -> None:
    # user_is_member_of_group is one GenQuery (user_administration.cpp, 4.3.4): an unknown group, user or zone
    # gives no row, so is_member false at status 0 (users_groups/src/main.cpp:928-936, 0.7.0).
    for params in (
        {"group": "nogroup", "user": "alice", "zone": ZONE},
        {"group": "public", "user": "alice", "zone": "otherZone"},
        {"group": "public", "user": "nouser", "zone": ZONE},
    ):
        r = api.get(UG, "alice", op="is_member_of_group", **params)
        assert r.json() == {"irods_response": {"status_code": 0}, "is_member": False}, params
    r = api.get(UG, "alice", op="is_member_of_group", group="public", user="alice", zone=ZONE)
    assert r.json()["is_member"] is True


def test_stat_names_follow_local_unique_name(api: Api) -> None:
    # users_groups/src/main.cpp:988-1022 (0.7.0): with zone, only a user is looked up (adm::client::id queries
    # USER_TYPE != 'rodsgroup') and local_unique_name is "name#zone"; without zone local_unique_name() of a
    # user with an empty zone is the bare name (user_administration.cpp local_unique_name), then a group.
    assert code(api.post(UG, "rods", op="create_group", name="g")) == 0
    r = api.get(UG, "alice", op="stat", name="g", zone=ZONE)
    assert r.json() == {"irods_response": {"status_code": 0}, "exists": False}
    assert api.get(UG, "alice", op="stat", name="g").json()["type"] == "rodsgroup"
    assert api.get(UG, "alice", op="stat", name="alice").json()["local_unique_name"] == "alice"
    assert (
        api.get(UG, "alice", op="stat", name="alice", zone=ZONE).json()["local_unique_name"]
        == f"alice#{ZONE}"
    )


def test_rc_api_errors_carry_no_status_message(api: Api) -> None:
    # These ops send the rc* API's int alone: data_objects/src/main.cpp (0.7.0) remove :2208, copy :2370,
    # replicate :1700-1707, trim :1783, calculate_checksum :2664-2666, verify_checksum :2749-2759,
    # register :2119-2121, modify_replica :2929.
    api.write(f"{RODS}/a", b"abc")
    api.write(f"{RODS}/b", b"defg")
    replies = [
        api.post("data-objects", op="remove", lpath=f"{RODS}/nope", **{"catalog-only": "0"}),
        api.post("data-objects", op="copy", **{"src-lpath": f"{RODS}/a", "dst-lpath": f"{RODS}/b"}),
        api.post("data-objects", op="replicate", lpath=f"{RODS}/a", **{"dst-resource": "nope"}),
        api.post("data-objects", op="trim", lpath=f"{RODS}/nope", **{"replica-number": "7"}),
        api.post("data-objects", op="calculate_checksum", lpath=f"{RODS}/nope"),
        api.get("data-objects", op="verify_checksum", lpath=f"{RODS}/nope"),
        api.post(
            "data-objects",
            "alice",
            op="modify_replica",
            lpath=f"{RODS}/a",
            **{"replica-number": "0", "new-data-comments": "c"},
        ),
    ]
    for r in replies:
        body = r.json()
        assert (r.status_code, set(body), set(body["irods_response"])) == (
            200,
            {"irods_response"},
            {"status_code"},
        )
        assert body["irods_response"]["status_code"] < 0, body


def test_truncate_error_carries_the_api_output(api: Api) -> None:
    # data_objects/src/main.cpp:2577-2583 (0.7.0) adds rc_replica_truncate's JSON output as additional_info;
    # on a failure before a replica is chosen it has message and null hierarchy/number
    # (irods 4.3.4 rs_replica_truncate.cpp:35-58).
    r = api.post("data-objects", op="truncate", lpath=f"{RODS}/nope", size="1")
    body = r.json()["irods_response"]
    assert (r.status_code, set(body)) == (200, {"status_code", "additional_info"})
    info = body["additional_info"]
    assert body["status_code"] < 0
    assert (info["resource_hierarchy"], info["replica_number"]) == (None, None)
    assert isinstance(info["message"], str)


def test_zone_report_needs_rodsadmin(api: Api) -> None:
    # ZONE_REPORT_AN is LOCAL_PRIV_USER_AUTH (irods 4.3.4 apiTable.hpp:1235); the HTTP API sends the code with
    # its fixed message (zones/src/main.cpp:392-403, 0.7.0).
    r = api.get("zones", "alice", op="report")
    assert (r.status_code, r.json()) == (
        200,
        {"irods_response": {"status_code": -13000, "status_message": "Could not generate zone report."}},
    )
    assert code(api.get("zones", "rods", op="report")) == 0


def test_specific_query_rows_are_not_filtered_by_permissions(api: Api) -> None:
    # chlSpecificQuery runs the stored SQL as is (db_plugin.cpp:13317-13420, 4.3.4); ShowCollAcls
    # (icatSysInserts.sql:190) has no access check, so a rodsuser sees the ACL of a collection it cannot read.
    r = api.get("query", "alice", op="execute_specific_query", name="ShowCollAcls", args=RODS)
    assert r.json()["rows"] == [["rods", ZONE, "own", "rodsadmin"]]


def _trim(api: Api, path: str, replica: str) -> dict[str, object]:
    r = api.post("data-objects", op="trim", lpath=path, **{"replica-number": replica})
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


def test_trim_follows_rs_data_obj_trim_with_copies_one(api: Api) -> None:
    # The HTTP API always adds COPIES_KW "1" (data_objects/src/main.cpp:1779, 0.7.0). rsDataObjTrim
    # (irods 4.3.4 rsDataObjTrim.cpp:156-222): with at most that many replicas nothing is trimmed and the call
    # succeeds, before replica-number is parsed; with more: std::stoi → USER_INVALID_REPLICA_INPUT (-403000),
    # unknown number → SYS_REPLICA_DOES_NOT_EXIST (-164000), the last good replica → USER_INCOMPATIBLE_PARAMS
    # (-402000).
    api.write(f"{RODS}/one", b"abc")
    for replica in ("0", "5", "x"):
        assert _trim(api, f"{RODS}/one", replica) == {"irods_response": {"status_code": 0}}
    assert len(api.server.model.data_objects[f"{RODS}/one"].replicas) == 1
    assert (
        code(api.post("resources", op="create", name="second", type="unixfilesystem", host="localhost")) == 0
    )
    r = api.post("data-objects", op="replicate", lpath=f"{RODS}/one", **{"dst-resource": "second"})
    assert code(r) == 0
    assert _trim(api, f"{RODS}/one", "x") == {"irods_response": {"status_code": -403000}}
    assert _trim(api, f"{RODS}/one", "5") == {"irods_response": {"status_code": -164000}}
    api.write(f"{RODS}/one", b"new", resource="second")  # replica 0 becomes stale: 1 is the only good one
    assert _trim(api, f"{RODS}/one", "1") == {"irods_response": {"status_code": -402000}}
    assert _trim(api, f"{RODS}/one", "0") == {"irods_response": {"status_code": 0}}


def test_resource_create_checks_like_add_resource(api: Api) -> None:
    # _addResource (irods 4.3.4 rsGeneralAdmin.cpp:570-606, contains_whitespace :48-56): a name of NAME_LEN
    # (64) bytes or more → SYS_INVALID_INPUT_PARAM (-130000); whitespace inside the trimmed name →
    # CAT_INVALID_RESOURCE_NAME (-859000); surrounding whitespace is trimmed off.
    def create(name: str, **extra: str) -> int:
        return code(api.post("resources", op="create", name=name, type="unixfilesystem", **extra))

    assert create("x" * 64) == -130000
    assert create("a\tb") == -859000
    assert create(" padded ") == 0
    assert api.get("resources", op="stat", name="padded").json()["exists"] is True
    # add_resource sends "host:vault" only when both are non-empty (resource_administration.cpp:21-27,
    # 4.3.4); otherwise the server stores its placeholders for both.
    assert create("hostonly", host="example.org") == 0
    info = api.get("resources", op="stat", name="hostonly").json()["info"]
    assert (info["host"], info["vault_path"]) == ("EMPTY_RESC_HOST", "EMPTY_RESC_PATH")


def test_zone_names_and_the_local_zone_row(api: Api) -> None:
    # chlRegZone / chlModZone (irods 4.3.4 db_plugin.cpp:5191-5194, 5240-5400): names must match
    # ^[A-Za-z0-9_\.]+$ (administration_utilities.cpp:171-176) → SYS_INVALID_INPUT_PARAM (-130000); the local
    # zone's row takes a comment, but renaming it is CAT_INVALID_ARGUMENT (-816000).
    assert code(api.post("zones", op="add", name="bad-zone")) == -130000
    assert code(api.post("zones", op="add", name="good.zone_1")) == 0
    rename = {"op": "modify", "name": "good.zone_1", "property": "name"}
    assert code(api.post("zones", **rename, value="no spaces")) == -130000
    assert code(api.post("zones", op="modify", name=ZONE, property="comment", value="main")) == 0
    assert api.get("zones", op="stat", name=ZONE).json()["info"]["comment"] == "main"
    assert code(api.post("zones", op="modify", name=ZONE, property="name", value="other")) == -816000


def test_new_user_and_group_names_follow_validate_name(api: Api) -> None:
    # irods::create_user (irods 4.3.4 administration_utilities.cpp:36-75) runs validate_name
    # (user_validation_utilities.cpp:51-80, "(\w|[-.@])+(#zone)?", user part 1-63 bytes, not "." or ".."):
    # USER_INVALID_USERNAME_FORMAT (-319000); a "#zone" other than the zone argument is CAT_INVALID_ZONE
    # (-828000); "#<local zone>" is dropped from the stored name.
    def create_user(name: str) -> int:
        return code(api.post(UG, op="create_user", name=name, zone=ZONE))

    for bad in ("a/b", "a$b", ".", "x" * 64):
        assert create_user(bad) == -319000, bad
    assert code(api.post(UG, op="create_group", name="g/x")) == -319000
    assert create_user("mail@example.org") == 0
    assert create_user("bob#elsewhere") == -828000
    assert create_user(f"carol#{ZONE}") == 0
    assert api.get(UG, op="stat", name="carol", zone=ZONE).json()["exists"] is True


def test_list_gives_collections_before_data_objects_in_pre_order(api: Api) -> None:
    # collections/src/main.cpp:158-170 (0.7.0) walks fs::client::recursive_collection_iterator;
    # rclOpenCollection with flags 0 reads sub-collections first, then data objects (irods 4.3.4
    # miscUtil.cpp readCollection), each ordered by name (general_query.cpp:2051-2057); the
    # iterator descends into a collection as soon as it is listed.
    for coll in ("b", "a", "a/z"):
        assert code(api.post("collections", op="create", lpath=f"{RODS}/{coll}")) == 0
    for obj in ("f2", "f1", "a/g"):
        assert api.write(f"{RODS}/{obj}", b"x").status_code == 200
    entries = api.get("collections", op="list", lpath=RODS, recurse="1").json()["entries"]
    expected = ["a", "a/z", "a/g", "b", "f1", "f2"]
    assert entries == [f"{RODS}/{e}" for e in expected]
    flat = api.get("collections", op="list", lpath=RODS).json()["entries"]
    assert flat == [f"{RODS}/{e}" for e in ("a", "b", "f1", "f2")]


def test_modify_user_and_remove_user_refusals(api: Api) -> None:
    # rsGeneralAdmin "modify user" (irods 4.3.4 rsGeneralAdmin.cpp:58-180, 905-931): the service account may
    # not leave rodsadmin, a group's type never changes and a group has no password: SYS_NOT_ALLOWED
    # (-169000).
    # irods::remove_user refuses the client or proxy user (administration_utilities.cpp:129-134).
    assert code(api.post(UG, op="create_group", name="g")) == 0
    assert (
        code(api.post(UG, op="set_user_type", name="g", zone=ZONE, **{"new-user-type": "rodsuser"}))
        == -169000
    )
    assert code(api.post(UG, op="set_password", name="g", zone=ZONE, **{"new-password": "pw"})) == -169000
    assert (
        code(api.post(UG, op="set_user_type", name="rods", zone=ZONE, **{"new-user-type": "rodsuser"}))
        == -169000
    )
    api.server.add_user("admin2", "admin2", "rodsadmin")
    assert code(api.post(UG, "admin2", op="remove_user", name="admin2", zone=ZONE)) == -169000
    assert code(api.post(UG, "admin2", op="remove_user", name="alice", zone=ZONE)) == 0


def test_copy_checks_an_existing_destination_first(api: Api) -> None:
    # rsDataObjCopy (irods 4.3.4 rsDataObjCopy.cpp:233-275): an existing destination without the force flag
    # is OVERWRITE_WITHOUT_FORCE_FLAG (-312000) before anything else (copying onto itself included); with it
    # and a dst-resource holding no replica of it, HIERARCHY_ERROR (-1803000), even for an unknown resource.
    api.write(f"{RODS}/src", b"abc")
    api.write(f"{RODS}/dst", b"old")

    def copy(dst: str, **extra: str) -> int:
        return code(
            api.post("data-objects", op="copy", **{"src-lpath": f"{RODS}/src", "dst-lpath": dst}, **extra)
        )

    assert copy(f"{RODS}/src") == -312000
    assert copy(f"{RODS}/dst", **{"dst-resource": "nope"}) == -312000
    assert copy(f"{RODS}/dst", overwrite="1", **{"dst-resource": "nope"}) == -1803000
    assert copy(f"{RODS}/dst", overwrite="1", **{"dst-resource": "demoResc"}) == 0
    assert api.read(f"{RODS}/dst").content == b"abc"
