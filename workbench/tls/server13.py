"""The TLS 1.3 server handshake (RFC 8446), one class per state.

    ExpectClientHello --HRR--> ExpectClientHelloAfterRetry
        -> (ServerHello, EncryptedExtensions, [CertificateRequest], Certificate, CertificateVerify, Finished)
        -> [ExpectCertificate -> ExpectCertificateVerify] -> ExpectFinished -> ExpectTraffic
    resumed (server_resumption): (ServerHello + pre_shared_key, EncryptedExtensions, Finished)
        -> [ExpectEndOfEarlyData, after accepted 0-RTT] -> ExpectFinished -> NewSessionTickets

A HelloRetryRequest is sent when the client did not send a key share for the server's most
preferred group among those both sides support. Randomness is drawn in a fixed order:
ServerHello.random (32 bytes), then the key share private key; a HelloRetryRequest with a cookie
first draws the 32-byte cookie key; each NewSessionTicket draws its ticket_age_add (4 bytes), then
its ticket (the AEAD nonce, or a stateful identity).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from . import key_update, server12, server_resumption
from .cipher_suites import CipherSuiteInfo, suite_info
from .config import Credential, ServerConfig, draw_random, suites_of_version
from .enums import HandshakeType, NamedGroup, PskKeyExchangeMode, SignatureScheme, name_of
from .errors import (CertificateRequired, HandshakeFailure, IllegalParameter, MissingExtension, ProtocolVersionError)
from .events import HelloRetryRequested
from .extensions import (ALPN, Cookie, EarlyData, KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest,
                         KeyShareServerHello, PreSharedKeyClientHello, PreSharedKeyServerHello, RecordSizeLimit,
                         ServerName, SignatureAlgorithms, SupportedGroups, SupportedVersionsClientHello,
                         SupportedVersionsServerHello)
from .handshake12 import server_chooses_tls12
from .handshake13 import (TLS13, HandshakeState, certificate_message, check_certificate_entries, check_no_duplicates,
                          check_peer_finished, choose_alpn, choose_signature, peer_public_key, sign_certificate_verify,
                          verify_certificate_verify)
from .key_exchange import KeyShare
from .key_schedule import KeySchedule, Transcript
from .messages import HELLO_RETRY_REQUEST_RANDOM, CertificateRequest, EncryptedExtensions, Finished, ServerHello

HT = HandshakeType
# Extensions with the same content in every handshake (codec objects are immutable).
_SELECTED_TLS13 = SupportedVersionsServerHello(TLS13)
_SERVER_NAME_ACK = ServerName(None)                  # RFC 6066 3: the empty acknowledgement


@dataclass(slots=True)
class ClientOffer:
    """What the server decided from one ClientHello."""
    hello: Any
    suite: CipherSuiteInfo
    group: int
    share: KeyShareEntry | None          # the client's share for `group`, None -> HelloRetryRequest
    credential: Credential
    scheme: int
    alpn: bytes | None
    server_name: str | None
    record_size_limit: int | None
    early_data: bool


class ServerHandshake:
    """The data of one server handshake, shared by its states."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.transcript: Transcript | None = None
        self.key_schedule: KeySchedule | None = None
        self.suite: CipherSuiteInfo | None = None
        self.client_hs = b""
        self.client_ap = b""
        self.requested_certificate = False
        self.resumption: server_resumption.AcceptedPsk | None = None     # the PSK resumed with


def _names(enum_cls, values) -> str:
    return ", ".join(name_of(enum_cls, v) for v in values) or "none"


def _first_of_each_class(extensions: tuple[Any, ...]) -> dict[type, Any]:
    """Each extension class in a block mapped to its first extension, which is what get_extension
    finds (extension classes have no subclasses): one walk for the many lookups a ClientHello needs."""
    found = {}
    for ext in reversed(extensions):            # an earlier extension overwrites a later one of its class
        found[type(ext)] = ext
    return found


