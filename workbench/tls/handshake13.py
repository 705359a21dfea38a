"""What the TLS 1.3 client and server state machines share.

- `HandshakeState`: the base of every state class (one class per state, rustls style). A state
  names the handshake types it accepts in `expected`; the connection refuses anything else with
  an unexpected_message that says what was expected and what arrived.
- Extension rules of RFC 8446 4.2: no duplicates, a response only to what was offered, and each
  extension only in the messages that may carry it.
- The certificate side of authentication, used by both roles: building Certificate and
  CertificateVerify, checking a peer's chain and its CertificateVerify.
- Rules that are the same under TLS 1.2 (handshake12 and its states use them too): server_name
  and ALPN in the server's answer, checking the peer's Finished.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

from cryptography import x509

from . import signatures
from .config import Credential
from .enums import ExtensionType, HandshakeType, SignatureScheme, name_of
from .errors import (BadCertificate, DecryptError, IllegalParameter, NoApplicationProtocol, UnexpectedMessage,
                     UnsupportedExtension)
from .extensions import ALPN, ServerName, extension_type
from .messages import Certificate, CertificateEntry, CertificateVerify, Finished, ServerHello
from .verify import verify_certificate_chain

if TYPE_CHECKING:
    from .connection import Connection

TLS13 = 0x0304
E = ExtensionType
_UTC = timezone.utc

# RFC 8446 4.2 (and RFC 8449 for record_size_limit): which extensions each message may carry.
ALLOWED_IN_SERVER_HELLO = frozenset({E.KEY_SHARE, E.PRE_SHARED_KEY, E.SUPPORTED_VERSIONS})
ALLOWED_IN_HELLO_RETRY = frozenset({E.KEY_SHARE, E.COOKIE, E.SUPPORTED_VERSIONS})
ALLOWED_IN_ENCRYPTED_EXTENSIONS = frozenset({
    E.SERVER_NAME, E.MAX_FRAGMENT_LENGTH, E.SUPPORTED_GROUPS, E.USE_SRTP, E.HEARTBEAT,
    E.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, E.CLIENT_CERTIFICATE_TYPE, E.SERVER_CERTIFICATE_TYPE,
    E.EARLY_DATA, E.RECORD_SIZE_LIMIT,
})
ALLOWED_IN_CERTIFICATE = frozenset({E.STATUS_REQUEST, E.SIGNED_CERTIFICATE_TIMESTAMP})


def message_name(msg_type: int, message: Any = None) -> str:
    """A readable name for a handshake message; a ServerHello carrying the HRR random is "HelloRetryRequest"."""
    if isinstance(message, ServerHello) and message.is_hello_retry_request:
        return "HelloRetryRequest"
    try:
        return "".join(part.capitalize() for part in HandshakeType(msg_type).name.split("_"))
    except ValueError:
        return f"handshake type {msg_type}"


class HandshakeState:
    """One state of a handshake. `handle` processes one accepted message and returns the next state."""

    expected: ClassVar[tuple[int, ...]] = ()

    def handle(self, conn: "Connection", message: Any, raw: bytes) -> "HandshakeState":
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def expected_names(self) -> str:
        if not self.expected:
            return "no handshake message"
        return " or ".join(message_name(t) for t in self.expected)

    def unexpected(self, msg_type: int, message: Any = None, why: str | None = None) -> UnexpectedMessage:
        received = message_name(msg_type, message)
        return UnexpectedMessage(why or f"{received} is not acceptable in state {self.name}",
                                 expected=self.expected_names(), received=received)

    def __repr__(self) -> str:
        return f"<{self.name} expecting {self.expected_names()}>"


# --- extension rules ------------------------------------------------------------------------------

def ext_name(ext_type: int) -> str:
    return name_of(ExtensionType, ext_type)


def check_no_duplicates(extensions: Iterable[Any], where: str) -> dict[int, None]:
    """RFC 8446 4.2: at most one extension of each type in a block. Returns the types, in wire order."""
    seen: dict[int, None] = {}
    for ext in extensions:
        t = extension_type(ext)
        if t in seen:
            raise IllegalParameter(f"{where} carries the {ext_name(t)} extension twice")
        seen[t] = None
    return seen


def check_response_extensions(extensions: Iterable[Any], where: str, allowed: frozenset[int],
                              offered: set[int] | frozenset[int]) -> None:
    """Extensions in a response: only what was offered (unsupported_extension), and only those
    the message may carry (illegal_parameter)."""
    for t in check_no_duplicates(extensions, where):
        if t in offered and t in allowed:
            continue
        if t not in offered:
            raise UnsupportedExtension(f"{where} carries {ext_name(t)}, which was not offered",
                                       expected=", ".join(ext_name(o) for o in sorted(offered)) or "none",
                                       received=ext_name(t))
        raise IllegalParameter(f"{where} must not carry the {ext_name(t)} extension")


# --- the server's answer (TLS 1.3 and 1.2) -----------------------------------------------------------

def check_suite_and_compression(sh: ServerHello, offered_suites: Sequence[int], what: str = "ServerHello") -> None:
    """Client side: a ServerHello (or HelloRetryRequest) selects a cipher suite we offered, and no compression."""
    if sh.cipher_suite not in offered_suites:
        raise IllegalParameter(f"{what} selects cipher suite {sh.cipher_suite:#06x}, which was not offered",
                               expected=", ".join(f"{c:#06x}" for c in offered_suites),
                               received=f"{sh.cipher_suite:#06x}")
    if sh.legacy_compression_method != 0:
        raise IllegalParameter(f"{what} selects compression method {sh.legacy_compression_method}",
                               expected="0", received=str(sh.legacy_compression_method))


# --- server_name and ALPN (TLS 1.3 and 1.2) --------------------------------------------------------

def choose_alpn(own_protocols: Sequence[bytes], client_hello: Any) -> bytes | None:
    """Server side (RFC 7301 3.2): the first of our protocols that the ClientHello offers; None when
    either side has none, no_application_protocol when none is in common."""
    if not own_protocols:
        return None                 # without looking: most servers have no ALPN protocols
    client_alpn = client_hello.get_extension(ALPN)
    if client_alpn is None:
        return None
    alpn = next((p for p in own_protocols if p in client_alpn.protocols), None)
    if alpn is None:
        raise NoApplicationProtocol("no application protocol in common",
                                    expected=", ".join(p.decode("latin-1") for p in own_protocols),
                                    received=", ".join(p.decode("latin-1") for p in client_alpn.protocols))
    return alpn


def check_alpn_choice(offered: Sequence[bytes], message: Any) -> bytes | None:
    """Client side: the protocol the server chose in `message` (1.2 ServerHello, 1.3 EncryptedExtensions),
    exactly one and one we offered; None when it chose none."""
    alpn = message.get_extension(ALPN)
    if alpn is None:
        return None
    if len(alpn.protocols) != 1:
        raise IllegalParameter(f"server ALPN lists {len(alpn.protocols)} protocols", expected="exactly one",
                               received=str(len(alpn.protocols)))
    chosen = alpn.protocols[0]
    if chosen not in offered:
        raise IllegalParameter(f"server chose ALPN protocol {chosen!r}, which was not offered",
                               expected=", ".join(p.decode("latin-1") for p in offered),
                               received=chosen.decode("latin-1"))
    return chosen


def check_server_name_ack(message: Any) -> None:
    """Client side: a server that used our server_name acknowledges it with an empty extension (RFC 6066 3)."""
    server_name = message.get_extension(ServerName)
    if server_name is not None and server_name.host_name is not None:
        raise IllegalParameter("server's server_name acknowledgement must be empty",
                               expected="empty extension", received=server_name.host_name)


# --- Finished (TLS 1.3 and 1.2) -------------------------------------------------------------------

def check_peer_finished(expected: bytes, fin: Finished, who: str) -> None:
    """The peer's Finished carries the verify_data we computed, or the handshake fails with decrypt_error."""
    if not hmac.compare_digest(expected, fin.verify_data):
        raise DecryptError(f"{who} Finished does not match the handshake", expected=expected.hex(),
                           received=fin.verify_data.hex())


