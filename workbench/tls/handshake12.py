"""What the TLS 1.2 client and server state machines share (RFC 5246, RFC 8422, RFC 7627, RFC 5746).

- `State12`: the base of every TLS 1.2 state. Unlike TLS 1.3, a change_cipher_spec is part of the
  protocol: a state that expects one says so by overriding `change_cipher_spec`.
- Version negotiation: what a ClientHello offers, which version a server picks, the downgrade
  sentinel of RFC 8446 4.1.3 in ServerHello.random.
- The key material: (extended) master secret, key block, record protection per direction,
  Finished verify_data; `Session12`, what a session ID stands for.
- The end of a handshake on either side: a change_cipher_spec and a Finished sent, or received
  and checked.
- Choosing a suite, a certificate and a signature scheme for the ECDHE suites.

Epochs: the keys of the first handshake protect epoch "application-0", those of the Nth
renegotiation "application-N" (the names the capture and timeline packages use).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from . import signatures
from .cipher_suites import CIPHER_SUITES, CipherSuiteInfo
from .config import Credential, suites_of_version
from .enums import (AlertDescription, CipherSuite, ExtensionType, HandshakeType, ProtocolVersion, SignatureScheme,
                    name_of)
from .errors import DecodeError, IllegalParameter, ProtocolError, ProtocolVersionError, UnexpectedMessage
from .extensions import (ECPointFormats, ExtendedMasterSecret, RenegotiationInfo, SupportedVersionsClientHello,
                         SupportedVersionsServerHello, extension_type)
from .handshake13 import HandshakeState, check_peer_finished
from .key_schedule import DerivedSecret, extended_master_secret12, finished12, key_block12, master_secret12
from .messages import Finished
from .record_protection import TLS12AEADProtection

if TYPE_CHECKING:
    from .connection import Connection

TLS12 = int(ProtocolVersion.TLS12)
TLS13 = int(ProtocolVersion.TLS13)
E = ExtensionType
HT = HandshakeType

# RFC 8446 4.1.3: the last 8 bytes of ServerHello.random of a TLS 1.3 server that negotiates 1.2 (or below).
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"
UNCOMPRESSED_POINTS = 0                 # ec_point_formats: the only format in use (RFC 8422 5.1.2)
CERTIFICATE_TYPE_RSA_SIGN = 1           # ClientCertificateType (RFC 5246 7.4.4, RFC 8422 5.5)
CERTIFICATE_TYPE_ECDSA_SIGN = 64
FINISHED_LENGTH = 12
SCSV_RENEGOTIATION = int(CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
SCSV_FALLBACK = int(CipherSuite.TLS_FALLBACK_SCSV)

# What a TLS 1.2 ServerHello may carry (each only when the client offered it).
ALLOWED_IN_SERVER_HELLO12 = frozenset({
    E.SERVER_NAME, E.EC_POINT_FORMATS, E.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, E.EXTENDED_MASTER_SECRET,
    E.SESSION_TICKET, E.RENEGOTIATION_INFO, E.RECORD_SIZE_LIMIT, E.ENCRYPT_THEN_MAC, E.STATUS_REQUEST,
    E.SIGNED_CERTIFICATE_TIMESTAMP,
})


def epoch_name(handshake_index: int) -> str:
    """The epoch the keys of one handshake protect: 0 for the first, N for the Nth renegotiation."""
    return f"application-{handshake_index}"


# --- states ---------------------------------------------------------------------------------------

class State12(HandshakeState):
    """A TLS 1.2 handshake state. `change_cipher_spec` is called for a change_cipher_spec record;
    states that expect one override it and return the next state."""

    def change_cipher_spec(self, conn: "Connection") -> HandshakeState:
        raise UnexpectedMessage(f"change_cipher_spec is not acceptable in state {self.name}",
                                expected=self.expected_names(), received="change_cipher_spec")


# --- sessions -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Session12:
    """A TLS 1.2 session: what its session ID stands for, enough to resume it (RFC 5246 7.4.1.2)."""
    session_id: bytes
    cipher_suite: int
    master_secret: bytes
    extended_master_secret: bool
    peer_certificates: tuple[bytes, ...] = ()
    server_name: str | None = None
    alpn: bytes | None = None

    @property
    def resumable(self) -> bool:
        return bool(self.session_id)


# --- version negotiation --------------------------------------------------------------------------

def offered_versions(config: Any) -> tuple[int, ...]:
    """The supported_versions list of a TLS 1.3 ClientHello: (0x0304,) or (0x0304, 0x0303)."""
    return tuple(v for v in config.versions if v in (TLS13, TLS12))


def client_versions(ch: Any) -> set[int]:
    """The versions a ClientHello offers: its supported_versions, else everything up to legacy_version."""
    versions = ch.get_extension(SupportedVersionsClientHello)
    if versions is not None:
        return set(versions.versions)
    return {v for v in (TLS12,) if ch.legacy_version >= v}


def server_chooses_tls12(config: Any, ch: Any) -> bool:
    """True when a server with `config` answers this ClientHello with TLS 1.2.

    TLS 1.3 wins when both sides have it. With no version in common, a server that speaks 1.2
    refuses here (protocol_version); a 1.3-only server leaves that to its own checks. A client
    that falls back below the server's best version while sending TLS_FALLBACK_SCSV is refused
    with inappropriate_fallback (RFC 7507)."""
    if TLS12 not in config.versions:
        return False
    offered = client_versions(ch)
    if TLS13 in config.versions and TLS13 in offered:
        return False
    if TLS12 not in offered:
        names = ", ".join(f"0x{v:04x}" for v in sorted(offered)) or f"legacy_version 0x{ch.legacy_version:04x}"
        raise ProtocolVersionError("no protocol version in common", expected=_version_names(config.versions),
                                   received=names)
    if TLS13 in config.versions and SCSV_FALLBACK in ch.cipher_suites:
        raise ProtocolError("client fell back to TLS 1.2 (TLS_FALLBACK_SCSV) although this server speaks TLS 1.3",
                            alert=AlertDescription.inappropriate_fallback)
    return True


def _version_names(versions: Sequence[int]) -> str:
    return ", ".join("TLS 1.3" if v == TLS13 else "TLS 1.2" for v in versions)


def check_downgrade_sentinel(server_random: bytes) -> None:
    """RFC 8446 4.1.3: a client that offered TLS 1.3 refuses a 1.2 ServerHello whose random ends
    with a downgrade sentinel: a TLS 1.3 server was made to negotiate less."""
    tail = server_random[-8:]
    if tail in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
        raise IllegalParameter("ServerHello.random carries the TLS 1.3 downgrade sentinel: a TLS 1.3 server was "
                               "forced down to TLS 1.2", expected="a TLS 1.3 ServerHello", received=tail.hex())


def server_random12(random: bytes, tls13_enabled: bool) -> bytes:
    """ServerHello.random of a TLS 1.2 handshake; a server that also speaks 1.3 marks it (RFC 8446 4.1.3)."""
    return random[:24] + DOWNGRADE_TLS12 if tls13_enabled else random


# --- extensions -----------------------------------------------------------------------------------

def client_hello_extensions12(config: Any, present: set[int], renegotiated_connection: bytes = b"") -> list[Any]:
    """The TLS 1.2 extensions of a ClientHello that also offers 1.2, minus those already in `present`."""
    out: list[Any] = []
    if E.EC_POINT_FORMATS not in present:
        out.append(ECPointFormats((UNCOMPRESSED_POINTS,)))
    if E.EXTENDED_MASTER_SECRET not in present:
        out.append(ExtendedMasterSecret())
    if E.RENEGOTIATION_INFO not in present:
        out.append(RenegotiationInfo(renegotiated_connection))
    return out


def check_point_formats(message: Any, where: str) -> None:
    formats = message.get_extension(ECPointFormats)
    if formats is not None and UNCOMPRESSED_POINTS not in formats.formats:
        raise IllegalParameter(f"{where} ec_point_formats lacks the uncompressed format (RFC 8422 5.1.2)",
                               expected="0 (uncompressed)", received=str(list(formats.formats)))


def extension_names(extensions: Sequence[Any]) -> str:
    return ", ".join(name_of(ExtensionType, extension_type(e)) for e in extensions) or "none"


# --- suites, certificates, signatures ---------------------------------------------------------------

def key_authentication(key: Any) -> str | None:
    """Which suites a certificate key can serve: "ECDSA" (EC and EdDSA keys, RFC 8422) or "RSA"."""
    public = key.public_key() if hasattr(key, "public_key") else key
    if isinstance(public, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "ECDSA"
    if isinstance(public, rsa.RSAPublicKey):
        return "RSA"
    return None


def certificate_type(key: Any) -> int:
    return CERTIFICATE_TYPE_RSA_SIGN if key_authentication(key) == "RSA" else CERTIFICATE_TYPE_ECDSA_SIGN


def choose_scheme12(key: Any, peer_schemes: Sequence[int], own_schemes: Sequence[int]) -> int | None:
    """The first scheme in the peer's order that we allow and this key can sign with under TLS 1.2 rules."""
    usable = set(signatures.schemes_for_key12(key)) & set(own_schemes)
    return next((s for s in peer_schemes if s in usable), None)


