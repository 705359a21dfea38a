"""The TLS 1.2 client handshake (RFC 5246 with RFC 8422 ECDHE, RFC 7627, RFC 5746), one class per state.

    full:        ExpectServerHello -> ExpectCertificate -> ExpectServerKeyExchange
                 -> ExpectServerHelloDone (CertificateRequest allowed first)
                 -> (Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished)
                 -> [ExpectNewSessionTicket] -> ExpectChangeCipherSpec -> ExpectFinished -> ExpectTraffic
    abbreviated: ExpectServerHello (session resumed) -> ExpectChangeCipherSpec -> ExpectFinished
                 -> (CCS, Finished) -> ExpectTraffic

Three ways in: `start` (a client offering TLS 1.2 only), `continue_from_tls13_hello` (a client
that offered 1.3 and 1.2 gets a 1.2 ServerHello), `start_renegotiation` (a new handshake on an
established connection: asked by `renegotiate()` or by the server's HelloRequest).

A HelloRequest that arrives during a handshake is ignored (RFC 5246 7.4.1.1); in ExpectTraffic it
starts a renegotiation that tries to resume the current session, as OpenSSL's client does.
Randomness is drawn in this order: ClientHello.random (32 bytes), then the ECDHE private key.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import resumption12, signatures
from .cipher_suites import CIPHER_SUITES, CipherSuiteInfo
from .config import ClientConfig, draw_random, suites_of_version
from .enums import AlertDescription, HandshakeType, NamedGroup, name_of
from .errors import (BadCertificate, DecodeError, HandshakeFailure, IllegalParameter, ProtocolError,
                     ProtocolVersionError)
from .events import HelloRequestReceived, RenegotiationFinished, RenegotiationStarted
from .extensions import (ALPN, ECPointFormats, ExtendedMasterSecret, RenegotiationInfo, ServerName, SessionTicket,
                         SignatureAlgorithms, SupportedGroups, extension_type)
from .handshake12 import (ALLOWED_IN_SERVER_HELLO12, TLS12, Keys12, Session12, State12, certificate_type,
                          check_downgrade_sentinel, check_point_formats, choose_scheme12, derive_master_secret,
                          epoch_name, key_authentication, make_keys, receive_change_cipher_spec, receive_finished,
                          resumed_master_secret, scheme_name, send_finished, ske_signed_content)
from .handshake13 import (check_alpn_choice, check_response_extensions, check_server_name_ack,
                          check_suite_and_compression, message_name, peer_public_key)
from .key_exchange import SUPPORTED_GROUPS, KeyShare
from .key_schedule import Transcript
from .messages import Certificate12, CertificateVerify, ClientHello, ClientKeyExchangeECDHE
from .renegotiation import Renegotiation, RenegotiationContext, check_server_hello, refuse

if TYPE_CHECKING:
    from .connection import Connection

HT = HandshakeType


class ClientHandshake12:
    """The data of one TLS 1.2 client handshake, shared by its states."""

    def __init__(self, config: ClientConfig, context: RenegotiationContext,
                 renegotiation: Renegotiation | None = None):
        self.config = config
        self.context = context
        self.renegotiation = renegotiation
        self.random = b""
        self.session_id = b""                    # what our ClientHello offered
        self.offered_session: Session12 | None = None
        self.offered_ticket: bytes | None = None     # an RFC 5077 ticket offered with it
        self.offered: set[int] = set()           # extension types of our ClientHello
        self.tls13_offered = False
        self.transcript = Transcript(keep_messages=True)   # CertificateVerify signs the messages themselves
        self.suite: CipherSuiteInfo | None = None
        self.server_random = b""
        self.session_id_from_server = b""
        self.extended_master_secret = False
        self.expect_ticket = False
        self.resumed = False
        self.server_key: Any = None
        self.server_chain: tuple[bytes, ...] = ()
        self.server_share: Any = None            # the ServerKeyExchange
        self.certificate_request: Any = None
        self.master_secret = b""
        self.keys: Keys12 | None = None
        self.negotiated_alpn: bytes | None = None
        self.client_verify_data = b""
        self.server_verify_data = b""

    @property
    def index(self) -> int:
        """0 for the first handshake, N for the Nth renegotiation."""
        return self.renegotiation.number if self.renegotiation is not None else 0


# --- ways in --------------------------------------------------------------------------------------------

def build_client_hello(hs: ClientHandshake12) -> ClientHello:
    """A ClientHello offering TLS 1.2 only (first handshake or renegotiation)."""
    config = hs.config
    exts: list[Any] = []
    if config.sni is not None:
        exts.append(ServerName(config.sni))
    exts.append(RenegotiationInfo(hs.context.client_verify_data))
    exts.append(SupportedGroups(config.supported_groups))
    exts.append(ECPointFormats((0,)))
    if config.alpn_protocols:
        exts.append(ALPN(config.alpn_protocols))
    exts.append(SignatureAlgorithms(config.signature_schemes))
    exts.append(ExtendedMasterSecret())
    exts += resumption12.client_hello_ticket(config, hs.offered_ticket)
    hello = ClientHello(hs.random, hs.session_id, suites_of_version(config.cipher_suites, TLS12), tuple(exts))
    hs.offered = {extension_type(e) for e in exts}
    return hello


def start(conn: "Connection") -> State12:
    """A client offering TLS 1.2 only: queue the ClientHello."""
    config: ClientConfig = conn.config
    hs = ClientHandshake12(config, RenegotiationContext())
    conn.handshake = hs
    hs.random = draw_random(config, 32, "ClientHello.random")
    conn.client_random = hs.random
    hs.offered_ticket = resumption12.prepare_offer(conn, hs)     # a session from session data, if any
    hs.transcript.update(conn.send_handshake_message(build_client_hello(hs)))
    conn.set_plaintext_record_version(0x0303)
    return ExpectServerHello(hs)


def continue_from_tls13_hello(conn: "Connection", hs13: Any, sh: Any, raw: bytes) -> State12:
    """A client that offered TLS 1.3 and 1.2 got a TLS 1.2 ServerHello: carry on as a 1.2 client."""
    hs = ClientHandshake12(hs13.config, RenegotiationContext())
    hs.random = hs13.random
    hs.session_id = hs13.session_id              # a middlebox-compatibility id: no session behind it
    hs.offered = set(hs13.offered)
    hs.tls13_offered = True
    for message in hs13.transcript.buffered():
        hs.transcript.update(message)
    conn.handshake = hs
    conn.allow_change_cipher_spec(False)
    return _process_server_hello(conn, hs, sh, raw)


def start_renegotiation(conn: "Connection", initiator: str, abbreviated: bool, state: Any) -> State12:
    """A new handshake on this connection, under its current keys. `abbreviated` offers the current
    session (SSL_renegotiate_abbreviated, and the answer to a HelloRequest); otherwise it is a full
    handshake with no session offered (SSL_renegotiate)."""
    previous: ClientHandshake12 = conn.handshake
    config = previous.config
    context = previous.context
    # The current session can be offered by its session ID, or by its ticket (a server that issues a
    # ticket may give no session ID at all, as OpenSSL's does).
    session = context.session if abbreviated and context.session is not None and (
        context.session.resumable or context.session_ticket) else None
    renegotiation = Renegotiation(initiator, context.handshakes, session is not None, previous, state,
                                  conn.client_random)
    hs = ClientHandshake12(config, context, renegotiation)
    hs.random = draw_random(config, 32, "ClientHello.random")
    if session is not None:
        hs.offered_ticket = resumption12.offer_in_renegotiation(hs, session)
    conn.handshake = hs
    conn.client_random = hs.random
    conn.set_renegotiating(True)
    conn.emit(RenegotiationStarted(initiator, session is not None, renegotiation.number, conn.write_epoch))
    hs.transcript.update(conn.send_handshake_message(build_client_hello(hs)))
    return ExpectServerHello(hs)


# --- states ---------------------------------------------------------------------------------------

class ClientState12(State12):
    """A client state during a handshake: a HelloRequest is ignored there (RFC 5246 7.4.1.1), and
    not hashed. Subclasses list what they expect in `expects` and implement `process`."""

    expects: tuple[int, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.expected = tuple(cls.expects) + (HT.HELLO_REQUEST,)

    def __init__(self, hs: ClientHandshake12):
        self.hs = hs

    def expected_names(self) -> str:
        return " or ".join(message_name(t) for t in self.expects) or "no handshake message"

    def handle(self, conn, message, raw):
        if raw[0] == HT.HELLO_REQUEST:
            conn.emit(HelloRequestReceived("ignored"))
            return self
        return self.process(conn, message, raw)

    def process(self, conn, message, raw) -> State12:
        raise NotImplementedError


class ExpectServerHello(ClientState12):
    expects = (HT.SERVER_HELLO,)

    @property
    def refusable(self) -> bool:
        """A server may answer our renegotiating ClientHello with a no_renegotiation warning."""
        return self.hs.renegotiation is not None

    def process(self, conn, sh, raw):
        return _process_server_hello(conn, self.hs, sh, raw)


def _process_server_hello(conn, hs: ClientHandshake12, sh, raw) -> State12:
    config = hs.config
    # supported_versions cannot be here: a client that offered 1.3 takes a ServerHello carrying it as a
    # TLS 1.3 one (client13), and a 1.2-only ClientHello never offers it (unsupported_extension below).
    if sh.legacy_version != TLS12:
        raise ProtocolVersionError(f"ServerHello selects version {sh.legacy_version:#06x}",
                                   expected="0x0303 (TLS 1.2)", received=f"{sh.legacy_version:#06x}")
    if hs.tls13_offered:
        check_downgrade_sentinel(sh.random)
    check_suite_and_compression(sh, suites_of_version(config.cipher_suites, TLS12))
    check_response_extensions(sh.extensions, "ServerHello", ALLOWED_IN_SERVER_HELLO12, hs.offered)
    check_server_hello(sh, hs.context, hs.renegotiation is not None)
    check_point_formats(sh, "ServerHello")
    check_server_name_ack(sh)
    alpn = check_alpn_choice(config.alpn_protocols, sh)
    suite = CIPHER_SUITES[sh.cipher_suite]
    hs.suite = suite
    hs.server_random = sh.random
    hs.session_id_from_server = sh.legacy_session_id_echo
    hs.extended_master_secret = sh.get_extension(ExtendedMasterSecret) is not None
    hs.expect_ticket = sh.get_extension(SessionTicket) is not None
    session = hs.offered_session
    echo = sh.legacy_session_id_echo
    if session is not None and echo == session.session_id:
        if sh.cipher_suite != session.cipher_suite:
            raise IllegalParameter("resumed session with another cipher suite",
                                   expected=f"{session.cipher_suite:#06x}", received=f"{sh.cipher_suite:#06x}")
        if hs.extended_master_secret != session.extended_master_secret:
            # RFC 7627 5.3: a resumption must keep the session's extended master secret setting.
            raise HandshakeFailure("resumption changes the extended_master_secret setting of the session (RFC 7627)",
                                   expected=str(session.extended_master_secret),
                                   received=str(hs.extended_master_secret))
        hs.resumed = True
    elif echo and echo == hs.session_id:
        raise IllegalParameter("ServerHello echoes a session ID that stands for no session of ours",
                               expected="a new session ID", received=echo.hex())
    resumption12.after_server_hello(conn, hs)
    transcript = hs.transcript
    transcript.set_hash(suite.hash)
    transcript.update(raw)
    conn.use_tls12_record_layer()
    hs.negotiated_alpn = alpn
    if hs.renegotiation is None:
        negotiated = conn.negotiated
        negotiated.version = TLS12
        negotiated.cipher_suite = suite.code
        negotiated.server_name = config.server_name
        negotiated.alpn = alpn
    if hs.resumed:
        hs.master_secret = session.master_secret
        conn.emit_secret(resumed_master_secret(hs.master_secret), hs.random)
        hs.keys = make_keys(suite, hs.master_secret, hs.random, hs.server_random, epoch_name(hs.index))
        hs.server_chain = session.peer_certificates
        return ExpectNewSessionTicket(hs) if hs.expect_ticket else ExpectChangeCipherSpec(hs)
    return ExpectCertificate(hs)


class ExpectCertificate(ClientState12):
    expects = (HT.CERTIFICATE,)

    def process(self, conn, msg, raw):
        hs = self.hs
        config = hs.config
        if not msg.certificate_list:
            raise DecodeError("server Certificate is empty", expected="a certificate chain",
                              received="no certificates")
        chain = tuple(msg.certificate_list)
        public_key = peer_public_key(chain, verify=config.verify_peer, trust_anchors=config.trust_anchors,
                                     server_name=config.server_name if config.check_hostname else None,
                                     clock_seconds=config.clock(), for_server=True)
        if key_authentication(public_key) != hs.suite.authentication:
            raise ProtocolError(f"server certificate key does not fit {hs.suite.name}",
                                alert=AlertDescription.unsupported_certificate,
                                expected=f"an {hs.suite.authentication} key", received=type(public_key).__name__)
        previous = hs.context.session.peer_certificates if hs.context.session is not None else ()
        if hs.renegotiation is not None and previous and previous[0] != chain[0]:
            # The server's identity must not change under a renegotiation (the triple handshake attack).
            raise BadCertificate("server presented another certificate in the renegotiation")
        hs.server_key = public_key
        hs.server_chain = chain
        hs.transcript.update(raw)
        return ExpectServerKeyExchange(hs)


class ExpectServerKeyExchange(ClientState12):
    expects = (HT.SERVER_KEY_EXCHANGE,)

    def process(self, conn, ske, raw):
        hs = self.hs
        config = hs.config
        group = ske.named_group
        if group not in config.supported_groups or group not in SUPPORTED_GROUPS:
            offered = ", ".join(name_of(NamedGroup, g) for g in config.supported_groups)
            raise IllegalParameter(f"ServerKeyExchange uses group {name_of(NamedGroup, group)}, which was not "
                                   f"offered", expected=offered, received=name_of(NamedGroup, group))
        if ske.algorithm not in config.signature_schemes:
            raise IllegalParameter(f"ServerKeyExchange is signed with {scheme_name(ske.algorithm)}, which was not "
                                   f"offered", expected=", ".join(scheme_name(s) for s in config.signature_schemes),
                                   received=scheme_name(ske.algorithm))
        content = ske_signed_content(hs.random, hs.server_random, ske.params_bytes)
        signatures.verify(hs.server_key, ske.algorithm, ske.signature, content, tls13=False)
        hs.server_share = ske
        if hs.renegotiation is None:
            conn.negotiated.group = group
            conn.negotiated.signature_scheme = ske.algorithm
        hs.transcript.update(raw)
        return ExpectServerHelloDone(hs)


class ExpectServerHelloDone(ClientState12):
    """ServerHelloDone, or the CertificateRequest before it."""
    expects = (HT.CERTIFICATE_REQUEST, HT.SERVER_HELLO_DONE)

    def process(self, conn, msg, raw):
        hs = self.hs
        if raw[0] == HT.CERTIFICATE_REQUEST:
            if hs.certificate_request is not None:
                raise self.unexpected(raw[0], msg, "a second CertificateRequest")
            if not msg.supported_signature_algorithms:
                raise DecodeError("CertificateRequest lists no signature algorithms")
            hs.certificate_request = msg
            hs.transcript.update(raw)
            return self
        hs.transcript.update(raw)
        _send_client_flight(conn, hs)
        return ExpectNewSessionTicket(hs) if hs.expect_ticket else ExpectChangeCipherSpec(hs)


def _client_credential(hs: ClientHandshake12):
    """Our certificate and scheme for the server's CertificateRequest, or None (an empty Certificate)."""
    credential = hs.config.credential
    request = hs.certificate_request
    if credential is None or certificate_type(credential.private_key) not in request.certificate_types:
        return None
    scheme = choose_scheme12(credential.private_key, request.supported_signature_algorithms,
                             hs.config.signature_schemes)
    return None if scheme is None else (credential, scheme)