# --- certificates and CertificateVerify -----------------------------------------------------------

def choose_signature(credentials: Sequence[Credential], peer_schemes: Sequence[int],
                     own_schemes: Sequence[int]) -> tuple[Credential, int] | None:
    """The first scheme in the peer's preference order that we allow and one of our keys can
    sign with; the credential is the first that fits it."""
    # own_schemes is a config's short tuple: looking through it costs less than making a set of it.
    for scheme in peer_schemes:
        if scheme not in own_schemes:
            continue
        for cred in credentials:
            if scheme in cred.schemes:
                return cred, scheme
    return None


def certificate_message(context: bytes, credential: Credential | None) -> Certificate:
    entries = () if credential is None else tuple([CertificateEntry(der) for der in credential.chain_der])
    return Certificate(context, entries)


def sign_certificate_verify(credential: Credential, scheme: int, transcript_hash: bytes,
                            server: bool) -> CertificateVerify:
    content = signatures.certificate_verify_content(transcript_hash, server)
    return CertificateVerify(scheme, signatures.sign(credential.private_key, scheme, content))


def check_certificate_entries(msg: Certificate, where: str) -> tuple[bytes, ...]:
    """The DER chain of a Certificate message; we request no per-certificate extensions."""
    chain = []
    for entry in msg.certificate_list:
        if entry.extensions:
            t = extension_type(entry.extensions[0])
            raise UnsupportedExtension(f"{where} entry carries {ext_name(t)}, which was not requested",
                                       expected="no certificate extensions", received=ext_name(t))
        chain.append(entry.cert_data)
    return tuple(chain)


def peer_public_key(chain_der: Sequence[bytes], *, verify: bool, trust_anchors: Sequence[x509.Certificate],
                    server_name: str | None, clock_seconds: float, for_server: bool):
    """Check a peer's chain (when `verify`) and return the leaf's public key."""
    if verify:
        now = datetime.fromtimestamp(clock_seconds, _UTC)
        leaf = verify_certificate_chain(chain_der, trust_anchors=trust_anchors, server_name=server_name,
                                        now=now, for_server=for_server)
    else:
        try:
            leaf = x509.load_der_x509_certificate(chain_der[0])
        except ValueError as exc:
            raise BadCertificate(f"peer certificate is not valid DER: {exc}") from None
    try:
        return leaf.public_key()
    except (ValueError, TypeError) as exc:
        raise BadCertificate(f"peer certificate's public key is unusable: {exc}") from None


def verify_certificate_verify(public_key: Any, cv: CertificateVerify, transcript_hash: bytes, *,
                              offered: Sequence[int], server: bool, who: str) -> None:
    """The peer's CertificateVerify: a scheme we offered, fitting the key, and a good signature."""
    if cv.algorithm not in offered:
        raise IllegalParameter(f"{who} signed with {name_of(SignatureScheme, cv.algorithm)}, which was not offered",
                               expected=", ".join(name_of(SignatureScheme, s) for s in offered),
                               received=name_of(SignatureScheme, cv.algorithm))
    content = signatures.certificate_verify_content(transcript_hash, server)
    signatures.verify(public_key, cv.algorithm, cv.signature, content)


def require_empty_context(context: bytes, where: str) -> None:
    if context:
        raise IllegalParameter(f"{where} certificate_request_context must be empty during the handshake, "
                               f"got {len(context)} bytes")
