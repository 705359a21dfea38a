"""The TLS 1.3 client handshake (RFC 8446), one class per state.

    start() -> ExpectServerHello --HRR--> ExpectServerHelloAfterRetry
            -> ExpectEncryptedExtensions -> ExpectCertificateOrCertificateRequest [-> ExpectCertificate]
            -> ExpectCertificateVerify -> ExpectFinished -> ExpectTraffic
    resumed (client_resumption): ExpectEncryptedExtensions -> ExpectFinished (EndOfEarlyData first
    when 0-RTT was accepted); NewSessionTickets in ExpectTraffic become session data.

Randomness is drawn in a fixed order so that a trace can be reproduced by injecting its values:
ClientHello.random (32 bytes), the key share private key(s), then the compatibility-mode
legacy_session_id (32 bytes); after a HelloRetryRequest, the new key share.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import client12, client_resumption, key_update
from .cipher_suites import suite_info
from .config import ClientConfig, draw_random, suites_of_version
from .enums import ExtensionType, HandshakeType, NamedGroup, name_of
from .errors import (DecodeError, HandshakeFailure, IllegalParameter, MissingExtension, ProtocolVersionError,
                     UnexpectedMessage)
from .events import HelloRetryRequested
from .extensions import (ALPN, Cookie, EarlyData, KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest,
                         KeyShareServerHello, Padding, PskKeyExchangeModes, RecordSizeLimit, RenegotiationInfo,
                         ServerName, SessionTicket, SignatureAlgorithms, SupportedGroups,
                         SupportedVersionsClientHello, SupportedVersionsServerHello, extension_type)
from .handshake12 import TLS12, client_gets_tls12, client_hello_extensions12, offered_versions
from .handshake13 import (ALLOWED_IN_ENCRYPTED_EXTENSIONS, ALLOWED_IN_HELLO_RETRY, ALLOWED_IN_SERVER_HELLO, TLS13,
                          HandshakeState, certificate_message, check_alpn_choice, check_certificate_entries,
                          check_no_duplicates, check_peer_finished, check_response_extensions, check_server_name_ack,
                          check_suite_and_compression, choose_signature, peer_public_key, require_empty_context,
                          sign_certificate_verify, verify_certificate_verify)
from .key_exchange import SUPPORTED_GROUPS, KeyShare
from .key_schedule import KeySchedule, Transcript
from .messages import ClientHello, Finished, encode_handshake

if TYPE_CHECKING:
    from .connection import Connection

HT = HandshakeType
_PADDING_TARGET = 512          # RFC 7685 workaround: ClientHellos of 256..511 bytes are padded to 512


class ClientHandshake:
    """The data of one client handshake, shared by its states."""

    def __init__(self, config: ClientConfig):
        self.config = config
        self.random = b""
        self.session_id = b""
        self.key_shares: dict[int, KeyShare] = {}
        self.offered: set[int] = set()               # extension types in our ClientHello
        self.transcript = Transcript()
        self.suite = None
        self.key_schedule: KeySchedule | None = None
        self.client_hs = b""
        self.server_hs = b""
        self.certificate_request = None
        self.retry_suite: int | None = None
        self.retry_group: int | None = None
        self.psk_offer: client_resumption.PskOffer | None = None     # the session offered for resumption


def build_client_hello(config: ClientConfig, hs: ClientHandshake, cookie: bytes | None = None) -> ClientHello:
    """The ClientHello; extension order as in RFC 8448 (NSS), ALPN where NSS and OpenSSL put it."""
    exts: list[Any] = []
    sni = config.sni
    if sni is not None:
        exts.append(ServerName(sni))
    if config.renegotiation_info:
        exts.append(RenegotiationInfo(b""))
    exts.append(SupportedGroups(config.supported_groups))
    if config.session_ticket_extension:
        exts.append(SessionTicket(b""))
    if config.alpn_protocols:
        exts.append(ALPN(config.alpn_protocols))
    exts.append(KeyShareClientHello(tuple([KeyShareEntry(s.group, s.public_bytes) for s in hs.key_shares.values()])))
    if client_resumption.offers_early_data(hs) and hs.retry_suite is None:
        exts.append(EarlyData())
    exts.append(SupportedVersionsClientHello(offered_versions(config)))
    exts.append(SignatureAlgorithms(config.signature_schemes))
    if TLS12 in config.versions:          # what a TLS 1.2 server needs as well (handshake12)
        exts.extend(client_hello_extensions12(config, {extension_type(e) for e in exts}))
    if cookie is not None:
        exts.append(Cookie(cookie))
    exts.append(PskKeyExchangeModes(config.psk_modes))
    if config.record_size_limit is not None:
        exts.append(RecordSizeLimit(config.record_size_limit))
    hello = ClientHello(hs.random, hs.session_id, config.cipher_suites, tuple(exts))
    if hs.psk_offer is not None:
        # pre_shared_key comes last (RFC 8446 4.2.11); its placeholder binders count for the padding.
        hello = client_resumption.add_psk_extension(config, hs, hello)
    if config.client_hello_padding:
        size = len(encode_handshake(hello))
        if 256 <= size < _PADDING_TARGET:
            pad = _PADDING_TARGET - size
            # An extension takes 4 bytes of header; keep at least one byte of body (as BoringSSL does).
            pad = pad - 4 if pad >= 5 else 1
            tail = hello.extensions[len(exts):]
            hello = ClientHello(hs.random, hs.session_id, config.cipher_suites, tuple(exts) + (Padding(pad),) + tail)
    if hs.psk_offer is not None:
        hello = client_resumption.bind(hs, hello)
    hs.offered = {extension_type(e) for e in hello.extensions}
    return hello


def start(conn: "Connection") -> HandshakeState:
    """Draw the randomness, queue the first ClientHello, and wait for the ServerHello."""
    config: ClientConfig = conn.config
    hs = ClientHandshake(config)
    conn.handshake = hs
    hs.random = draw_random(config, 32, "ClientHello.random")
    hs.key_shares = {group: KeyShare.generate(group, config.rng) for group in config.key_share_groups}
    if config.compatibility_mode:
        hs.session_id = draw_random(config, 32, "legacy_session_id")
    conn.client_random = hs.random
    hs.psk_offer = client_resumption.prepare_offer(conn)
    hello = build_client_hello(config, hs)
    raw = conn.send_handshake_message(hello)
    hs.transcript.update(raw)
    conn.set_plaintext_record_version(0x0303)
    conn.allow_change_cipher_spec(True)
    client_resumption.after_first_client_hello(conn, hs, raw)     # 0-RTT keys and data, when offered
    return ExpectServerHello(hs)


# --- ServerHello / HelloRetryRequest ------------------------------------------------------------

def _check_server_hello_basics(hs: ClientHandshake, sh: Any, what: str) -> None:
    versions = sh.get_extension(SupportedVersionsServerHello)
    if versions is None:
        # No supported_versions: the server picked TLS 1.2 or older, which this client does not speak.
        raise ProtocolVersionError(f"{what} selects legacy version {sh.legacy_version:#06x}; only TLS 1.3 is offered",
                                   expected="TLS 1.3 (supported_versions)", received=f"{sh.legacy_version:#06x}")
    if versions.version != TLS13:
        raise IllegalParameter(f"{what} selects version {versions.version:#06x}, which was not offered",
                               expected="0x0304", received=f"{versions.version:#06x}")
    if sh.legacy_session_id_echo != hs.session_id:
        raise IllegalParameter(f"{what} legacy_session_id_echo does not match our session id",
                               expected=hs.session_id.hex() or "empty", received=sh.legacy_session_id_echo.hex() or "empty")
    check_suite_and_compression(sh, suites_of_version(hs.config.cipher_suites, TLS13), what)


class ExpectServerHello(HandshakeState):
    expected = (HT.SERVER_HELLO,)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, sh, raw):
        hs = self.hs
        if client_gets_tls12(hs.config, sh):
            client_resumption.on_tls12_server_hello(conn, hs)     # no PSK, no 0-RTT in TLS 1.2
            return client12.continue_from_tls13_hello(conn, hs, sh, raw)     # version negotiation
        if sh.is_hello_retry_request:
            _check_server_hello_basics(hs, sh, "HelloRetryRequest")
            return self._hello_retry(conn, sh, raw)
        _check_server_hello_basics(hs, sh, "ServerHello")
        return _process_server_hello(conn, hs, sh, raw)

    def _hello_retry(self, conn, hrr, raw):
        hs = self.hs
        config = hs.config
        check_response_extensions(hrr.extensions, "HelloRetryRequest", ALLOWED_IN_HELLO_RETRY,
                                  hs.offered | {ExtensionType.COOKIE})
        key_share = hrr.get_extension(KeyShareHelloRetryRequest)
        cookie = hrr.get_extension(Cookie)
        if key_share is None and cookie is None:
            raise IllegalParameter("HelloRetryRequest would not change the ClientHello (no key_share, no cookie)")
        group = None
        if key_share is not None:
            group = key_share.selected_group
            if group not in config.supported_groups:
                raise IllegalParameter(f"HelloRetryRequest selects group {name_of(NamedGroup, group)}, "
                                       f"which was not offered",
                                       expected=", ".join(name_of(NamedGroup, g) for g in config.supported_groups),
                                       received=name_of(NamedGroup, group))
            if group in hs.key_shares:
                raise IllegalParameter(f"HelloRetryRequest asks for group {name_of(NamedGroup, group)}, "
                                       f"for which a key share was already sent")
            if group not in SUPPORTED_GROUPS:
                raise HandshakeFailure(f"HelloRetryRequest selects {name_of(NamedGroup, group)}, which this "
                                       f"client advertised but cannot compute")
        suite = suite_info(hrr.cipher_suite)
        transcript = hs.transcript
        transcript.set_hash(suite.hash)
        transcript.restart_after_hello_retry()
        transcript.update(raw)
        hs.retry_suite = hrr.cipher_suite
        hs.retry_group = group
        conn.negotiated.hello_retry = True
        conn.emit(HelloRetryRequested(group, cookie is not None))
        client_resumption.on_hello_retry(conn, hs, suite)     # 0-RTT rejected; the PSK kept if its hash fits
        if group is not None:
            hs.key_shares = {group: KeyShare.generate(group, config.rng)}
        if config.compatibility_mode:
            conn.send_change_cipher_spec()     # before the second ClientHello (RFC 8446 D.4)
        hello = build_client_hello(config, hs, cookie=cookie.cookie if cookie is not None else None)
        transcript.update(conn.send_handshake_message(hello))
        return ExpectServerHelloAfterRetry(hs)


class ExpectServerHelloAfterRetry(HandshakeState):
    expected = (HT.SERVER_HELLO,)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, sh, raw):
        hs = self.hs
        if sh.is_hello_retry_request:
            raise UnexpectedMessage("a second HelloRetryRequest", expected="ServerHello", received="HelloRetryRequest")
        _check_server_hello_basics(hs, sh, "ServerHello")
        if sh.cipher_suite != hs.retry_suite:
            raise IllegalParameter("ServerHello cipher suite differs from the HelloRetryRequest's",
                                   expected=f"{hs.retry_suite:#06x}", received=f"{sh.cipher_suite:#06x}")
        return _process_server_hello(conn, hs, sh, raw)


def _process_server_hello(conn, hs: ClientHandshake, sh, raw) -> HandshakeState:
    config = hs.config
    check_response_extensions(sh.extensions, "ServerHello", ALLOWED_IN_SERVER_HELLO, hs.offered)
    suite = suite_info(sh.cipher_suite)
    psk_schedule = client_resumption.on_server_hello(conn, hs, sh, suite)     # None: no resumption
    key_share = sh.get_extension(KeyShareServerHello)
    entry, shared_secret = None, None
    if key_share is None:
        if psk_schedule is None:
            raise MissingExtension("ServerHello has no key_share and resumes no session")
    else:
        entry = key_share.share
        if hs.retry_group is not None and entry.group != hs.retry_group:
            raise IllegalParameter("ServerHello key share is not for the group the HelloRetryRequest selected",
                                   expected=name_of(NamedGroup, hs.retry_group),
                                   received=name_of(NamedGroup, entry.group))
        share = hs.key_shares.get(entry.group)
        if share is None:
            raise IllegalParameter(f"ServerHello key share is for {name_of(NamedGroup, entry.group)}, "
                                   f"for which no share was sent",
                                   expected=", ".join(name_of(NamedGroup, g) for g in hs.key_shares),
                                   received=name_of(NamedGroup, entry.group))
        shared_secret = share.exchange(entry.key_exchange)
    psk_mode = client_resumption.check_psk_mode(hs, key_share is not None) if psk_schedule is not None else None
    hs.suite = suite
    transcript = hs.transcript
    transcript.set_hash(suite.hash)
    transcript.update(raw)
    schedule = hs.key_schedule = psk_schedule if psk_schedule is not None else KeySchedule(suite)
    if psk_schedule is None:
        schedule.early(None)
    hs.client_hs, hs.server_hs = schedule.handshake(shared_secret, transcript.digest())
    conn.emit_secrets(schedule)
    if psk_mode is not None:
        client_resumption.accepted(conn, hs, psk_mode)
    negotiated = conn.negotiated
    negotiated.version = TLS13
    negotiated.cipher_suite = suite.code
    negotiated.group = entry.group if entry is not None else None
    negotiated.server_name = config.server_name
    conn.use_tls13_record_limits()
    conn.install_read_keys(suite, hs.server_hs, "handshake")
    if config.compatibility_mode:
        conn.send_change_cipher_spec()         # before our first protected record (RFC 8446 D.4)
    # From here our alerts are protected, so the server (already reading with these keys) can read them.
    # With 0-RTT the early keys stay until EncryptedExtensions says whether the server reads them.
    if client_resumption.handshake_write_keys_now(hs):
        conn.install_write_keys(suite, hs.client_hs, "handshake")
    return ExpectEncryptedExtensions(hs)


# --- the server's encrypted flight ---------------------------------------------------------------

class ExpectEncryptedExtensions(HandshakeState):
    expected = (HT.ENCRYPTED_EXTENSIONS,)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, ee, raw):
        hs = self.hs
        config = hs.config
        check_response_extensions(ee.extensions, "EncryptedExtensions", ALLOWED_IN_ENCRYPTED_EXTENSIONS, hs.offered)
        chosen = check_alpn_choice(config.alpn_protocols, ee)
        if chosen is not None:
            conn.negotiated.alpn = chosen
        check_server_name_ack(ee)
        limit = ee.get_extension(RecordSizeLimit)
        if limit is not None:
            if limit.limit < 64:
                raise IllegalParameter(f"record_size_limit {limit.limit} is below 64 (RFC 8449)",
                                       expected=">= 64", received=str(limit.limit))
            conn.set_peer_record_size_limit(limit.limit)
            conn.set_own_record_size_limit(config.record_size_limit)
        client_resumption.on_encrypted_extensions(conn, hs, ee)     # 0-RTT accepted or rejected
        hs.transcript.update(raw)
        if conn.negotiated.resumed:
            return ExpectFinished(hs)           # the PSK authenticates the server: no Certificate
        return ExpectCertificateOrCertificateRequest(hs)


def _handle_server_certificate(conn, hs: ClientHandshake, msg, raw) -> HandshakeState:
    config = hs.config
    require_empty_context(msg.certificate_request_context, "server Certificate")
    if not msg.certificate_list:
        raise DecodeError("server Certificate is empty (RFC 8446 4.4.2.4)", expected="a certificate chain",
                          received="no certificates")
    chain = check_certificate_entries(msg, "server Certificate")
    public_key = peer_public_key(chain, verify=config.verify_peer, trust_anchors=config.trust_anchors,
                                 server_name=config.server_name if config.check_hostname else None,
                                 clock_seconds=config.clock(), for_server=True)
    conn.negotiated.peer_certificates = chain
    hs.transcript.update(raw)
    return ExpectCertificateVerify(hs, public_key)


class ExpectCertificateOrCertificateRequest(HandshakeState):
    expected = (HT.CERTIFICATE_REQUEST, HT.CERTIFICATE)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, msg, raw):
        hs = self.hs
        if raw[0] == HT.CERTIFICATE:
            return _handle_server_certificate(conn, hs, msg, raw)
        require_empty_context(msg.certificate_request_context, "CertificateRequest")
        check_no_duplicates(msg.extensions, "CertificateRequest")
        if msg.get_extension(SignatureAlgorithms) is None:
            raise MissingExtension("CertificateRequest has no signature_algorithms")
        hs.certificate_request = msg
        hs.transcript.update(raw)
        return ExpectCertificate(hs)


class ExpectCertificate(HandshakeState):
    expected = (HT.CERTIFICATE,)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, msg, raw):
        return _handle_server_certificate(conn, self.hs, msg, raw)


class ExpectCertificateVerify(HandshakeState):
    expected = (HT.CERTIFICATE_VERIFY,)

    def __init__(self, hs: ClientHandshake, public_key: Any):
        self.hs = hs
        self.public_key = public_key

    def handle(self, conn, cv, raw):
        hs = self.hs
        verify_certificate_verify(self.public_key, cv, hs.transcript.digest(), offered=hs.config.signature_schemes,
                                  server=True, who="server")
        conn.negotiated.signature_scheme = cv.algorithm
        hs.transcript.update(raw)
        return ExpectFinished(hs)


class ExpectFinished(HandshakeState):
    expected = (HT.FINISHED,)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, fin, raw):
        hs = self.hs
        schedule = hs.key_schedule
        transcript = hs.transcript
        check_peer_finished(schedule.finished(hs.server_hs, transcript.digest()), fin, "server")
        transcript.update(raw)
        client_ap, server_ap = schedule.master(transcript.digest())
        conn.emit_secrets(schedule)
        conn.install_read_keys(hs.suite, server_ap, "application-0")
        conn.allow_change_cipher_spec(False)
        client_resumption.end_early_data(conn, hs)      # EndOfEarlyData when 0-RTT was accepted
        if hs.certificate_request is not None:
            self._send_client_certificate(conn, hs)
        finished = Finished(schedule.finished(hs.client_hs, transcript.digest()))
        transcript.update(conn.send_handshake_message(finished))
        conn.install_write_keys(hs.suite, client_ap, "application-0")
        schedule.resumption_master_secret(transcript.digest())
        conn.emit_secrets(schedule)
        conn.complete_handshake()
        return ExpectTraffic(hs)

    @staticmethod
    def _send_client_certificate(conn, hs: ClientHandshake) -> None:
        config = hs.config
        request = hs.certificate_request
        peer_schemes = request.get_extension(SignatureAlgorithms).schemes
        choice = None
        if config.credential is not None:
            choice = choose_signature((config.credential,), peer_schemes, config.signature_schemes)
        transcript = hs.transcript
        credential = choice[0] if choice else None
        transcript.update(conn.send_handshake_message(
            certificate_message(request.certificate_request_context, credential)))
        if choice is not None:
            credential, scheme = choice
            cv = sign_certificate_verify(credential, scheme, transcript.digest(), server=False)
            transcript.update(conn.send_handshake_message(cv))
            conn.negotiated.client_certificate_scheme = scheme


class ExpectTraffic(HandshakeState):
    """After the handshake: NewSessionTickets become session data (client_resumption.receive_ticket)."""
    expected = (HT.NEW_SESSION_TICKET, HT.KEY_UPDATE)

    def __init__(self, hs: ClientHandshake):
        self.hs = hs

    def handle(self, conn, msg, raw):
        if raw[0] == HT.KEY_UPDATE:
            key_update.receive_key_update(conn, msg)
        elif raw[0] == HT.NEW_SESSION_TICKET:
            client_resumption.receive_ticket(conn, self.hs, msg)
        return self
