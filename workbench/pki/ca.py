"""The test CA: a root (and optional intermediates) that issues leaf certificates on the fly.

The certificates follow RFC 5280 and the Web PKI profile closely enough that cryptography's
x509 verification, OpenSSL (`openssl verify -x509_strict`) and GnuTLS (`certtool --verify`)
accept them: CA certificates carry a critical BasicConstraints, a critical KeyUsage with
keyCertSign, and key identifiers; leaves carry a subjectAltName (DNS names and IP addresses),
serverAuth + clientAuth, and no CA bit.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .identity import Identity
from .keys import KeyType, PrivateKey, generate_private_key, key_type_of, signature_hash
from .pem import certificates_to_pem, write_bytes

Rng = Callable[[int], bytes]
Clock = Callable[[], datetime.datetime]

ORGANIZATION = "TLS Workbench"
CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=30)
# Start validity a little in the past, so that a peer whose clock lags a second does not see
# a certificate that is "not yet valid".
BACKDATE = datetime.timedelta(minutes=5)
DEFAULT_EKU = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def random_serial(rng: Rng) -> int:
    """A positive serial of at most 127 bits (RFC 5280 allows 20 octets; positive is required)."""
    serial = int.from_bytes(rng(16), "big") >> 1
    return serial or 1


def general_name(hostname: str) -> x509.GeneralName:
    """An IP address becomes an iPAddress name, anything else a dNSName."""
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _validity(
    clock: Clock,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
    valid_for: datetime.timedelta,
) -> tuple[datetime.datetime, datetime.datetime]:
    start = not_before if not_before is not None else clock() - BACKDATE
    end = not_after if not_after is not None else start + BACKDATE + valid_for
    if end <= start:
        raise ValueError(f"not_after ({end}) must be later than not_before ({start})")
    # Whole seconds: the wire format has no fractions, and round-trips then compare equal.
    return start.replace(microsecond=0), end.replace(microsecond=0)


class TestCA:
    """A certificate authority for tests and labs. Make one with `TestCA.create()`."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: PrivateKey,
        *,
        parent: TestCA | None = None,
        rng: Rng = os.urandom,
        clock: Clock = utc_now,
    ) -> None:
        self.certificate = certificate
        self.private_key = private_key
        self.parent = parent
        self._rng = rng
        self._clock = clock

    @classmethod
    def create(
        cls,
        name: str = "TLS Workbench Test CA",
        key_type: str | KeyType = KeyType.ECDSA_P256,
        *,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        valid_for: datetime.timedelta = CA_VALIDITY,
        rng: Rng = os.urandom,
        clock: Clock = utc_now,
    ) -> TestCA:
        """A new self-signed root CA with a fresh key."""
        key = generate_private_key(key_type)
        subject = _name(name)
        start, end = _validity(clock, not_before, not_after, valid_for)
        builder = _ca_builder(subject, subject, key, key, start, end, random_serial(rng))
        certificate = builder.sign(key, signature_hash(key))
        return cls(certificate, key, rng=rng, clock=clock)

    # -- what the CA is -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value

    @property
    def key_type(self) -> KeyType:
        return key_type_of(self.private_key)

    @property
    def root(self) -> TestCA:
        """The self-signed CA at the top: the trust anchor peers are given."""
        return self if self.parent is None else self.parent.root

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate and the intermediates above it, without the root."""
        if self.parent is None:
            return ()
        return (self.certificate, *self.parent.chain)

    def certificate_pem(self) -> bytes:
        return certificates_to_pem((self.certificate,))

    def write_pem(self, path: str | os.PathLike[str]) -> Path:
        """Write this CA's certificate (for a root: the file to trust, e.g. -CAfile / --x509cafile)."""
        return write_bytes(path, self.certificate_pem())

    # -- issuing --------------------------------------------------------------------------

    def intermediate(
        self,
        name: str = "TLS Workbench Intermediate CA",
        key_type: str | KeyType = KeyType.ECDSA_P256,
        *,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        valid_for: datetime.timedelta = CA_VALIDITY,
    ) -> TestCA:
        """A new CA signed by this one; its leaves carry it in their chain."""
        key = generate_private_key(key_type)
        start, end = _validity(self._clock, not_before, not_after, valid_for)
        builder = _ca_builder(
            _name(name), self.certificate.subject, key, self.private_key, start, end,
            random_serial(self._rng),
        )
        certificate = builder.sign(self.private_key, signature_hash(self.private_key))
        return TestCA(certificate, key, parent=self, rng=self._rng, clock=self._clock)

    def issue(
        self,
        hostnames: Sequence[str] = ("localhost", "127.0.0.1"),
        key_type: str | KeyType = KeyType.ECDSA_P256,
        *,
        common_name: str | None = None,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        valid_for: datetime.timedelta = LEAF_VALIDITY,
        extended_key_usage: Iterable[x509.ObjectIdentifier] = DEFAULT_EKU,
        private_key: PrivateKey | None = None,
    ) -> Identity:
        """A leaf certificate for hostnames (DNS names and IP addresses) with a fresh key.

        not_before / not_after override the validity (e.g. both in the past for an expired
        certificate); otherwise it starts now (a few minutes back) and lasts valid_for.
        """
        if isinstance(hostnames, str):
            hostnames = (hostnames,)
        if not hostnames:
            raise ValueError("a leaf certificate needs at least one host name or IP address")
        key = private_key if private_key is not None else generate_private_key(key_type)
        names = [general_name(h) for h in hostnames]
        if common_name is None:
            common_name = hostnames[0]
        start, end = _validity(self._clock, not_before, not_after, valid_for)
        public_key = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(random_serial(self._rng))
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_key_usage(key), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(_authority_key_id(self.private_key), critical=False)
        )
        certificate = builder.sign(self.private_key, signature_hash(self.private_key))
        return Identity(certificate=certificate, private_key=key, chain=self.chain)


def _authority_key_id(issuer_key: PrivateKey) -> x509.AuthorityKeyIdentifier:
    ski = x509.SubjectKeyIdentifier.from_public_key(issuer_key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    issuer_key: PrivateKey,
    start: datetime.datetime,
    end: datetime.datetime,
    serial: int,
) -> x509.CertificateBuilder:
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_id(issuer_key), critical=False)
    )


def _leaf_key_usage(key: PrivateKey) -> x509.KeyUsage:
    # RSA leaves may also do TLS 1.2 RSA key transport, which needs keyEncipherment.
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )
