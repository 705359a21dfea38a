"""Client and server configuration, validated on construction.

A config is all a connection knows about its environment: what to offer, whom to trust,
which certificate to present, and the two sources of non-determinism (rng and clock).
Mistakes raise UsageError here, before any byte is sent.
"""
from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import session_config, signatures
from .cipher_suites import CIPHER_SUITES
from .early_data import DEFAULT_AGE_TOLERANCE, ReplayRegister
from .enums import NamedGroup, ProtocolVersion, PskKeyExchangeMode
from .errors import UsageError
from .key_exchange import SUPPORTED_GROUPS
from .session_cache import SessionCache
from .tickets import SessionTickets, TicketKeyRing
from .wallet import TicketWallet

DEFAULT_CIPHER_SUITES = (0x1301, 0x1302, 0x1303)
# TLS 1.2 suites added to the defaults when TLS 1.2 is enabled: ECDHE only, AEAD only (RFC 5289, RFC 7905).
DEFAULT_CIPHER_SUITES_12 = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)
TLS12 = int(ProtocolVersion.TLS12)
TLS13 = int(ProtocolVersion.TLS13)
DEFAULT_VERSIONS = (TLS13,)
DEFAULT_GROUPS = (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1)
MAX_RECORD_SIZE_LIMIT_13 = 2**14 + 1     # RFC 8449: TLSInnerPlaintext incl. content type

Padding = Callable[[int, int], int] | int


@dataclass(frozen=True, slots=True)
class Credential:
    """A certificate chain (leaf first) with the leaf's private key and the 1.3 schemes it can sign with."""
    chain: tuple[x509.Certificate, ...]
    chain_der: tuple[bytes, ...]
    private_key: Any
    schemes: tuple[int, ...]


def make_credential(chain: Sequence[x509.Certificate], private_key: Any, who: str) -> Credential:
    chain = tuple(chain)
    if not chain:
        raise UsageError(f"{who}: the certificate chain is empty")
    for cert in chain:
        if not isinstance(cert, x509.Certificate):
            raise UsageError(f"{who}: certificate chain entries must be cryptography x509.Certificate objects, "
                             f"got {type(cert).__name__}")
    if private_key is None:
        raise UsageError(f"{who}: a certificate chain needs its private key")
    try:
        key_public = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    except AttributeError:
        raise UsageError(f"{who}: private_key is not a private key object ({type(private_key).__name__})") from None
    leaf_public = chain[0].public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    if key_public != leaf_public:
        raise UsageError(f"{who}: the private key does not match the leaf certificate's public key")
    schemes = tuple(signatures.schemes_for_key(private_key))
    if not schemes:
        raise UsageError(f"{who}: no TLS 1.3 signature scheme can use a {type(private_key).__name__}")
    chain_der = tuple(cert.public_bytes(serialization.Encoding.DER) for cert in chain)
    return Credential(chain, chain_der, private_key, schemes)


# --- field validators (shared by both configs) --------------------------------------------------------

def _check_uint16_tuple(name: str, values: Any, *, allow_empty: bool = False) -> tuple[int, ...]:
    try:
        values = tuple(values)
    except TypeError:
        raise UsageError(f"{name} must be a sequence of integers") from None
    if not values and not allow_empty:
        raise UsageError(f"{name} must not be empty")
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF:
            raise UsageError(f"{name}: {v!r} is not a 16-bit code point")
    if len(set(values)) != len(values):
        raise UsageError(f"{name} lists a value twice: {values}")
    return values


def _check_versions(values: Any) -> tuple[int, ...]:
    """versions: TLS 1.3 and/or TLS 1.2, kept highest first (the order of supported_versions)."""
    values = _check_uint16_tuple("versions", values)
    for v in values:
        if v not in (TLS12, TLS13):
            raise UsageError(f"versions: 0x{v:04x} is not a version this engine speaks "
                             f"(TLS 1.2 0x0303, TLS 1.3 0x0304)")
    return tuple(sorted(values, reverse=True))


def _version_name(version: int) -> str:
    return "TLS 1.3" if version == TLS13 else "TLS 1.2"


def _check_cipher_suites(values: Any, versions: tuple[int, ...] = DEFAULT_VERSIONS) -> tuple[int, ...]:
    """Suites in preference order; None picks the defaults of the enabled versions."""
    if values is None:
        values = (DEFAULT_CIPHER_SUITES if TLS13 in versions else ()) + \
                 (DEFAULT_CIPHER_SUITES_12 if TLS12 in versions else ())
    values = _check_uint16_tuple("cipher_suites", values)
    for code in values:
        info = CIPHER_SUITES.get(code)
        if info is None:
            raise UsageError(f"cipher_suites: 0x{code:04x} is not a cipher suite this engine implements")
        if info.version not in versions:
            raise UsageError(f"cipher_suites: {info.name} is a {_version_name(info.version)} suite, and versions "
                             f"does not enable {_version_name(info.version)}")
    for version in versions:
        if not any(CIPHER_SUITES[code].version == version for code in values):
            raise UsageError(f"versions enables {_version_name(version)}, but cipher_suites lists no "
                             f"{_version_name(version)} suite")
    return values


def _check_alpn(values: Any) -> tuple[bytes, ...]:
    if isinstance(values, (str, bytes)):
        raise UsageError("alpn_protocols must be a sequence of protocol names, not a single name")
    out = []
    for p in values:
        if isinstance(p, str):
            p = p.encode("ascii", errors="strict") if p.isascii() else p.encode("utf-8")
        if not isinstance(p, (bytes, bytearray)) or not 1 <= len(p) <= 255:
            raise UsageError(f"alpn_protocols: {p!r} must be 1..255 bytes")
        out.append(bytes(p))
    if len(set(out)) != len(out):
        raise UsageError(f"alpn_protocols lists a protocol twice: {out}")
    return tuple(out)


def _check_renegotiation_policy(cfg: Any) -> None:
    for name in ("allow_renegotiation", "allow_client_renegotiation"):
        if not isinstance(getattr(cfg, name, False), bool):
            raise UsageError(f"{name} must be True or False, got {getattr(cfg, name)!r}")
    limit = getattr(cfg, "client_renegotiation_limit", None)
    if limit is None:
        return
    try:
        count, seconds = limit
    except (TypeError, ValueError):
        raise UsageError(f"client_renegotiation_limit must be None or (count, seconds), got {limit!r}") from None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0 \
            or not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not seconds > 0:
        raise UsageError(f"client_renegotiation_limit needs a count >= 0 and seconds > 0, got {limit!r}")
    cfg.client_renegotiation_limit = (count, float(seconds))


def _check_common(cfg: Any) -> None:
    cfg.versions = _check_versions(cfg.versions)
    cfg.cipher_suites = _check_cipher_suites(cfg.cipher_suites, cfg.versions)
    _check_renegotiation_policy(cfg)
    cfg.supported_groups = _check_uint16_tuple("supported_groups", cfg.supported_groups)
    if not any(g in SUPPORTED_GROUPS for g in cfg.supported_groups):
        raise UsageError(f"supported_groups must include a group this engine can compute: "
                         f"{[NamedGroup(g).name for g in SUPPORTED_GROUPS]}")
    cfg.signature_schemes = _check_uint16_tuple("signature_schemes", cfg.signature_schemes)
    cfg.alpn_protocols = _check_alpn(cfg.alpn_protocols)
    limit = cfg.record_size_limit
    if limit is not None and (not isinstance(limit, int) or not 64 <= limit <= 0xFFFF):
        raise UsageError(f"record_size_limit must be None or 64..65535 (RFC 8449), got {limit!r}")
    pad = cfg.padding
    if not callable(pad) and (not isinstance(pad, int) or isinstance(pad, bool) or not 0 <= pad <= 2**14):
        raise UsageError(f"padding must be a callable (content_type, length) -> int or an int 0..16384, got {pad!r}")
    size = cfg.max_handshake_message_size
    if not isinstance(size, int) or not 64 <= size <= 2**24 - 1:
        raise UsageError(f"max_handshake_message_size must be 64..16777215, got {size!r}")
    if not callable(cfg.rng):
        raise UsageError("rng must be a callable (n) -> n random bytes")
    if not callable(cfg.clock):
        raise UsageError("clock must be a callable () -> seconds since the epoch")


