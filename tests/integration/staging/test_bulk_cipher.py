"""Every SSH connection of a task (each carries bulk data) uses AES-GCM when the server offers it.

paramiko prefers AES-CTR with a separate HMAC and Airflow's hook gives no way to reorder ciphers before the
first key exchange; AES-GCM costs both ends less CPU per byte (``benchmarks/sftp_ciphers.py``). The endpoint
puts AES-GCM first in each of its transports' preferences before their first key exchange, so every
connection, the first included, agrees to it at once (one key exchange each, no re-key); a server without
AES-GCM keeps its cipher; a connection naming its own ``ciphers`` is left alone, one that disables a GCM
cipher keeps it disabled, and a plain hook outside the endpoint keeps paramiko's order. Bytes are checked
by SHA-256 on the server's disk, on both servers (the embedded asyncssh one and sshd).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from irods_provider.sftp import SftpEndpoint
from irods_provider.sftp._io import AEAD_CIPHERS
from irods_provider.testing.sftp import EmbeddedSftpServer, airflow_connection_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from ssh_connections import write_over_each_connection

pytestmark = pytest.mark.timeout(60)

KIB = 1024


def _hook():
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    return SFTPHook(ssh_conn_id="cluster")


def _ciphers(endpoint: SftpEndpoint) -> list[tuple[str, str]]:
    return [(t.local_cipher, t.remote_cipher) for t in endpoint.transports()]  # type: ignore[attr-defined]


def _count_key_exchanges(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Key exchanges (the server's KEXINIT parsed) per transport, by ``id``."""
    counts: dict[int, int] = {}
    parse = paramiko.Transport._parse_kex_init  # type: ignore[attr-defined]

    def counting(transport: paramiko.Transport, message: paramiko.Message) -> object:
        counts[id(transport)] = counts.get(id(transport), 0) + 1
        return parse(transport, message)

    monkeypatch.setattr(paramiko.Transport, "_parse_kex_init", counting)
    return counts


def _same(on_disk: dict[str, bytes], sent: dict[str, bytes]) -> bool:
    digest = {k: hashlib.sha256(v).hexdigest() for k, v in on_disk.items()}
    return digest == {k: hashlib.sha256(v).hexdigest() for k, v in sent.items()}


def test_every_connection_agrees_to_aes_gcm_at_its_first_key_exchange(remote, monkeypatch) -> None:
    """Opened together (an explicit connection count): the first connection too, one key exchange each."""
    remote.put("gcm/.keep", b"")
    exchanges = _count_key_exchanges(monkeypatch)
    with SftpEndpoint(_hook(), connections=3) as endpoint:
        ciphers = _ciphers(endpoint)
        assert len(ciphers) == 3
        assert all(local in AEAD_CIPHERS and remote_ in AEAD_CIPHERS for local, remote_ in ciphers)
        assert [exchanges.get(id(t)) for t in endpoint.transports()] == [1, 1, 1]
        sent = write_over_each_connection(endpoint, remote, "gcm", 300 * KIB)
    on_disk = remote.files("gcm")
    on_disk.pop(".keep")
    assert _same(on_disk, sent)


def test_connections_opened_after_the_first_pick_aes_gcm_at_their_first_key_exchange(
    remote, monkeypatch
) -> None:
    """As staging opens them (the first connection up, then more for the file's bytes): each connection
    does one key exchange, not a second one to re-key (two round trips before it carries data), and uses
    AES-GCM both ways; the user's hook keeps its own ``disabled_algorithms``."""
    remote.put("first/.keep", b"")
    exchanges = _count_key_exchanges(monkeypatch)
    hook = _hook()
    with SftpEndpoint(hook, connections=1) as endpoint:
        endpoint.widen(3)
        transports = endpoint.transports()
        ciphers = _ciphers(endpoint)
        assert len(ciphers) == 3
        assert all(local in AEAD_CIPHERS and remote_ in AEAD_CIPHERS for local, remote_ in ciphers)
        assert [exchanges.get(id(t)) for t in transports] == [1, 1, 1]
        sent = write_over_each_connection(endpoint, remote, "first", 300 * KIB)
    assert hook.disabled_algorithms is None
    on_disk = remote.files("first")
    on_disk.pop(".keep")
    assert _same(on_disk, sent)


