"""Certificates for the engine tests, made with `cryptography` directly.

A root CA (ECDSA P-256) issues leaves with ECDSA P-256, ECDSA P-384, RSA-2048 and Ed25519 keys, for
DNS:localhost and IP:127.0.0.1. A second, unrelated CA issues a leaf nobody trusts. Keys are made
once per test session (RSA key generation is slow).
"""
from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519")
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Leaf:
    certificate: x509.Certificate
    private_key: object
    chain: tuple[x509.Certificate, ...]       # leaf first, then intermediates (none here)

    def pem_files(self, directory) -> tuple[str, str]:
        """(certificate chain file, key file) for Python's ssl module."""
        cert_path = directory / "cert.pem"
        key_path = directory / "key.pem"
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain))
        key_path.write_bytes(self.private_key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
        return str(cert_path), str(key_path)


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    private_key: object

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _key(key_type: str):
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(key_type)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Engine tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_ca(cn: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=365)).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    return Authority(cert, key)


def issue(ca: Authority, key_type: str, names=("localhost", "127.0.0.1"), *,
          not_before: datetime.datetime | None = None, not_after: datetime.datetime | None = None) -> Leaf:
    key = _key(key_type)
    public = key.public_key()
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca.certificate.subject)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
                           critical=False)
            .sign(ca.private_key, hashes.SHA256()))
    return Leaf(cert, key, (cert,))


@lru_cache(maxsize=None)
def root() -> Authority:
    return _make_ca("Engine Test Root CA")


@lru_cache(maxsize=None)
def untrusted_root() -> Authority:
    return _make_ca("Unrelated Root CA")


@lru_cache(maxsize=None)
def server_leaf(key_type: str = "ecdsa-p256") -> Leaf:
    return issue(root(), key_type)


@lru_cache(maxsize=None)
def client_leaf(key_type: str = "ecdsa-p256") -> Leaf:
    return issue(root(), key_type, ("client.test",))


@lru_cache(maxsize=None)
def untrusted_leaf() -> Leaf:
    return issue(untrusted_root(), "ecdsa-p256")


@lru_cache(maxsize=None)
def expired_leaf() -> Leaf:
    return issue(root(), "ecdsa-p256", not_before=NOW - datetime.timedelta(days=60),
                 not_after=NOW - datetime.timedelta(days=30))