def _check_anchors(name: str, anchors: Any) -> tuple[x509.Certificate, ...]:
    anchors = tuple(anchors)
    for a in anchors:
        if not isinstance(a, x509.Certificate):
            raise UsageError(f"{name} entries must be x509.Certificate objects, got {type(a).__name__}")
    return anchors


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass
class ClientConfig:
    server_name: str | None = None            # SNI (not sent for an IP address) and the name the certificate must match
    alpn_protocols: tuple[bytes | str, ...] = ()
    versions: tuple[int, ...] = DEFAULT_VERSIONS            # (0x0304,), (0x0303,) or both: TLS 1.3 and/or 1.2
    cipher_suites: tuple[int, ...] | None = None            # None: the defaults of the enabled versions
    supported_groups: tuple[int, ...] = DEFAULT_GROUPS      # advertised; may list groups we cannot compute
    key_share_groups: tuple[int, ...] | None = None         # shares in the first ClientHello; None: first computable group
    signature_schemes: tuple[int, ...] = signatures.TLS13_SIGNATURE_SCHEMES
    trust_anchors: tuple[x509.Certificate, ...] = ()
    verify_peer: bool = True
    check_hostname: bool = True
    certificate_chain: tuple[x509.Certificate, ...] = ()    # for client authentication
    private_key: Any = None
    compatibility_mode: bool = False          # 32-byte legacy_session_id + change_cipher_spec (RFC 8446 D.4)
    record_size_limit: int | None = None      # RFC 8449, sent when set
    padding: Padding = 0                      # extra zero bytes per protected record: int or (content_type, length) -> n
    max_handshake_message_size: int = 65536
    renegotiation_info: bool = False          # empty renegotiation_info in the ClientHello (as in RFC 8448)
    session_ticket_extension: bool = False    # empty session_ticket in the ClientHello (as in RFC 8448)
    client_hello_padding: bool = False        # RFC 7685 padding to 512 bytes when the ClientHello is 256..511 bytes
    allow_renegotiation: bool = True          # TLS 1.2: False refuses HelloRequests and renegotiate()
    # Resumption (docs/resumption.md): the session to offer (bytes from session_data()); psk_ke / psk_dhe_ke;
    # TLS 1.3 tickets are single use unless ticket_reuse (RFC 8446 C.4); every ticket received goes to the
    # wallet, and resume_from_wallet offers its newest unused one when no session_data is given.
    session_data: bytes | None = field(default=None, repr=False)     # it holds a secret
    psk_modes: tuple[int, ...] = (PskKeyExchangeMode.PSK_DHE_KE,)
    ticket_reuse: bool = False
    wallet: TicketWallet | None = field(default=None, repr=False, compare=False)
    resume_from_wallet: bool = False
    rng: Callable[[int], bytes] = os.urandom
    clock: Callable[[], float] = time.time
    credential: Credential | None = field(init=False, default=None, repr=False)
    _sni: str | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_common(self)
        if self.server_name is not None:
            if not isinstance(self.server_name, str) or not self.server_name or not self.server_name.isascii() \
                    or len(self.server_name) > 253:
                raise UsageError(f"server_name must be an ASCII host name or IP address, got {self.server_name!r}")
            self.server_name = self.server_name.rstrip(".").lower()
            # RFC 6066 section 3: SNI carries host names only, never an IP address literal.
            self._sni = None if is_ip_address(self.server_name) else self.server_name
        if self.key_share_groups is None:
            self.key_share_groups = tuple(g for g in self.supported_groups if g in SUPPORTED_GROUPS)[:1]
        else:
            self.key_share_groups = _check_uint16_tuple("key_share_groups", self.key_share_groups, allow_empty=True)
            for g in self.key_share_groups:
                if g not in SUPPORTED_GROUPS:
                    raise UsageError(f"key_share_groups: cannot compute a key share for group 0x{g:04x}")
                if g not in self.supported_groups:
                    raise UsageError(f"key_share_groups: 0x{g:04x} is not in supported_groups (RFC 8446 4.2.8)")
        self.trust_anchors = _check_anchors("trust_anchors", self.trust_anchors)
        session_config.check_client(self)
        if self.verify_peer and not self.trust_anchors:
            raise UsageError("verify_peer=True needs trust_anchors (or set verify_peer=False)")
        if self.verify_peer and self.check_hostname and self.server_name is None:
            raise UsageError("check_hostname=True needs server_name (or set check_hostname=False)")
        if self.certificate_chain or self.private_key is not None:
            self.credential = make_credential(self.certificate_chain, self.private_key, "client certificate")
            self.certificate_chain = self.credential.chain

    @property
    def sni(self) -> str | None:
        """The host name sent in server_name: none for an IP address (RFC 6066 section 3)."""
        return self._sni