def examine_client_hello(config: ServerConfig, ch: Any) -> ClientOffer:
    """Every check of RFC 8446 4.1.2 / 4.2 a server makes on a ClientHello, and the choices it makes."""
    found = _first_of_each_class(ch.extensions)
    versions = found.get(SupportedVersionsClientHello)
    if versions is None or TLS13 not in versions.versions:
        offered = f"supported_versions {[f'{v:#06x}' for v in versions.versions]}" if versions else \
            f"legacy_version {ch.legacy_version:#06x} and no supported_versions"
        raise ProtocolVersionError("client does not offer TLS 1.3", expected="0x0304", received=offered)
    if ch.legacy_compression_methods != b"\x00":
        raise IllegalParameter("TLS 1.3 ClientHello must offer only the null compression method",
                               expected="00", received=ch.legacy_compression_methods.hex())
    if len(ch.legacy_session_id) > 32:
        raise IllegalParameter(f"legacy_session_id of {len(ch.legacy_session_id)} bytes", expected="at most 32",
                               received=str(len(ch.legacy_session_id)))
    check_no_duplicates(ch.extensions, "ClientHello")
    psk = found.get(PreSharedKeyClientHello)
    if psk is not None and ch.extensions[-1] is not psk:
        raise IllegalParameter("pre_shared_key must be the last ClientHello extension (RFC 8446 4.2.11)")

    # Loops rather than next() over a generator: this runs for every ClientHello.
    own_suites = suites_of_version(config.cipher_suites, TLS13)
    offered_suites = ch.cipher_suites
    for suite_code in own_suites:
        if suite_code in offered_suites:
            break
    else:
        raise HandshakeFailure("no cipher suite in common", expected=_names_hex(own_suites),
                               received=_names_hex(offered_suites))

    groups = found.get(SupportedGroups)
    key_share = found.get(KeyShareClientHello)
    if groups is None or key_share is None:
        missing = "supported_groups" if groups is None else "key_share"
        raise MissingExtension(f"ClientHello has no {missing} (needed without a PSK, RFC 8446 9.2)")
    client_groups = groups.groups
    share_groups = [entry.group for entry in key_share.shares]
    if len(set(share_groups)) != len(share_groups):
        raise IllegalParameter("ClientHello has two key shares for the same group",
                               received=_names(NamedGroup, share_groups))
    for g in share_groups:
        if g not in client_groups:
            raise IllegalParameter(f"key share for {name_of(NamedGroup, g)}, which supported_groups does not list",
                                   expected=_names(NamedGroup, client_groups), received=name_of(NamedGroup, g))
    computable = config.computable_groups
    for group in computable:
        if group in client_groups:
            break
    else:
        raise HandshakeFailure("no key exchange group in common", expected=_names(NamedGroup, computable),
                               received=_names(NamedGroup, client_groups))
    share = None
    for entry in key_share.shares:
        if entry.group == group:
            share = entry
            break

    algorithms = found.get(SignatureAlgorithms)
    if algorithms is None:
        raise MissingExtension("ClientHello has no signature_algorithms (needed for certificate authentication)")
    choice = choose_signature(config.credentials, algorithms.schemes, config.signature_schemes)
    if choice is None:
        raise HandshakeFailure("no certificate of this server can sign with a scheme the client offers",
                               expected=_names(SignatureScheme, sorted({s for c in config.credentials
                                                                        for s in c.schemes})),
                               received=_names(SignatureScheme, algorithms.schemes))

    alpn = choose_alpn(config.alpn_protocols, ch)

    limit_ext = found.get(RecordSizeLimit)
    if limit_ext is not None and limit_ext.limit < 64:
        raise IllegalParameter(f"record_size_limit {limit_ext.limit} is below 64 (RFC 8449)")
    server_name = found.get(ServerName)
    return ClientOffer(hello=ch, suite=suite_info(suite_code), group=group, share=share, credential=choice[0],
                       scheme=choice[1], alpn=alpn, server_name=server_name.host_name if server_name else None,
                       record_size_limit=limit_ext.limit if limit_ext else None,
                       early_data=EarlyData in found)


def _names_hex(codes) -> str:
    return ", ".join(f"{c:#06x}" for c in codes) or "none"


class ExpectClientHello(HandshakeState):
    expected = (HT.CLIENT_HELLO,)

    def handle(self, conn, ch, raw):
        config: ServerConfig = conn.config
        if server_chooses_tls12(config, ch):
            return server12.start(conn, ch, raw)         # version negotiation: TLS 1.2 (handshake12)
        hs = ServerHandshake(config)
        conn.handshake = hs
        conn.client_random = ch.random
        conn.allow_change_cipher_spec(True)
        offer = examine_client_hello(config, ch)
        conn.negotiated.version = TLS13
        conn.use_tls13_record_limits()
        # The PSK to resume with (None: full handshake or HelloRetryRequest); 0-RTT read or skipped.
        hs.resumption = server_resumption.select_psk(conn, offer, raw)
        if offer.share is not None or hs.resumption is not None:
            hs.transcript = Transcript(offer.suite.hash)
            hs.transcript.update(raw)
            return _respond(conn, hs, offer)
        return self._hello_retry(conn, hs, offer, raw)

    @staticmethod
    def _hello_retry(conn, hs: ServerHandshake, offer: ClientOffer, raw: bytes) -> HandshakeState:
        config = hs.config
        ch = offer.hello
        transcript = hs.transcript = Transcript(offer.suite.hash)
        transcript.update(raw)
        cookie = None
        if config.hello_retry_cookie:
            # A stateful server only needs the echo to match; binding it to ClientHello1 makes it unforgeable.
            key = draw_random(config, 32, "the HelloRetryRequest cookie key")
            cookie = hmac.new(key, transcript.digest(), hashlib.sha256).digest()
        transcript.restart_after_hello_retry()
        extensions: list[Any] = [KeyShareHelloRetryRequest(offer.group)]
        if cookie is not None:
            extensions.append(Cookie(cookie))
        extensions.append(_SELECTED_TLS13)
        hrr = ServerHello(HELLO_RETRY_REQUEST_RANDOM, ch.legacy_session_id, offer.suite.code, tuple(extensions))
        transcript.update(conn.send_handshake_message(hrr))
        if ch.legacy_session_id:
            conn.send_change_cipher_spec()     # compatibility mode: right after our first message
        conn.negotiated.hello_retry = True
        conn.emit(HelloRetryRequested(offer.group, cookie is not None))
        return ExpectClientHelloAfterRetry(hs, offer, cookie)


class ExpectClientHelloAfterRetry(HandshakeState):
    expected = (HT.CLIENT_HELLO,)

    def __init__(self, hs: ServerHandshake, first: ClientOffer, cookie: bytes | None):
        self.hs = hs
        self.first = first
        self.cookie = cookie

    def handle(self, conn, ch, raw):
        first = self.first.hello
        for field_name in ("random", "legacy_session_id", "cipher_suites", "legacy_version",
                           "legacy_compression_methods"):
            before, after = getattr(first, field_name), getattr(ch, field_name)
            if before != after:
                raise IllegalParameter(f"second ClientHello changed {field_name}",
                                       expected=_show(before), received=_show(after))
        echoed = ch.get_extension(Cookie)
        if self.cookie is not None:
            if echoed is None or not hmac.compare_digest(echoed.cookie, self.cookie):
                raise IllegalParameter("second ClientHello does not echo the cookie",
                                       expected=self.cookie.hex(), received=echoed.cookie.hex() if echoed else "none")
        elif echoed is not None:
            raise IllegalParameter("second ClientHello carries a cookie that was never sent")
        if ch.get_extension(EarlyData) is not None:
            raise IllegalParameter("early_data after a HelloRetryRequest (RFC 8446 4.2.10)")
        offer = examine_client_hello(self.hs.config, ch)
        group = self.first.group
        key_share = ch.get_extension(KeyShareClientHello)
        if offer.suite.code != self.first.suite.code:
            raise IllegalParameter("second ClientHello leads to another cipher suite",
                                   expected=self.first.suite.name, received=offer.suite.name)
        if len(key_share.shares) != 1 or key_share.shares[0].group != group:
            raise IllegalParameter("second ClientHello must hold exactly one key share, for the selected group",
                                   expected=name_of(NamedGroup, group),
                                   received=_names(NamedGroup, [e.group for e in key_share.shares]))
        offer.group = group
        offer.share = key_share.shares[0]
        self.hs.resumption = server_resumption.select_psk(conn, offer, raw, before=self.hs.transcript)
        self.hs.transcript.update(raw)
        return _respond(conn, self.hs, offer)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex() or "empty"
    if isinstance(value, tuple):
        return _names_hex(value)
    return str(value)


