"""``file_mode`` / ``directory_mode``: what is accepted (as ``install -m`` and ``chmod`` read octal modes)
and what is refused before anything is written; templated values are read once rendered."""

from __future__ import annotations

import pytest

from irods_provider.exceptions import IrodsUsageError
from irods_provider.sftp._modes import parse_mode, private_modes


@pytest.mark.parametrize("value", [0o640, "0640", "640", "0o640", " 0640 "])
def test_octal_modes_in_every_usual_spelling(value: int | str) -> None:
    assert parse_mode(value, name="file_mode") == 0o640


def test_none_leaves_the_mode_to_the_server() -> None:
    assert parse_mode(None, name="file_mode") is None


@pytest.mark.parametrize("value", [0o4755, 0o2640, 0o1644, "4755", "10000", "0o2750"])
def test_a_file_mode_never_sets_setuid_setgid_or_sticky(value: int | str) -> None:
    with pytest.raises(IrodsUsageError, match=r"file_mode=.*\(no setuid, setgid, sticky\)"):
        parse_mode(value, name="file_mode")


@pytest.mark.parametrize(("value", "expected"), [("2750", 0o2750), (0o1777, 0o1777), (0o3770, 0o3770)])
def test_a_directory_mode_may_set_setgid_and_sticky(value: int | str, expected: int) -> None:
    assert parse_mode(value, name="directory_mode", directory=True) == expected


@pytest.mark.parametrize("value", [0o4750, "6750", 0o10000])
def test_a_directory_mode_never_sets_setuid(value: int | str) -> None:
    with pytest.raises(IrodsUsageError, match="directory_mode="):
        parse_mode(value, name="directory_mode", directory=True)


@pytest.mark.parametrize("value", ["", "rw-r-----", "0648", "u=rw", "-640", -1, True, 6.4])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(IrodsUsageError, match="not a mode of a file"):
        parse_mode(value, name="file_mode")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("replaced", "default", "refused", "expected"),
    [
        (None, 0o640, False, (0o600, 0o644)),  # a new file: the chosen mode, not the server's
        (0o755, 0o640, False, (0o600, 0o644)),  # an overwrite: the chosen mode, not the old file's
        (None, None, False, (0o600, 0o644)),  # the server's default unknown: still private, then set
        (None, 0o640, True, (0o600, 0o644)),  # the server refused another file's mode: asked all the same
    ],
)
def test_a_chosen_mode_goes_before_the_replaced_and_the_default_one(
    replaced: int | None, default: int | None, refused: bool, expected: tuple[int, int]
) -> None:
    assert private_modes(replaced, default, refused=refused, chosen=0o644) == expected


def test_a_chosen_mode_the_private_create_already_gives_costs_no_setstat() -> None:
    assert private_modes(0o755, 0o640, chosen=0o600) == (0o600, None)
    assert private_modes(0o755, 0o666, chosen=0o600) == (0o600, None)
    assert private_modes(None, 0o600 & ~0o077 & 0o400, chosen=0o600) == (0o600, 0o600)  # umask 0277: 0400


def test_the_operator_refuses_a_literal_mistake_at_parse_time_and_reads_templates_rendered() -> None:
    from irods_provider.transfers.irods_to_sftp import IrodsToSFTPOperator

    common = {"task_id": "t", "source_path": "/tempZone/home/rods/x", "destination_path": "out/"}
    with pytest.raises(IrodsUsageError, match="file_mode=0o4755 "):
        IrodsToSFTPOperator(file_mode=0o4755, **common)
    with pytest.raises(IrodsUsageError, match="directory_mode"):
        IrodsToSFTPOperator(directory_mode="rwx", **common)
    op = IrodsToSFTPOperator(file_mode="{{ params.f }}", directory_mode="{{ params.d }}", **common)
    assert {"file_mode", "directory_mode"} <= set(op.template_fields)
    op.render_template_fields(context={"params": {"f": "0640", "d": "2750"}})  # type: ignore[arg-type]
    assert op.published_modes() == {"file_mode": 0o640, "directory_mode": 0o2750}
    bad = IrodsToSFTPOperator(file_mode="{{ params.f }}", **common)
    bad.render_template_fields(context={"params": {"f": "4755"}})  # type: ignore[arg-type]
    with pytest.raises(IrodsUsageError, match="file_mode='4755'"):
        bad.published_modes()