@dataclass
class ServerConfig:
    certificate_chain: tuple[x509.Certificate, ...] = ()
    private_key: Any = None
    certificates: tuple[tuple[tuple[x509.Certificate, ...], Any], ...] = ()   # more (chain, key) pairs
    alpn_protocols: tuple[bytes | str, ...] = ()       # server preference order
    versions: tuple[int, ...] = DEFAULT_VERSIONS        # (0x0304,), (0x0303,) or both: TLS 1.3 and/or 1.2
    cipher_suites: tuple[int, ...] | None = None        # server preference order; None: the defaults of the versions
    supported_groups: tuple[int, ...] = DEFAULT_GROUPS         # preference order; HelloRetryRequest when needed
    signature_schemes: tuple[int, ...] = signatures.TLS13_SIGNATURE_SCHEMES
    request_client_certificate: bool = False
    require_client_certificate: bool = False
    client_trust_anchors: tuple[x509.Certificate, ...] = ()
    verify_client_certificate: bool = True     # verify a client chain against client_trust_anchors
    hello_retry_cookie: bool = True            # cookie in HelloRetryRequest: HMAC over the ClientHello1 hash
    send_supported_groups_in_ee: bool = True   # as in RFC 8448
    record_size_limit: int | None = None
    padding: Padding = 0
    max_handshake_message_size: int = 65536
    # TLS 1.2 renegotiation policy. allow_renegotiation=False refuses every renegotiation (no_renegotiation
    # warning alert; renegotiate() fails). A client-initiated one is refused unless allow_client_renegotiation
    # (OpenSSL's default too), and then at most client_renegotiation_limit = (count, seconds) in any window.
    allow_renegotiation: bool = True
    allow_client_renegotiation: bool = False
    client_renegotiation_limit: tuple[int, float] | None = None
    # Tickets and resumption (docs/resumption.md). ticket_count NewSessionTickets after each TLS 1.3
    # handshake (send_ticket() sends more); tickets: SessionTickets (stateless, sealed under a rotating
    # TicketKeyRing, by default; or stateful) shared by the connections of this config. 0-RTT is offered
    # in tickets when max_early_data > 0, and accepted once per ticket (anti_replay) within the age window.
    ticket_count: int = session_config.DEFAULT_TICKET_COUNT
    ticket_lifetime: int = session_config.DEFAULT_TICKET_LIFETIME
    tickets: SessionTickets | TicketKeyRing | None = None
    psk_modes: tuple[int, ...] = (PskKeyExchangeMode.PSK_DHE_KE,)
    max_early_data: int = 0
    early_data_age_tolerance: float = DEFAULT_AGE_TOLERANCE
    anti_replay: ReplayRegister | None = None
    session_cache: SessionCache | None = None     # TLS 1.2 session IDs (extended master secret ones), bounded
    rng: Callable[[int], bytes] = os.urandom
    clock: Callable[[], float] = time.time
    credentials: tuple[Credential, ...] = field(init=False, default=(), repr=False)

    def __post_init__(self) -> None:
        _check_common(self)
        creds = []
        if self.certificate_chain or self.private_key is not None:
            creds.append(make_credential(self.certificate_chain, self.private_key, "server certificate"))
            self.certificate_chain = creds[0].chain
        for i, pair in enumerate(self.certificates):
            try:
                chain, key = pair
            except (TypeError, ValueError):
                raise UsageError(f"certificates[{i}] must be a (chain, private_key) pair") from None
            creds.append(make_credential(chain, key, f"certificates[{i}]"))
        if not creds:
            raise UsageError("a server needs a certificate chain and private key")
        self.credentials = tuple(creds)
        self.client_trust_anchors = _check_anchors("client_trust_anchors", self.client_trust_anchors)
        session_config.check_server(self)
        if self.require_client_certificate:
            self.request_client_certificate = True
        if self.request_client_certificate and self.verify_client_certificate and not self.client_trust_anchors:
            raise UsageError("requesting a client certificate with verify_client_certificate=True needs "
                             "client_trust_anchors")

    @property
    def computable_groups(self) -> tuple[int, ...]:
        """supported_groups this engine can do key exchange with, in preference order."""
        groups = self.supported_groups
        computable = _COMPUTABLE.get(groups) if type(groups) is tuple else None
        if computable is None:
            computable = tuple(g for g in groups if g in SUPPORTED_GROUPS)
            if type(groups) is tuple:
                _keep(_COMPUTABLE, groups, computable)
        return computable