def choose_suite12(cipher_suites: Sequence[int], client_suites: Sequence[int], credentials: Sequence[Credential],
                   peer_schemes: Sequence[int], own_schemes: Sequence[int]
                   ) -> tuple[CipherSuiteInfo, Credential, int] | None:
    """Server side: the first of our 1.2 suites the client offers for which one of our certificates
    fits the suite's authentication and can sign with a scheme the client accepts."""
    for code in suites_of_version(cipher_suites, TLS12):
        if code not in client_suites:
            continue
        suite = CIPHER_SUITES[code]
        for credential in credentials:
            if key_authentication(credential.private_key) != suite.authentication:
                continue
            scheme = choose_scheme12(credential.private_key, peer_schemes, own_schemes)
            if scheme is not None:
                return suite, credential, scheme
    return None


def ske_signed_content(client_random: bytes, server_random: bytes, params: bytes) -> bytes:
    """What a ServerKeyExchange signature covers (RFC 8422 5.4)."""
    return client_random + server_random + params


def scheme_name(scheme: int) -> str:
    return name_of(SignatureScheme, scheme)


# --- key material ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Keys12:
    """The record protection of both directions for one handshake, ready to install at each CCS."""
    client_write: TLS12AEADProtection
    server_write: TLS12AEADProtection


