"""Trial certificates for the broker's TLS device listener: a private CA and a server certificate.

Production uses the operator's own certificates; a trial (or a closed network with no PKI)
needs something that works today without sending device secrets in clear. Devices are given
``ca.crt`` to verify the broker; the CA's key stays with the operator to sign again later.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TrialCertificates:
    ca_cert: bytes
    ca_key: bytes
    server_cert: bytes
    server_key: bytes

    def write(self, out_dir: Path) -> list[Path]:
        """``ca.crt`` (give it to devices), ``ca.key``, ``server.crt`` and ``server.key`` (the broker's)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data, mode in (("ca.crt", self.ca_cert, 0o644), ("ca.key", self.ca_key, 0o600),
                                 ("server.crt", self.server_cert, 0o644), ("server.key", self.server_key, 0o640)):
            path = out_dir / name
            path.write_bytes(data)
            path.chmod(mode)
            written.append(path)
        return written


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wasteflow trial"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_alt_names(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days)))


def make_trial_certificates(hosts: list[str], days: int = 365) -> TrialCertificates:
    """A CA and a server certificate valid for ``hosts`` (names or IP addresses)."""
    if not hosts:
        raise ValueError("give at least one host name or address the devices will connect to")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("wasteflow trial CA")
    ca_cert = (_builder(ca_name, ca_name, ca_key.public_key(), days)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (_builder(_name(hosts[0]), ca_name, server_key.public_key(), days)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(_subject_alt_names(hosts), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .sign(ca_key, hashes.SHA256()))
    return TrialCertificates(ca_cert=ca_cert.public_bytes(serialization.Encoding.PEM), ca_key=_pem_key(ca_key),
                             server_cert=server_cert.public_bytes(serialization.Encoding.PEM),
                             server_key=_pem_key(server_key))