def draw_random(config: ClientConfig | ServerConfig, n: int, what: str) -> bytes:
    """n bytes from the config's rng, checked: a bad rng is the caller's mistake, named with `what`
    (ClientHello.random, a key share, ...)."""
    value = config.rng(n)
    if type(value) is bytes and len(value) == n:
        return value                    # what os.urandom gives: no copy
    if not isinstance(value, (bytes, bytearray)) or len(value) != n:
        size = f"{len(value)} bytes" if hasattr(value, "__len__") else repr(value)
        raise UsageError(f"rng returned {size} for {what}, expected {n} bytes")
    return bytes(value)


def suites_of_version(cipher_suites: Sequence[int], version: int) -> tuple[int, ...]:
    """The suites of one protocol version, in the order given (a config may list 1.3 and 1.2 suites)."""
    if type(cipher_suites) is not tuple:
        return tuple(code for code in cipher_suites if CIPHER_SUITES[code].version == version)
    key = (cipher_suites, version)
    suites = _SUITES_OF_VERSION.get(key)
    if suites is None:
        suites = tuple(code for code in cipher_suites if CIPHER_SUITES[code].version == version)
        _keep(_SUITES_OF_VERSION, key, suites)
    return suites


# Every handshake asks the two functions above about its config's tuples; the answers depend on
# the tuples' contents only, so they are kept by value (a config changed later gets its own entry).
_DERIVED_LIMIT = 64
_SUITES_OF_VERSION: dict[tuple[tuple[int, ...], int], tuple[int, ...]] = {}
_COMPUTABLE: dict[tuple[int, ...], tuple[int, ...]] = {}


def _keep(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= _DERIVED_LIMIT:
        cache.clear()              # a handful of configs is the usual case: start over rather than track age
    cache[key] = value
