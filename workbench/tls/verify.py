"""Certificate chain and host name verification (cryptography.x509.verification, the webpki rules).

Failures become the alert RFC 8446 6.2 asks for: unknown_ca, certificate_expired or
bad_certificate, with a message that says what was wrong.

With server_name None the chain, validity, key usage and serverAuth EKU are still checked, but
not the name: the leaf is verified against a name taken from its own subjectAltName.
"""
from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from typing import Sequence

from cryptography import x509
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store, VerificationError

from .enums import AlertDescription
from .errors import BadCertificate, ProtocolError, UsageError

# Peers present the same certificates connection after connection, and a config keeps its trust
# anchors. The caches below hold immutable objects and save about 20 us per handshake: a parsed
# certificate keeps its decoded public key, and a Store keeps what it worked out about its anchors
# during earlier verifications; its PolicyBuilder (immutable too), the verifiers' subject names and
# the leaves' validity dates are kept as well. Every chain is still verified in full each time.
_CACHE_LIMIT = 256
_PARSED: dict[bytes, x509.Certificate] = {}                       # DER -> parsed certificate
_STORES: dict[int, tuple[tuple[x509.Certificate, ...], Store, PolicyBuilder]] = {}   # id(anchors) -> ...
_SUBJECTS: dict[str, DNSName | IPAddress] = {}                    # server name -> verifier subject
_VALIDITY: dict[int, tuple[x509.Certificate, datetime, datetime]] = {}   # id(certificate) -> dates


def _remember(cache: dict, key, value) -> None:
    if len(cache) >= _CACHE_LIMIT:
        try:
            del cache[next(iter(cache))]               # the oldest entry
        except (StopIteration, KeyError, RuntimeError):
            pass                                       # another thread changed the cache meanwhile
    cache[key] = value


def parse_certificate(der: bytes) -> x509.Certificate:
    """The certificate in `der`, parsed once per distinct encoding; ValueError when it is not one."""
    if type(der) is not bytes:
        der = bytes(der)
    certificate = _PARSED.get(der)
    if certificate is None:
        certificate = x509.load_der_x509_certificate(der)
        _remember(_PARSED, der, certificate)
    return certificate


def _store_for(trust_anchors: Sequence[x509.Certificate]) -> Store:
    """A Store of the anchors, reused while the same tuple is passed (see _builder_for)."""
    return _anchors_entry(trust_anchors)[1]


def _builder_for(trust_anchors: Sequence[x509.Certificate]) -> PolicyBuilder:
    """A PolicyBuilder with the anchors' Store set; each verification adds its time to it."""
    return _anchors_entry(trust_anchors)[2]


def _anchors_entry(trust_anchors: Sequence[x509.Certificate]) -> tuple:
    """(anchors, Store, PolicyBuilder), reused while the same tuple is passed (a config's anchors
    are one tuple for all its connections). Keyed by identity because hashing certificates costs
    more than building the Store; the cache holds the tuple, so its id cannot be reused meanwhile."""
    if type(trust_anchors) is not tuple:
        store = Store(list(trust_anchors))         # a list may change between calls: no reuse
        return trust_anchors, store, PolicyBuilder().store(store)
    entry = _STORES.get(id(trust_anchors))
    if entry is not None and entry[0] is trust_anchors:
        return entry
    store = Store(list(trust_anchors))
    entry = (trust_anchors, store, PolicyBuilder().store(store))
    _remember(_STORES, id(trust_anchors), entry)
    return entry


def _parse(chain_der: Sequence[bytes]) -> list[x509.Certificate]:
    if not chain_der:
        raise BadCertificate("the peer sent no certificate")
    certificates = []
    for index, der in enumerate(chain_der):
        try:
            certificates.append(parse_certificate(der))
        except ValueError as exc:
            raise BadCertificate(f"certificate {index} of the chain cannot be parsed: {exc}") from None
    return certificates


def _subject_for(server_name: str):
    """The verifier's subject for a name; kept per name, as a connection's peer is usually the last one's."""
    subject = _SUBJECTS.get(server_name)
    if subject is None:
        subject = _make_subject(server_name)      # a bad name raises every time: never kept
        _remember(_SUBJECTS, server_name, subject)
    return subject