def _respond(conn, hs: ServerHandshake, offer: ClientOffer) -> HandshakeState:
    """ServerHello, then the encrypted flight up to our Finished."""
    config = hs.config
    ch = offer.hello
    suite = hs.suite = offer.suite
    transcript = hs.transcript
    resumed = hs.resumption
    server_random = draw_random(config, 32, "ServerHello.random")
    extensions: list[Any] = []
    if resumed is not None:
        extensions.append(PreSharedKeyServerHello(resumed.index))
    shared_secret = group = None
    if resumed is None or resumed.mode == PskKeyExchangeMode.PSK_DHE_KE:       # psk_ke: no key exchange
        group = offer.group
        share = KeyShare.generate(group, config.rng)
        shared_secret = share.exchange(offer.share.key_exchange)
        extensions.append(KeyShareServerHello(KeyShareEntry(group, share.public_bytes)))
    extensions.append(_SELECTED_TLS13)
    hello = ServerHello(server_random, ch.legacy_session_id, suite.code, tuple(extensions))
    transcript.update(conn.send_handshake_message(hello))
    if ch.legacy_session_id:
        conn.send_change_cipher_spec()         # no-op when it already followed the HelloRetryRequest
    schedule = hs.key_schedule = resumed.schedule if resumed is not None else KeySchedule(suite)
    if resumed is None:
        schedule.early(None)
    client_hs, server_hs = schedule.handshake(shared_secret, transcript.digest())
    hs.client_hs = client_hs
    conn.emit_secrets(schedule)
    negotiated = conn.negotiated
    negotiated.cipher_suite = suite.code
    negotiated.group = group
    negotiated.alpn = offer.alpn
    negotiated.server_name = offer.server_name
    negotiated.signature_scheme = offer.scheme if resumed is None else None
    conn.install_write_keys(suite, server_hs, "handshake")
    early_data = resumed is not None and resumed.early_data
    if not early_data:                         # accepted 0-RTT: the early keys read until EndOfEarlyData
        conn.install_read_keys(suite, client_hs, "handshake")

    extensions = []
    if config.send_supported_groups_in_ee:
        extensions.append(SupportedGroups(config.supported_groups))
    if offer.record_size_limit is not None and config.record_size_limit is not None:
        extensions.append(RecordSizeLimit(config.record_size_limit))
    if offer.server_name is not None:
        extensions.append(_SERVER_NAME_ACK)
    if offer.alpn is not None:
        extensions.append(ALPN((offer.alpn,)))
    if early_data:
        extensions.append(EarlyData())
    transcript.update(conn.send_handshake_message(EncryptedExtensions(tuple(extensions))))
    if offer.record_size_limit is not None and config.record_size_limit is not None:
        # RFC 8449: the limits hold for every record protected with the handshake keys and after,
        # EncryptedExtensions' own record included (the flight is framed when it is flushed).
        conn.set_peer_record_size_limit(offer.record_size_limit)
        conn.set_own_record_size_limit(config.record_size_limit)

    if resumed is None:                        # a resumed session is authenticated by its PSK (RFC 8446 2.2)
        if config.request_client_certificate:
            request = CertificateRequest(b"", (SignatureAlgorithms(config.signature_schemes),))
            transcript.update(conn.send_handshake_message(request))
            hs.requested_certificate = True
        transcript.update(conn.send_handshake_message(certificate_message(b"", offer.credential)))
        cv = sign_certificate_verify(offer.credential, offer.scheme, transcript.digest(), server=True)
        transcript.update(conn.send_handshake_message(cv))
    finished = Finished(schedule.finished(server_hs, transcript.digest()))
    transcript.update(conn.send_handshake_message(finished))
    client_ap, server_ap = schedule.master(transcript.digest())
    hs.client_ap = client_ap
    conn.emit_secrets(schedule)
    conn.install_write_keys(suite, server_ap, "application-0")
    if early_data:
        return ExpectEndOfEarlyData(hs)
    if hs.requested_certificate:
        return ExpectCertificate(hs)
    return ExpectFinished(hs)


