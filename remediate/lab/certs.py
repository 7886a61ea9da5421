"""The lab's key material kept in DIR: a CA issuing per-host TLS certificates, and SSH keys."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=3650)


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "remediate lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class LabCA:
    """A CA kept in DIR (ca.pem for clients, ca-key.pem 0600) that issues host certificates."""

    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate):
        self.directory = directory
        self.key = key
        self.cert = cert

    @property
    def ca_path(self) -> Path:
        return self.directory / "ca.pem"

    @classmethod
    def load_or_create(cls, directory: Path) -> LabCA:
        """Reuse DIR's CA when present (clients keep trusting it), else make and write one."""
        cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
        if cert_path.exists() and key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if isinstance(key, ec.EllipticCurvePrivateKey):
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                return cls(directory, key, cert)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("remediate lab CA"))
            .issuer_name(_name("remediate lab CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + _VALIDITY)
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        write_private(key_path, _key_pem(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(directory, key, cert)

    def host_files(self, hostname: str) -> tuple[Path, Path]:
        """The host's cert and key files, issued once (SAN: IP 127.0.0.1, hostname, localhost)."""
        folder = self.directory / "tls"
        cert_path, key_path = folder / f"{hostname}.pem", folder / f"{hostname}-key.pem"
        if not (cert_path.exists() and key_path.exists() and self._issued_by_me(cert_path)):
            cert, key = self._issue(hostname)
            write_private(key_path, _key_pem(key))
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, key_path

    def server_context(self, hostname: str) -> ssl.SSLContext:
        """A server-side TLS context presenting the host's certificate."""
        cert_path, key_path = self.host_files(hostname)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_path, key_path)
        return context

    def _issued_by_me(self, cert_path: Path) -> bool:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return cert.issuer == self.cert.subject and _aki(cert) == _ski(self.cert)

    def _issue(self, hostname: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        san = x509.SubjectAlternativeName(
            [
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName(hostname),
                x509.DNSName("localhost"),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hostname))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + _VALIDITY)
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _aki(cert: x509.Certificate) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return ext.value.key_identifier


def ssh_host_key(directory: Path, hostname: str) -> paramiko.PKey:
    """The host's SSH key (ECDSA P-256), generated once and kept in DIR/ssh/ so restarts keep it."""
    path = directory / "ssh" / f"{hostname}_host_key"
    return _load_or_generate(path)


def client_key(directory: Path) -> tuple[paramiko.PKey, Path]:
    """The lab's client key (DIR/id_lab, 0600) that every lab SSH server accepts."""
    path = directory / "id_lab"
    return _load_or_generate(path), path


def _load_or_generate(path: Path) -> paramiko.PKey:
    if path.exists():
        return paramiko.ECDSAKey.from_private_key_file(str(path))
    key = paramiko.ECDSAKey.generate(bits=256)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    key.write_private_key_file(str(path))
    os.chmod(path, 0o600)
    return key


def known_hosts_line(port: int, key: paramiko.PKey) -> str:
    """One known_hosts line for a lab SSH server: `[127.0.0.1]:PORT TYPE BASE64`."""
    return f"[127.0.0.1]:{port} {key.get_name()} {key.get_base64()}"
