"""The TLS 1.2 server handshake (RFC 5246 with RFC 8422 ECDHE, RFC 7627, RFC 5746), one class per state.

    full:        (ServerHello, Certificate, ServerKeyExchange, [CertificateRequest], ServerHelloDone)
                 -> [ExpectCertificate] -> ExpectClientKeyExchange -> [ExpectCertificateVerify]
                 -> ExpectChangeCipherSpec -> ExpectFinished -> (CCS, Finished) -> ExpectTraffic
    abbreviated: (ServerHello, CCS, Finished) -> ExpectChangeCipherSpec -> ExpectFinished -> ExpectTraffic

Ways in: `start` (server13's ExpectClientHello chose TLS 1.2) and ExpectTraffic, where a
ClientHello starts a renegotiation (accepted or refused by the policy in renegotiation.py).
`send_hello_request` asks the client for one.

Resumption: `find_session` resumes the connection's own current session by its session ID, which
is what an abbreviated renegotiation needs; resumption12.py adds the session cache shared between
connections and RFC 5077 tickets (during a renegotiation, a ticket for the current session only). Randomness is drawn in this order: ServerHello.random (32 bytes), the session ID
of a full handshake (32 bytes), then the ECDHE private key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import resumption12, signatures
from .cipher_suites import CipherSuiteInfo
from .config import Credential, ServerConfig, draw_random, suites_of_version
from .enums import HandshakeType, NamedGroup, name_of
from .errors import HandshakeFailure, IllegalParameter, MissingExtension
from .events import RenegotiationFinished, RenegotiationStarted
from .extensions import (ALPN, ECPointFormats, ExtendedMasterSecret, RenegotiationInfo, ServerName, SessionTicket,
                         SignatureAlgorithms, SupportedGroups)
from .handshake12 import (TLS12, TLS13, UNCOMPRESSED_POINTS, Keys12, Session12, State12, check_point_formats,
                          choose_suite12, derive_master_secret, epoch_name, make_keys, receive_change_cipher_spec,
                          receive_finished, resumed_master_secret, scheme_name, send_finished, server_random12,
                          ske_signed_content)
from .handshake13 import check_no_duplicates, choose_alpn, peer_public_key
from .key_exchange import KeyShare
from .key_schedule import Transcript
from .messages import (EC_CURVE_TYPE_NAMED_CURVE, Certificate12, CertificateRequest12, HelloRequest, ServerHello,
                       ServerHelloDone, ServerKeyExchangeECDHE)
from .renegotiation import Renegotiation, RenegotiationContext, check_client_hello, refusal_reason, refuse

if TYPE_CHECKING:
    from .connection import Connection

HT = HandshakeType
_SESSION_ID_LENGTH = 32
# RFC 8422 4: a client that sends no supported_groups is taken to support the NIST curves.
_GROUPS_WITHOUT_EXTENSION = (NamedGroup.SECP256R1, NamedGroup.SECP384R1)


@dataclass
class ClientOffer12:
    """What the server decided from one ClientHello."""
    hello: Any
    suite: CipherSuiteInfo
    credential: Credential
    scheme: int
    group: int
    alpn: bytes | None
    server_name: str | None
    extended_master_secret: bool
    point_formats: bool                  # the client sent ec_point_formats: we answer it
    session: Session12 | None            # the session to resume, if any


class ServerHandshake12:
    """The data of one TLS 1.2 server handshake, shared by its states."""

    def __init__(self, config: ServerConfig, context: RenegotiationContext,
                 renegotiation: Renegotiation | None = None):
        self.config = config
        self.context = context
        self.renegotiation = renegotiation
        self.offer: ClientOffer12 | None = None
        self.transcript: Transcript | None = None
        self.suite: CipherSuiteInfo | None = None
        self.client_random = b""
        self.server_random = b""
        self.session_id = b""
        self.resumed = False
        self.share: KeyShare | None = None
        self.requested_certificate = False
        self.client_chain: tuple[bytes, ...] = ()
        self.client_key: Any = None
        self.master_secret = b""
        self.keys: Keys12 | None = None
        self.client_verify_data = b""
        self.server_verify_data = b""

    @property
    def index(self) -> int:
        return self.renegotiation.number if self.renegotiation is not None else 0


# --- ways in --------------------------------------------------------------------------------------------

def start(conn: "Connection", ch: Any, raw: bytes) -> State12:
    """server13's ExpectClientHello chose TLS 1.2 for this ClientHello."""
    hs = ServerHandshake12(conn.config, RenegotiationContext())
    conn.handshake = hs
    conn.client_random = ch.random
    conn.allow_change_cipher_spec(False)
    conn.use_tls12_record_layer()
    return _respond(conn, hs, ch, raw)