def _send_client_flight(conn, hs: ClientHandshake12) -> None:
    """[Certificate], ClientKeyExchange, [CertificateVerify], change_cipher_spec, Finished."""
    transcript = hs.transcript
    choice = None
    if hs.certificate_request is not None:
        choice = _client_credential(hs)
        chain = choice[0].chain_der if choice is not None else ()
        transcript.update(conn.send_handshake_message(Certificate12(chain)))
    share = KeyShare.generate(hs.server_share.named_group, hs.config.rng)
    pre_master = share.exchange(hs.server_share.public)
    transcript.update(conn.send_handshake_message(ClientKeyExchangeECDHE(share.public_bytes)))
    session_hash = transcript.digest() if hs.extended_master_secret else None
    hs.master_secret, derived = derive_master_secret(hs.suite, pre_master, hs.random, hs.server_random, session_hash)
    conn.emit_secret(derived, hs.random)
    hs.keys = make_keys(hs.suite, hs.master_secret, hs.random, hs.server_random, epoch_name(hs.index))
    if choice is not None:
        credential, scheme = choice
        signature = signatures.sign(credential.private_key, scheme, b"".join(transcript.messages), tls13=False)
        transcript.update(conn.send_handshake_message(CertificateVerify(scheme, signature)))
        conn.negotiated.client_certificate_scheme = scheme
    _send_finished(conn, hs)