def _make_subject(server_name: str):
    # Only names that look like an address are parsed as one (a failed parse costs an exception).
    if ":" in server_name or server_name.replace(".", "").isdigit():
        try:
            return IPAddress(ipaddress.ip_address(server_name))
        except ValueError:
            pass
    try:
        return DNSName(server_name)
    except ValueError:
        raise UsageError(f"{server_name!r} is neither a DNS name nor an IP address") from None


def _names_of(leaf: x509.Certificate) -> list[str]:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(name) for name in san.get_values_for_type(x509.DNSName)] + \
           [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def _validity(certificate: x509.Certificate) -> tuple[datetime, datetime]:
    """(not before, not after) of a certificate: cryptography makes new datetimes on every read, and
    the leaf of a peer is the same parsed object connection after connection (parse_certificate)."""
    entry = _VALIDITY.get(id(certificate))
    if entry is None or entry[0] is not certificate:     # the entry holds the object: its id is not reused
        entry = (certificate, certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        _remember(_VALIDITY, id(certificate), entry)
    return entry[1], entry[2]


def _check_validity(leaf: x509.Certificate, moment: datetime) -> None:
    """The leaf's own dates, checked first for a message that gives them."""
    not_before, not_after = _validity(leaf)
    if moment < not_before:
        raise ProtocolError(f"certificate is not valid before {not_before:%Y-%m-%d %H:%M:%S} UTC",
                            alert=AlertDescription.certificate_expired)
    if moment > not_after:
        raise ProtocolError(f"certificate expired on {not_after:%Y-%m-%d %H:%M:%S} UTC",
                            alert=AlertDescription.certificate_expired)


def _translate(error: VerificationError, leaf: x509.Certificate, server_name: str | None) -> ProtocolError:
    message = str(error)
    if "not valid at validation time" in message:
        return ProtocolError(f"a certificate of the chain is outside its validity period: {message}",
                             alert=AlertDescription.certificate_expired)
    if "no matching subjectAltName" in message:
        names = ", ".join(_names_of(leaf)) or "no name"
        return ProtocolError(f"certificate is for {names}, not {server_name}", alert=AlertDescription.bad_certificate)
    if "candidates exhausted" in message:
        return ProtocolError(f"certificate issuer {leaf.issuer.rfc4514_string()} is not trusted: {message}",
                             alert=AlertDescription.unknown_ca)
    return BadCertificate(message)


def verify_certificate_chain(chain_der: Sequence[bytes], *, trust_anchors: Sequence[x509.Certificate],
                             server_name: str | None, now: datetime, for_server: bool = True) -> x509.Certificate:
    """Verify a peer's chain (leaf first) and return the leaf.

    for_server=True checks a server's certificate (serverAuth, name = server_name);
    for_server=False checks a client certificate (clientAuth, no name).
    """
    if not trust_anchors:
        raise UsageError("certificate verification needs at least one trust anchor")
    certificates = _parse(chain_der)
    try:
        return _verify_parsed(certificates, trust_anchors, server_name, now, for_server)
    except ValueError as exc:
        # cryptography parses some fields (names, extensions) only when they are first read, so a
        # damaged certificate can load and fail later: it is still the peer's bad certificate.
        raise BadCertificate(f"certificate cannot be parsed: {exc}") from None


def _verify_parsed(certificates: list[x509.Certificate], trust_anchors: Sequence[x509.Certificate],
                   server_name: str | None, now: datetime, for_server: bool) -> x509.Certificate:
    leaf, intermediates = certificates[0], certificates[1:]
    moment = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)   # naive means UTC
    _check_validity(leaf, moment)
    builder = _builder_for(trust_anchors).time(moment)
    if for_server:
        if server_name is None:
            names = _names_of(leaf)
            if not names:
                raise BadCertificate("leaf certificate has no subjectAltName")
            # A wildcard name stands for any one label under it.
            server_name = names[0].replace("*", "wildcard", 1) if names[0].startswith("*.") else names[0]
        verifier = builder.build_server_verifier(_subject_for(server_name))
    else:
        verifier = builder.build_client_verifier()
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError as exc:
        raise _translate(exc, leaf, server_name) from None
    return leaf