def send_hello_request(conn: "Connection") -> None:
    """Ask the client for a renegotiation (SSL_renegotiate on a server). HelloRequest is not hashed."""
    conn.handshake.context.hello_request_outstanding = True
    conn.send_handshake_message(HelloRequest())


def _start_renegotiation(conn: "Connection", ch: Any, raw: bytes, initiator: str, state: Any) -> State12:
    previous: ServerHandshake12 = conn.handshake
    context = previous.context
    renegotiation = Renegotiation(initiator, context.handshakes, bool(ch.legacy_session_id), previous, state,
                                  conn.client_random)
    hs = ServerHandshake12(previous.config, context, renegotiation)
    conn.handshake = hs
    conn.client_random = ch.random
    conn.set_renegotiating(True)
    conn.emit(RenegotiationStarted(initiator, renegotiation.offered_resumption, renegotiation.number,
                                   conn.write_epoch))
    return _respond(conn, hs, ch, raw)


# --- the ClientHello --------------------------------------------------------------------------------

def find_session(hs: ServerHandshake12, ch: Any, extended_master_secret: bool) -> Session12 | None:
    """The session the ClientHello asks to resume, when it may be: the connection's current one.

    RFC 7627 5.3: a session made with the extended master secret is resumed only by a ClientHello
    that offers it again (otherwise the handshake fails); one made without it is not resumed by a
    client that offers it (a full handshake follows)."""
    session = hs.context.session
    if session is None or not session.resumable or ch.legacy_session_id != session.session_id:
        return None
    if session.extended_master_secret and not extended_master_secret:
        raise HandshakeFailure("ClientHello resumes a session made with extended_master_secret without offering "
                               "it (RFC 7627 5.3)")
    if extended_master_secret and not session.extended_master_secret:
        return None
    if session.cipher_suite not in ch.cipher_suites or session.cipher_suite not in hs.config.cipher_suites:
        return None
    return session


def examine_client_hello(hs: ServerHandshake12, ch: Any) -> ClientOffer12:
    """The checks a TLS 1.2 server makes on a ClientHello, and the choices it makes."""
    config = hs.config
    if 0 not in ch.legacy_compression_methods:
        raise IllegalParameter("ClientHello does not offer the null compression method",
                               expected="00 among the methods", received=ch.legacy_compression_methods.hex())
    if len(ch.legacy_session_id) > 32:
        raise IllegalParameter(f"legacy_session_id of {len(ch.legacy_session_id)} bytes", expected="at most 32",
                               received=str(len(ch.legacy_session_id)))
    check_no_duplicates(ch.extensions, "ClientHello")
    check_client_hello(ch, hs.context, hs.renegotiation is not None)
    check_point_formats(ch, "ClientHello")
    algorithms = ch.get_extension(SignatureAlgorithms)
    if algorithms is None:
        # RFC 5246 7.4.1.4.1 would mean SHA-1 signatures, which this server does not make.
        raise MissingExtension("ClientHello has no signature_algorithms (SHA-1 signatures are not offered)")
    choice = choose_suite12(config.cipher_suites, ch.cipher_suites, config.credentials, algorithms.schemes,
                            config.signature_schemes)
    if choice is None:
        raise HandshakeFailure("no TLS 1.2 cipher suite in common that a certificate of this server can serve",
                               expected=_hex(suites_of_version(config.cipher_suites, TLS12)),
                               received=_hex(ch.cipher_suites))
    suite, credential, scheme = choice
    groups_ext = ch.get_extension(SupportedGroups)
    client_groups = groups_ext.groups if groups_ext is not None else _GROUPS_WITHOUT_EXTENSION
    group = next((g for g in config.computable_groups if g in client_groups), None)
    if group is None:
        raise HandshakeFailure("no ECDHE group in common", expected=_names(NamedGroup, config.computable_groups),
                               received=_names(NamedGroup, client_groups))
    alpn = choose_alpn(config.alpn_protocols, ch)
    server_name = ch.get_extension(ServerName)
    ems = ch.get_extension(ExtendedMasterSecret) is not None
    return ClientOffer12(hello=ch, suite=suite, credential=credential, scheme=scheme, group=group, alpn=alpn,
                         server_name=server_name.host_name if server_name else None, extended_master_secret=ems,
                         point_formats=ch.get_extension(ECPointFormats) is not None,
                         session=find_session(hs, ch, ems))


def _hex(codes) -> str:
    return ", ".join(f"{c:#06x}" for c in codes) or "none"


def _names(enum_cls, values) -> str:
    return ", ".join(name_of(enum_cls, v) for v in values) or "none"


