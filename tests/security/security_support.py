"""Helpers of the security suite: a private PKI, zone snapshots and Airflow connection JSON."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from irods_provider.testing import EmulatorServer

HOME = "/tempZone/home/rods"


# ---- PKI ---------------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_ca(directory: Path, name: str) -> tuple[Path, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA certificate (PEM written to ``directory/name.pem``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


def make_server_cert(
    directory: Path,
    name: str,
    *,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    expired: bool = False,
) -> tuple[Path, Path]:
    """A server certificate for ``hosts`` signed by the CA; returns (cert PEM, key PEM) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=10), now - datetime.timedelta(days=5))
        if expired
        else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    )
    alt: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return cert_path, key_path


@dataclass
class Pki:
    """Files of the test PKI: the trusted CA, an unrelated CA, and server certificates."""

    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    expired_cert: Path
    expired_key: Path
    wrong_host_cert: Path
    wrong_host_key: Path


def build_pki(directory: Path) -> Pki:
    """The trusted CA, an unrelated CA, a good, an expired and a wrong-host server certificate."""
    ca, ca_cert, ca_key = make_ca(directory, "test-ca")
    other_ca, _, _ = make_ca(directory, "other-ca")
    server_cert, server_key = make_server_cert(directory, "server", ca_cert=ca_cert, ca_key=ca_key)
    expired_cert, expired_key = make_server_cert(
        directory, "expired", ca_cert=ca_cert, ca_key=ca_key, expired=True
    )
    wrong_cert, wrong_key = make_server_cert(
        directory, "wrong-host", ca_cert=ca_cert, ca_key=ca_key, hosts=("irods.example.org",)
    )
    return Pki(ca, other_ca, server_cert, server_key, expired_cert, expired_key, wrong_cert, wrong_key)


# ---- zone snapshots ----------------------------------------------------------------------------------


def _avus(entity: object) -> list[tuple[str, str, str]]:
    return sorted((a.attribute, a.value, a.units) for a in getattr(entity, "avus", []))


def zone_snapshot(server: EmulatorServer) -> dict[str, object]:
    """Everything a client could change: collections, objects (bytes hashed), ACLs, AVUs, users, handles."""
    model = server.model
    with model.lock:
        collections = {
            path: (c.owner, dict(c.acl), c.inheritance, _avus(c)) for path, c in model.collections.items()
        }
        objects = {
            path: (
                o.owner,
                dict(o.acl),
                _avus(o),
                [
                    (r.number, r.resource, r.size, r.checksum, r.status, Path(r.spool_file).read_bytes())
                    for r in o.replicas
                ],
            )
            for path, o in model.data_objects.items()
        }
        users = sorted((u.name, u.type, sorted(u.groups)) for u in model.users.values())
    return {
        "collections": collections,
        "objects": {
            p: (*v[:3], [(*r[:5], hashlib.sha256(r[5]).hexdigest()) for r in v[3]])
            for p, v in objects.items()
        },
        "users": users,
        "handles": server.open_parallel_write_handles(),
    }


# ---- Airflow connections -----------------------------------------------------------------------------


def irods_conn_json(
    server: EmulatorServer, *, login: str = "rods", password: str = "rods-emulator", **extra: object
) -> str:
    """``AIRFLOW_CONN_*`` JSON for an emulator (http or https by its scheme)."""
    extra.setdefault("zone", "tempZone")
    return json.dumps(
        {
            "conn_type": "irods",
            "host": server.host,
            "port": server.port,
            "schema": server.scheme,
            "login": login,
            "password": password,
            "extra": extra,
        }
    )