class ExpectEndOfEarlyData(HandshakeState):
    """Accepted 0-RTT: early application data, then EndOfEarlyData under the early keys (RFC 8446 4.5)."""
    expected = (HT.END_OF_EARLY_DATA,)

    def __init__(self, hs: ServerHandshake):
        self.hs = hs

    def handle(self, conn, msg, raw):
        hs = self.hs
        hs.transcript.update(raw)
        conn.install_read_keys(hs.suite, hs.client_hs, "handshake")
        return ExpectFinished(hs)


class ExpectCertificate(HandshakeState):
    """The client's Certificate, after our CertificateRequest; empty when it has none."""
    expected = (HT.CERTIFICATE,)

    def __init__(self, hs: ServerHandshake):
        self.hs = hs

    def handle(self, conn, msg, raw):
        hs = self.hs
        config = hs.config
        if msg.certificate_request_context != b"":
            raise IllegalParameter("client Certificate does not echo our certificate_request_context",
                                   expected="empty", received=msg.certificate_request_context.hex())
        if not msg.certificate_list:
            if config.require_client_certificate:
                raise CertificateRequired("client sent no certificate, and one is required",
                                          expected="a client certificate", received="empty Certificate")
            hs.transcript.update(raw)
            return ExpectFinished(hs)
        chain = check_certificate_entries(msg, "client Certificate")
        public_key = peer_public_key(chain, verify=config.verify_client_certificate,
                                     trust_anchors=config.client_trust_anchors, server_name=None,
                                     clock_seconds=config.clock(), for_server=False)
        conn.negotiated.peer_certificates = chain
        hs.transcript.update(raw)
        return ExpectCertificateVerify(hs, public_key)


class ExpectCertificateVerify(HandshakeState):
    expected = (HT.CERTIFICATE_VERIFY,)

    def __init__(self, hs: ServerHandshake, public_key: Any):
        self.hs = hs
        self.public_key = public_key

    def handle(self, conn, cv, raw):
        hs = self.hs
        verify_certificate_verify(self.public_key, cv, hs.transcript.digest(), offered=hs.config.signature_schemes,
                                  server=False, who="client")
        conn.negotiated.client_certificate_scheme = cv.algorithm
        hs.transcript.update(raw)
        return ExpectFinished(hs)


class ExpectFinished(HandshakeState):
    expected = (HT.FINISHED,)

    def __init__(self, hs: ServerHandshake):
        self.hs = hs

    def handle(self, conn, fin, raw):
        hs = self.hs
        schedule = hs.key_schedule
        transcript = hs.transcript
        check_peer_finished(schedule.finished(hs.client_hs, transcript.digest()), fin, "client")
        transcript.update(raw)
        schedule.resumption_master_secret(transcript.digest())
        conn.emit_secrets(schedule)
        conn.install_read_keys(hs.suite, hs.client_ap, "application-0")
        conn.allow_change_cipher_spec(False)
        conn.complete_handshake()
        server_resumption.issue_tickets(conn, hs)      # ServerConfig.ticket_count NewSessionTickets
        return ExpectTraffic(hs)


class ExpectTraffic(HandshakeState):
    """After the handshake: the client's KeyUpdates."""
    expected = (HT.KEY_UPDATE,)

    def __init__(self, hs: ServerHandshake):
        self.hs = hs

    def handle(self, conn, msg, raw):
        key_update.receive_key_update(conn, msg)
        return self