def _server_hello(hs: ServerHandshake12, offer: ClientOffer12) -> ServerHello:
    context = hs.context
    extensions: list[Any] = [RenegotiationInfo(context.client_verify_data + context.server_verify_data)]
    if offer.server_name is not None and offer.session is None:
        extensions.append(ServerName(None))
    if offer.point_formats:
        extensions.append(ECPointFormats((UNCOMPRESSED_POINTS,)))
    if offer.extended_master_secret:
        extensions.append(ExtendedMasterSecret())
    if offer.alpn is not None:
        extensions.append(ALPN((offer.alpn,)))
    if resumption12.issues_ticket(hs.config, offer):
        extensions.append(SessionTicket())          # RFC 5077: a NewSessionTicket comes before our CCS
    return ServerHello(hs.server_random, hs.session_id, offer.suite.code, tuple(extensions))


def _respond(conn, hs: ServerHandshake12, ch, raw) -> State12:
    config = hs.config
    offer = hs.offer = examine_client_hello(hs, ch)
    offer.session = resumption12.find_session(conn, hs, offer)      # or a session of another connection
    suite = hs.suite = offer.suite
    transcript = hs.transcript = Transcript(suite.hash, keep_messages=True)
    transcript.update(raw)
    hs.client_random = ch.random
    hs.server_random = server_random12(draw_random(config, 32, "ServerHello.random"), TLS13 in config.versions)
    if offer.session is not None:
        hs.session_id = offer.session.session_id
        hs.resumed = True
    else:
        hs.session_id = draw_random(config, _SESSION_ID_LENGTH, "the session ID")
    transcript.update(conn.send_handshake_message(_server_hello(hs, offer)))
    if hs.renegotiation is None:
        negotiated = conn.negotiated
        negotiated.version = TLS12
        negotiated.cipher_suite = suite.code
        negotiated.alpn = offer.alpn
        negotiated.server_name = offer.server_name
    if hs.resumed:
        hs.master_secret = offer.session.master_secret
        conn.emit_secret(resumed_master_secret(hs.master_secret), hs.client_random)
        hs.keys = make_keys(suite, hs.master_secret, hs.client_random, hs.server_random, epoch_name(hs.index))
        hs.client_chain = offer.session.peer_certificates
        _send_finished(conn, hs)
        return ExpectChangeCipherSpec(hs)

    transcript.update(conn.send_handshake_message(Certificate12(offer.credential.chain_der)))
    share = hs.share = KeyShare.generate(offer.group, config.rng)
    params = ServerKeyExchangeECDHE(EC_CURVE_TYPE_NAMED_CURVE, offer.group, share.public_bytes, offer.scheme, b"")
    content = ske_signed_content(hs.client_random, hs.server_random, params.params_bytes)
    signature = signatures.sign(offer.credential.private_key, offer.scheme, content, tls13=False)
    ske = ServerKeyExchangeECDHE(EC_CURVE_TYPE_NAMED_CURVE, offer.group, share.public_bytes, offer.scheme, signature)
    transcript.update(conn.send_handshake_message(ske))
    if hs.renegotiation is None:
        conn.negotiated.group = offer.group
        conn.negotiated.signature_scheme = offer.scheme
    if config.request_client_certificate:
        request = CertificateRequest12(bytes((64, 1)), config.signature_schemes, ())
        transcript.update(conn.send_handshake_message(request))
        hs.requested_certificate = True
    transcript.update(conn.send_handshake_message(ServerHelloDone()))
    return ExpectCertificate(hs) if hs.requested_certificate else ExpectClientKeyExchange(hs)


def _send_finished(conn, hs: ServerHandshake12) -> None:
    if resumption12.issues_ticket(hs.config, hs.offer):
        hs.transcript.update(conn.send_handshake_message(resumption12.new_session_ticket(conn, hs)))
    hs.server_verify_data = send_finished(conn, hs, by_client=False)


# --- states ---------------------------------------------------------------------------------------

class ServerState12(State12):
    def __init__(self, hs: ServerHandshake12):
        self.hs = hs


class ExpectCertificate(ServerState12):
    """The client's Certificate after our CertificateRequest; empty when it has none."""
    expected = (HT.CERTIFICATE,)

    def handle(self, conn, msg, raw):
        hs = self.hs
        config = hs.config
        hs.transcript.update(raw)
        if not msg.certificate_list:
            if config.require_client_certificate:
                raise HandshakeFailure("client sent no certificate, and one is required",
                                       expected="a client certificate", received="empty Certificate")
            return ExpectClientKeyExchange(hs)
        chain = tuple(msg.certificate_list)
        hs.client_key = peer_public_key(chain, verify=config.verify_client_certificate,
                                        trust_anchors=config.client_trust_anchors, server_name=None,
                                        clock_seconds=config.clock(), for_server=False)
        hs.client_chain = chain
        return ExpectClientKeyExchange(hs)


