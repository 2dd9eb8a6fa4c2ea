"""SFTP lives in irods_provider.sftp: the iRODS client never loads paramiko, and the old import paths work."""

import subprocess
import sys

import pytest


def _loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return set(eval(result.stdout))  # a printed list of module names


def test_importing_the_client_and_its_transfer_engine_loads_no_paramiko():
    loaded = _loaded_after("import irods_provider.client, irods_provider.client.transfer")
    assert "httpx2" in loaded  # the probe sees what the client loads
    assert "paramiko" not in loaded
    assert "airflow" not in loaded


def test_the_sftp_package_is_what_loads_paramiko():
    assert "paramiko" in _loaded_after("import irods_provider.sftp")


def test_old_import_paths_name_the_same_objects():
    import irods_provider.client.transfer as engine
    import irods_provider.sftp as sftp
    from irods_provider.client.transfer._sftp import SftpRangeReader as old_range_reader
    from irods_provider.operators.transfer import IrodsToLocalOperator as OldDown
    from irods_provider.operators.transfer import LocalToIrodsOperator as OldUp
    from irods_provider.transfers._sftp_endpoint import SftpEndpoint as OldEndpoint
    from irods_provider.transfers._sftp_integrity import open_source as old_open_source
    from irods_provider.transfers._staging import hash_sftp_file as old_hash
    from irods_provider.transfers.irods_to_local import IrodsToLocalOperator
    from irods_provider.transfers.local_to_irods import LocalToIrodsOperator

    for name in (
        "ParallelSftpRangeReader",
        "SftpWriter",
        "open_sftp_channels",
        "open_sftp_reader",
        "open_sftp_writer",
        "publish_atomically",
        "tune_transport",
    ):
        assert getattr(engine, name) is getattr(sftp, name), name
    assert old_range_reader is sftp.SftpRangeReader
    assert OldEndpoint is sftp.SftpEndpoint
    assert old_hash is sftp.hash_sftp_file
    assert old_open_source.__module__ == "irods_provider.sftp._integrity"
    assert (OldUp, OldDown) == (LocalToIrodsOperator, IrodsToLocalOperator)
    assert LocalToIrodsOperator.__module__ == "irods_provider.transfers.local_to_irods"


def test_an_unknown_engine_name_is_still_an_attribute_error():
    import irods_provider.client.transfer as engine

    with pytest.raises(AttributeError, match="NoSuchThing"):
        engine.NoSuchThing  # noqa: B018


def test_a_dead_socket_counts_as_a_lost_connection_but_a_server_answer_does_not() -> None:
    import errno

    from irods_provider.sftp._endpoint import is_raw_connection_error

    assert is_raw_connection_error(OSError(errno.ENOTCONN, "Transport endpoint is not connected"))
    assert is_raw_connection_error(OSError(errno.EBADF, "Bad file descriptor"))
    assert is_raw_connection_error(OSError("Socket is closed"))
    assert not is_raw_connection_error(FileNotFoundError(errno.ENOENT, "No such file"))
    assert not is_raw_connection_error(PermissionError(errno.EACCES, "Permission denied"))