def derive_master_secret(suite: CipherSuiteInfo, pre_master: bytes, client_random: bytes, server_random: bytes,
                         session_hash: bytes | None) -> tuple[bytes, DerivedSecret]:
    """The master secret: extended (RFC 7627) when `session_hash` is given; with its key log entry."""
    if session_hash is not None:
        secret = extended_master_secret12(suite.hash, pre_master, session_hash)
        return secret, DerivedSecret("master secret (1.2)", secret, "CLIENT_RANDOM",
                                     ("pre-master secret", "session hash"))
    secret = master_secret12(suite.hash, pre_master, client_random, server_random)
    return secret, DerivedSecret("master secret (1.2)", secret, "CLIENT_RANDOM", ("pre-master secret", "randoms"))


def resumed_master_secret(master_secret: bytes) -> DerivedSecret:
    """The key log entry of an abbreviated handshake: the session's master secret with the new randoms."""
    return DerivedSecret("master secret (1.2)", master_secret, "CLIENT_RANDOM", ("resumed session",))


def make_keys(suite: CipherSuiteInfo, master_secret: bytes, client_random: bytes, server_random: bytes,
              epoch: str) -> Keys12:
    client_key, server_key, client_iv, server_iv = key_block12(suite, master_secret, client_random, server_random)
    return Keys12(TLS12AEADProtection(suite, client_key, client_iv, epoch),
                  TLS12AEADProtection(suite, server_key, server_iv, epoch))


def verify_data(suite: CipherSuiteInfo, master_secret: bytes, client: bool, transcript_hash: bytes) -> bytes:
    label = b"client finished" if client else b"server finished"
    return finished12(suite.hash, master_secret, label, transcript_hash)


def check_finished_length(fin: Any, who: str) -> None:
    if len(fin.verify_data) != FINISHED_LENGTH:
        raise DecodeError(f"{who} Finished of {len(fin.verify_data)} bytes", expected="12 bytes",
                          received=f"{len(fin.verify_data)} bytes")


# --- change_cipher_spec and Finished, either side --------------------------------------------------

def send_finished(conn: "Connection", hs: Any, *, by_client: bool) -> bytes:
    """Our change_cipher_spec, then our Finished under the new write keys (hashed); its verify_data."""
    conn.send_change_cipher_spec12()
    conn.install_protection("write", hs.keys.client_write if by_client else hs.keys.server_write, hs.index)
    data = verify_data(hs.suite, hs.master_secret, by_client, hs.transcript.digest())
    hs.transcript.update(conn.send_handshake_message(Finished(data)))
    return data


def receive_change_cipher_spec(conn: "Connection", hs: Any, *, from_client: bool) -> None:
    """The peer's change_cipher_spec: what it sends next is under the new keys."""
    if hs.renegotiation is not None:
        conn.set_application_read(False)     # no data between the peer's CCS and its Finished
    conn.install_protection("read", hs.keys.client_write if from_client else hs.keys.server_write, hs.index)


def receive_finished(hs: Any, fin: Any, raw: bytes, *, from_client: bool) -> bytes:
    """The peer's Finished: 12 bytes, matching the handshake so far; hashed after. Its verify_data."""
    who = "client" if from_client else "server"
    check_finished_length(fin, who)
    check_peer_finished(verify_data(hs.suite, hs.master_secret, from_client, hs.transcript.digest()), fin, who)
    hs.transcript.update(raw)
    return fin.verify_data



def client_gets_tls12(config: Any, sh: Any) -> bool:
    """A client that offered TLS 1.3 and 1.2 reads a ServerHello without supported_versions as TLS 1.2
    (RFC 8446 4.1.3); with supported_versions it is a TLS 1.3 ServerHello (or an error found there)."""
    return TLS12 in config.versions and sh.get_extension(SupportedVersionsServerHello) is None