class ExpectClientKeyExchange(ServerState12):
    expected = (HT.CLIENT_KEY_EXCHANGE,)

    def handle(self, conn, cke, raw):
        hs = self.hs
        pre_master = hs.share.exchange(cke.public)
        transcript = hs.transcript
        transcript.update(raw)
        session_hash = transcript.digest() if hs.offer.extended_master_secret else None
        hs.master_secret, derived = derive_master_secret(hs.suite, pre_master, hs.client_random, hs.server_random,
                                                         session_hash)
        conn.emit_secret(derived, hs.client_random)
        hs.keys = make_keys(hs.suite, hs.master_secret, hs.client_random, hs.server_random, epoch_name(hs.index))
        if hs.client_key is not None:
            return ExpectCertificateVerify(hs)
        return ExpectChangeCipherSpec(hs)


class ExpectCertificateVerify(ServerState12):
    expected = (HT.CERTIFICATE_VERIFY,)

    def handle(self, conn, cv, raw):
        hs = self.hs
        offered = hs.config.signature_schemes
        if cv.algorithm not in offered:
            raise IllegalParameter(f"client signed with {scheme_name(cv.algorithm)}, which was not offered",
                                   expected=", ".join(scheme_name(s) for s in offered),
                                   received=scheme_name(cv.algorithm))
        signatures.verify(hs.client_key, cv.algorithm, cv.signature, b"".join(hs.transcript.messages), tls13=False)
        conn.negotiated.client_certificate_scheme = cv.algorithm
        hs.transcript.update(raw)
        return ExpectChangeCipherSpec(hs)


class ExpectChangeCipherSpec(ServerState12):
    expected = ()

    def expected_names(self) -> str:
        return "change_cipher_spec"

    def change_cipher_spec(self, conn):
        receive_change_cipher_spec(conn, self.hs, from_client=True)
        return ExpectFinished(self.hs)


class ExpectFinished(ServerState12):
    expected = (HT.FINISHED,)

    def handle(self, conn, fin, raw):
        hs = self.hs
        hs.client_verify_data = receive_finished(hs, fin, raw, from_client=True)
        if not hs.resumed:
            _send_finished(conn, hs)
        return _finish_handshake(conn, hs)


def _finish_handshake(conn, hs: ServerHandshake12) -> State12:
    offer = hs.offer
    session = offer.session if hs.resumed else Session12(
        hs.session_id, hs.suite.code, hs.master_secret, offer.extended_master_secret, hs.client_chain,
        offer.server_name, offer.alpn)
    hs.context.finished(hs.client_verify_data, hs.server_verify_data, session)
    resumption12.remember_session(conn, hs, session)      # the session ID cache, for later connections
    conn.set_application_read(True)
    negotiated = conn.negotiated
    negotiated.cipher_suite = hs.suite.code
    negotiated.resumed = hs.resumed
    negotiated.extended_master_secret = offer.extended_master_secret
    negotiated.secure_renegotiation = True
    negotiated.session_id = hs.session_id
    negotiated.peer_certificates = hs.client_chain
    renegotiation = hs.renegotiation
    if renegotiation is None:
        conn.complete_handshake()
    else:
        negotiated.alpn = offer.alpn
        if not hs.resumed:
            negotiated.group = offer.group
            negotiated.signature_scheme = offer.scheme
        conn.emit(RenegotiationFinished(renegotiation.initiator, hs.resumed, renegotiation.number,
                                        epoch_name(hs.index), hs.suite.code))
        conn.set_renegotiating(False)
    return ExpectTraffic(hs)


class ExpectTraffic(ServerState12):
    """After the handshake: a ClientHello starts a renegotiation, asked for by our HelloRequest or
    by the client alone (then the client-initiated policy applies)."""
    expected = (HT.CLIENT_HELLO,)

    def handle(self, conn, ch, raw):
        hs = self.hs
        if conn.closed:
            return self          # we sent close_notify: no new handshake, and nothing more to say
        context = hs.context
        initiator = "server" if context.hello_request_outstanding else "client"
        config = hs.config
        now = config.clock()
        reason = refusal_reason(config, context, initiator, now)
        if reason is not None:
            refuse(conn, initiator, reason)
            return self
        context.hello_request_outstanding = False
        conn.take_scheduled_renegotiation()      # a HelloRequest not sent yet is not needed any more
        if initiator == "client":
            context.client_renegotiations.append(now)
        return _start_renegotiation(conn, ch, raw, initiator, self)