def test_a_plain_hook_outside_the_endpoint_keeps_paramikos_order(remote) -> None:
    """The preference is set only on the endpoint's own transports: a hook used directly in the same
    process (another operator's SSH task) still negotiates paramiko's first choice."""
    with SftpEndpoint(_hook(), connections=1) as endpoint:
        assert _ciphers(endpoint)[0][0] in AEAD_CIPHERS
        plain = _hook()
        try:
            transport = plain.get_conn().get_channel().get_transport()
            assert (transport.local_cipher, transport.remote_cipher) == ("aes128-ctr", "aes128-ctr")
        finally:
            plain.close_conn()


def test_without_it_every_connection_keeps_aes_ctr(remote) -> None:
    with SftpEndpoint(_hook(), connections=2, bulk_cipher=False) as endpoint:
        assert _ciphers(endpoint) == [("aes128-ctr", "aes128-ctr")] * 2


def test_a_connection_naming_its_own_ciphers_is_left_alone(remote, sftp_server, monkeypatch) -> None:
    conn = json.loads(airflow_connection_json(sftp_server))
    conn["extra"]["ciphers"] = ["aes256-ctr", "aes128-ctr"]  # Airflow applies them to later key exchanges
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", json.dumps(conn))
    with SftpEndpoint(_hook(), connections=2) as endpoint:
        ciphers = _ciphers(endpoint)
    assert not any(local in AEAD_CIPHERS for local, _ in ciphers)


@pytest.fixture(scope="module")
def ctr_only() -> Iterator[EmbeddedSftpServer]:
    with EmbeddedSftpServer(ciphers=["aes256-ctr", "aes128-ctr"]) as server:
        yield server


def test_a_server_without_aes_gcm_keeps_its_cipher(ctr_only, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", airflow_connection_json(ctr_only))

    class Remote:  # the same naming as the staging fixture's, on this server
        def path(self, relative: str) -> str:
            return relative

    (ctr_only.root / "ctr").mkdir()
    exchanges = _count_key_exchanges(monkeypatch)
    with SftpEndpoint(_hook(), connections=3) as endpoint:
        endpoint.widen(4)  # opened once the first is up too: it saw no AES-GCM offered
        assert _ciphers(endpoint) == [("aes128-ctr", "aes128-ctr")] * 4
        assert [exchanges.get(id(t)) for t in endpoint.transports()] == [1, 1, 1, 1]  # none re-keyed
        sent = write_over_each_connection(endpoint, Remote(), "ctr", 300 * KIB)
    on_disk = {p.name: p.read_bytes() for p in (ctr_only.root / "ctr").iterdir()}
    assert _same(on_disk, sent)


def test_a_gcm_cipher_the_connection_disables_stays_disabled(remote, sftp_server, monkeypatch) -> None:
    """The connection's ``disabled_algorithms`` win over the preference: AES-128-GCM disabled, AES-256-GCM
    is agreed instead (the user's setting is not changed)."""
    conn = json.loads(airflow_connection_json(sftp_server))
    conn["extra"]["disabled_algorithms"] = {"ciphers": ["aes128-gcm@openssh.com"]}
    monkeypatch.setenv("AIRFLOW_CONN_CLUSTER", json.dumps(conn))
    hook = _hook()
    with SftpEndpoint(hook, connections=2) as endpoint:
        ciphers = _ciphers(endpoint)
    assert ciphers == [("aes256-gcm@openssh.com", "aes256-gcm@openssh.com")] * 2
    assert hook.disabled_algorithms == {"ciphers": ["aes128-gcm@openssh.com"]}