def _send_finished(conn, hs: ClientHandshake12) -> None:
    hs.client_verify_data = send_finished(conn, hs, by_client=True)


class ExpectNewSessionTicket(ClientState12):
    """The server acknowledged session_ticket: a NewSessionTicket comes before its change_cipher_spec.
    The ticket is hashed and kept for the session data (resumption12)."""
    expects = (HT.NEW_SESSION_TICKET,)

    def process(self, conn, msg, raw):
        self.hs.transcript.update(raw)
        resumption12.receive_ticket(conn, self.hs, msg)
        return ExpectChangeCipherSpec(self.hs)


class ExpectChangeCipherSpec(ClientState12):
    expects = ()

    def expected_names(self) -> str:
        return "change_cipher_spec"

    def change_cipher_spec(self, conn):
        receive_change_cipher_spec(conn, self.hs, from_client=False)
        return ExpectFinished(self.hs)


class ExpectFinished(ClientState12):
    expects = (HT.FINISHED,)

    def process(self, conn, fin, raw):
        hs = self.hs
        hs.server_verify_data = receive_finished(hs, fin, raw, from_client=False)
        if hs.resumed:
            _send_finished(conn, hs)
        return finish_handshake(conn, hs)


def finish_handshake(conn, hs: ClientHandshake12) -> State12:
    """Both Finished verified: remember what the next handshake needs, and report."""
    session = hs.offered_session if hs.resumed else Session12(
        hs.session_id_from_server, hs.suite.code, hs.master_secret, hs.extended_master_secret, hs.server_chain,
        hs.config.server_name, hs.negotiated_alpn)
    hs.context.finished(hs.client_verify_data, hs.server_verify_data, session)
    resumption12.record_session(conn, hs, session)        # session_data() from now on
    conn.set_application_read(True)
    negotiated = conn.negotiated
    negotiated.cipher_suite = hs.suite.code
    negotiated.resumed = hs.resumed
    negotiated.extended_master_secret = hs.extended_master_secret
    negotiated.secure_renegotiation = True
    negotiated.session_id = session.session_id
    if hs.server_chain:
        negotiated.peer_certificates = hs.server_chain
    renegotiation = hs.renegotiation
    if renegotiation is None:
        conn.complete_handshake()
    else:
        negotiated.alpn = hs.negotiated_alpn if hs.negotiated_alpn is not None else negotiated.alpn
        if hs.server_share is not None:
            negotiated.group = hs.server_share.named_group
            negotiated.signature_scheme = hs.server_share.algorithm
        conn.emit(RenegotiationFinished(renegotiation.initiator, hs.resumed, renegotiation.number,
                                        epoch_name(hs.index), hs.suite.code))
        conn.set_renegotiating(False)
    return ExpectTraffic(hs)


class ExpectTraffic(State12):
    """After the handshake: a HelloRequest asks for a renegotiation."""
    expected = (HT.HELLO_REQUEST,)

    def __init__(self, hs: ClientHandshake12):
        self.hs = hs

    def handle(self, conn, msg, raw):
        config = self.hs.config
        if conn.closed:
            conn.emit(HelloRequestReceived("ignored"))     # we said close_notify: no new handshake
            return self
        if not config.allow_renegotiation:
            conn.emit(HelloRequestReceived("refused"))
            refuse(conn, "server", "renegotiation is disabled (allow_renegotiation=False)")
            return self
        conn.emit(HelloRequestReceived("renegotiating"))
        # The seed: a client answering a HelloRequest tries to resume the current session, unless a
        # full renegotiation was already scheduled by renegotiate().
        scheduled = conn.take_scheduled_renegotiation()
        abbreviated = scheduled != "full"
        return start_renegotiation(conn, "server", abbreviated, self)

