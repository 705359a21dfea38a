"""TLS 1.3 resumption on the client: which session to offer, the pre_shared_key offer and its
binder, 0-RTT early data, and the NewSessionTickets that arrive after the handshake.

client13 calls in at fixed points of its handshake:

    start:                 prepare_offer -> (ClientHello with psk_extension, bind) -> after_first_client_hello
    HelloRetryRequest:     on_hello_retry                 (0-RTT is over; the PSK stays if its hash fits)
    ServerHello:           on_server_hello -> key schedule to use; handshake_write_keys_now
    EncryptedExtensions:   on_encrypted_extensions        (0-RTT accepted or rejected)
    server Finished:       end_early_data                 (EndOfEarlyData, then the handshake keys)
    after the handshake:   receive_ticket
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import psk as psk_math
from .cipher_suites import CipherSuiteInfo, suite_info
from .early_data import ClientEarlyData
from .enums import PskKeyExchangeMode
from .errors import DecodeError, IllegalParameter, ProtocolVersionError, UsageError
from .events import (EarlyDataAccepted, EarlyDataRejected, ResumptionAccepted, ResumptionOffered,
                     ResumptionRefused, TicketReceived)
from .extensions import ALPN, EarlyData, PreSharedKeyServerHello, PskIdentity
from .handshake13 import check_no_duplicates
from .key_schedule import KeySchedule, hash_of
from .messages import ClientHello, EndOfEarlyData, NewSessionTicket
from .session_data import TLS13, SessionData, SessionDataError, check_usable, decode

if TYPE_CHECKING:
    from .connection import Connection

_APPLICATION_DATA = 23


@dataclass
class PskOffer:
    """The session a client offers in its ClientHello, with the key schedule its PSK starts."""
    session: SessionData
    suite: CipherSuiteInfo              # the session's suite (0-RTT is protected with it)
    schedule: KeySchedule               # early secret from the PSK
    early: ClientEarlyData | None       # 0-RTT data, when offered
    accepted: bool = False


# --- choosing the session ---------------------------------------------------------------------------

def check_session(conn: "Connection", session: SessionData) -> None:
    """SessionDataError unless this connection may offer `session` now."""
    config = conn.config
    check_usable(session, now=config.clock(), server_name=config.server_name,
                 cipher_suites=config.cipher_suites, versions=config.versions)
    if session.tls_version == TLS13 and not config.ticket_reuse and config.wallet.is_spent(session):
        raise SessionDataError(
            "session data refused: its ticket was already offered once; reusing a TLS 1.3 ticket lets "
            "observers link the connections (RFC 8446 C.4). ClientConfig(ticket_reuse=True) allows it",
            "spent")


def resolve_session(conn: "Connection", *, strict: bool) -> SessionData | None:
    """The session this connection will offer: set_session_data(), else ClientConfig.session_data,
    else (resume_from_wallet) the wallet's newest. A config blob that cannot be used raises when
    `strict`, else it is reported in a ResumptionRefused event and the handshake is a full one."""
    state = conn.session_state
    if state.offered is not None:
        return state.offered
    config = conn.config
    session = None
    if config.session_data is not None:
        try:
            session = decode(config.session_data)
            check_session(conn, session)
        except SessionDataError as exc:
            if strict:
                raise
            conn.emit(ResumptionRefused(str(exc)))
            session = None
    elif config.resume_from_wallet:
        now = config.clock()
        while (candidate := config.wallet.take(config.server_name, now)) is not None:
            try:
                check_session(conn, candidate)
            except SessionDataError:
                continue            # not usable by this config (suite, version): look further
            session = candidate
            break
    state.offered = session
    return session


def prepare_offer(conn: "Connection") -> PskOffer | None:
    """Decide the TLS 1.3 offer before the first ClientHello is built (no randomness is drawn)."""
    state = conn.session_state
    session = resolve_session(conn, strict=False)
    if session is not None:
        try:
            check_session(conn, session)          # again: time has passed since it was set
        except SessionDataError as exc:
            conn.emit(ResumptionRefused(str(exc), session.ticket))
            session = state.offered = None
    early = state.client_early
    if session is not None and session.tls_version != TLS13:
        conn.emit(ResumptionRefused("a TLS 1.2 session is offered only by a client that offers TLS 1.2 alone "
                                    "(ClientConfig(versions=(0x0303,)))", session.ticket or session.session_id))
        session = state.offered = None
    if session is None:
        if early is not None:
            state.client_early = None
            conn.emit(EarlyDataRejected(early.everything(), "no session to resume, so no early data was sent"))
        return None
    suite = suite_info(session.cipher_suite)
    schedule = KeySchedule(suite)
    schedule.early(session.secret)
    if early is not None and not session.allows_early_data:
        state.client_early = None
        conn.emit(EarlyDataRejected(early.everything(), "the session's ticket does not allow early data"))
        early = None
    if early is not None and session.alpn is not None and session.alpn not in conn.config.alpn_protocols:
        state.client_early = None
        conn.emit(EarlyDataRejected(early.everything(), "the session's ALPN protocol is no longer offered"))
        early = None
    conn.config.wallet.spend(session, conn.config.clock())
    return PskOffer(session, suite, schedule, early)


def offers_early_data(hs: Any) -> bool:
    offer = hs.psk_offer
    return offer is not None and offer.early is not None and offer.early.status in ("queued", "offered")


# --- the ClientHello ----------------------------------------------------------------------------------

def psk_identity(config: Any, offer: PskOffer) -> PskIdentity:
    session = offer.session
    age = session.age_ms(config.clock())
    return PskIdentity(session.ticket, psk_math.obfuscate_age(age, session.age_add))


def add_psk_extension(config: Any, hs: Any, hello: ClientHello) -> ClientHello:
    """`hello` ending with pre_shared_key, with placeholder binders (padding is computed after)."""
    offer = hs.psk_offer
    return psk_math.with_placeholder_binders(hello, (psk_identity(config, offer),), (offer.suite.hash_length,))


def bind(hs: Any, hello: ClientHello) -> ClientHello:
    """The binder over the final ClientHello (after a HelloRetryRequest, over the transcript too)."""
    before = hs.transcript if hs.retry_suite is not None else None
    return psk_math.bind(hello, (hs.psk_offer.schedule,), before)


def after_first_client_hello(conn: "Connection", hs: Any, raw_hello: bytes) -> None:
    """ResumptionOffered; with 0-RTT: the early traffic keys and the early data queued so far."""
    offer = hs.psk_offer
    if offer is None:
        return
    session = offer.session
    conn.emit(ResumptionOffered(TLS13, session.ticket, session.age_ms(conn.config.clock()), offer.early is not None))
    schedule = offer.schedule
    if offer.early is None:
        conn.emit_secrets(schedule)
        return
    secret = schedule.client_early_traffic_secret(hash_of(schedule.hash, raw_hello))
    conn.emit_secrets(schedule)
    if conn.config.compatibility_mode:
        conn.send_change_cipher_spec()        # right after the first ClientHello when sending 0-RTT (D.4)
    conn.install_write_keys(offer.suite, secret, "early")
    early = offer.early
    early.status = "offered"
    if early.queued:
        data = bytes(early.queued)
        early.queued.clear()
        write_early_data(conn, early, data)


def write_early_data(conn: "Connection", early: ClientEarlyData, data: bytes) -> None:
    for offset in range(0, len(data), 2**14):
        chunk = data[offset:offset + 2**14]
        conn.write_protected_record(_APPLICATION_DATA, chunk)
        early.sent += chunk


def _reject_early_data(conn: "Connection", hs: Any, reason: str) -> None:
    early = hs.psk_offer.early
    early.status = "rejected"
    conn.emit(EarlyDataRejected(early.everything(), reason))


# --- the server's answer ------------------------------------------------------------------------------

def on_hello_retry(conn: "Connection", hs: Any, hrr_suite: CipherSuiteInfo) -> None:
    """After a HelloRetryRequest: 0-RTT is rejected (RFC 8446 4.2.10) and the next ClientHello goes
    in plaintext; the PSK is offered again only when its hash fits the suite the server chose."""
    offer = hs.psk_offer
    if offer is None:
        return
    if offer.early is not None and offer.early.status == "offered":
        _reject_early_data(conn, hs, "the server answered with a HelloRetryRequest")
        conn.restore_plaintext_writes()
    if offer.suite.hash is not hrr_suite.hash:
        hs.psk_offer = None
        conn.emit(ResumptionRefused(f"HelloRetryRequest chose {hrr_suite.name}, whose hash differs from the "
                                    f"session's ({offer.suite.hash.name.upper()}): the session is not offered again",
                                    offer.session.ticket))


def on_tls12_server_hello(conn: "Connection", hs: Any) -> None:
    """The server chose TLS 1.2: the TLS 1.3 session is not resumed. After 0-RTT data the
    connection fails (RFC 8446 D.3: an older server cannot skip it); the data comes back first."""
    offer = hs.psk_offer
    if offer is None:
        return
    conn.emit(ResumptionRefused("the server chose TLS 1.2, where a TLS 1.3 ticket means nothing",
                                offer.session.ticket))
    hs.psk_offer = None
    if offer.early is not None and offer.early.status == "offered":
        hs.psk_offer = offer
        _reject_early_data(conn, hs, "the server chose TLS 1.2")
        raise ProtocolVersionError("the server answered 0-RTT data with a TLS 1.2 ServerHello (RFC 8446 D.3)",
                                   expected="TLS 1.3", received="TLS 1.2")


def on_server_hello(conn: "Connection", hs: Any, sh: Any, suite: CipherSuiteInfo) -> KeySchedule | None:
    """The key schedule of the accepted PSK, or None for a full handshake."""
    offer = hs.psk_offer
    selected = sh.get_extension(PreSharedKeyServerHello)
    if offer is None:
        return None            # check_response_extensions already refused an unasked pre_shared_key
    if selected is None:
        conn.emit(ResumptionRefused("the server chose a full handshake (no pre_shared_key in its ServerHello)",
                                    offer.session.ticket))
        if offer.early is not None and offer.early.status == "offered":
            _reject_early_data(conn, hs, "the server did not resume the session")
        return None
    if selected.selected_identity != 0:
        raise IllegalParameter(f"ServerHello selects PSK identity {selected.selected_identity}; one was offered",
                               expected="0", received=str(selected.selected_identity))
    if suite.hash is not offer.suite.hash:
        raise IllegalParameter(f"ServerHello resumes with {suite.name}, whose hash differs from the session's",
                               expected=offer.suite.hash.name.upper(), received=suite.hash.name.upper())
    offer.accepted = True
    conn.negotiated.resumed = True
    return offer.schedule


def check_psk_mode(hs: Any, has_key_share: bool) -> int:
    """The PSK mode the server used, checked against what we offered."""
    modes = hs.config.psk_modes
    mode = PskKeyExchangeMode.PSK_DHE_KE if has_key_share else PskKeyExchangeMode.PSK_KE
    if mode not in modes:
        if has_key_share:
            raise IllegalParameter("ServerHello uses psk_dhe_ke, which was not offered",
                                   expected="psk_ke", received="psk_dhe_ke")
        raise IllegalParameter("ServerHello resumes with psk_ke (no key_share), which was not offered",
                               expected="a key_share (psk_dhe_ke)", received="no key_share")
    return mode


def accepted(conn: "Connection", hs: Any, mode: int) -> None:
    conn.emit(ResumptionAccepted(TLS13, hs.psk_offer.session.ticket, mode))


def handshake_write_keys_now(hs: Any) -> bool:
    """False while accepted 0-RTT may still follow: the early keys stay until EndOfEarlyData."""
    offer = hs.psk_offer
    return not (offer is not None and offer.accepted and offer.early is not None and offer.early.status == "offered")


def on_encrypted_extensions(conn: "Connection", hs: Any, ee: Any) -> None:
    offer = hs.psk_offer
    indication = ee.get_extension(EarlyData)
    pending = offer is not None and offer.accepted and offer.early is not None and offer.early.status == "offered"
    if indication is not None and not pending:
        raise IllegalParameter("EncryptedExtensions accepts early data that was not sent or cannot be accepted "
                               "(RFC 8446 4.2.10)")
    if not pending:
        return
    early = offer.early
    if indication is None:
        _reject_early_data(conn, hs, "the server rejected the early data (no early_data in EncryptedExtensions)")
        conn.install_write_keys(hs.suite, hs.client_hs, "handshake")
        return
    if hs.suite.code != offer.suite.code:
        raise IllegalParameter("early data accepted with another cipher suite than the session's (RFC 8446 4.2.10)",
                               expected=offer.suite.name, received=hs.suite.name)
    alpn = ee.get_extension(ALPN)
    chosen = alpn.protocols[0] if alpn is not None and alpn.protocols else None
    if chosen != offer.session.alpn:
        raise IllegalParameter("early data accepted with another ALPN protocol than the session's (RFC 8446 4.2.10)",
                               expected=repr(offer.session.alpn), received=repr(chosen))
    early.status = "accepted"
    conn.session_state.early_accepted = True
    conn.emit(EarlyDataAccepted(early.limit, len(early.sent)))


def end_early_data(conn: "Connection", hs: Any) -> None:
    """After the server's Finished: EndOfEarlyData under the early keys, then the handshake keys."""
    offer = hs.psk_offer
    if offer is None or offer.early is None or offer.early.status != "accepted":
        return
    hs.transcript.update(conn.send_handshake_message(EndOfEarlyData()))
    offer.early.status = "ended"
    conn.install_write_keys(hs.suite, hs.client_hs, "handshake")


# --- after the handshake ------------------------------------------------------------------------------

def resumption_master_secret(schedule: KeySchedule) -> bytes:
    for secret in reversed(schedule.derived):
        if secret.name == "res master":
            return secret.value
    raise UsageError("the resumption master secret is not derived yet")


def receive_ticket(conn: "Connection", hs: Any, nst: NewSessionTicket) -> None:
    """A NewSessionTicket: checked, turned into session data, put in the wallet, announced."""
    check_no_duplicates(nst.extensions, "NewSessionTicket")
    if nst.ticket_lifetime > psk_math.MAX_TICKET_LIFETIME:
        raise IllegalParameter(f"ticket_lifetime of {nst.ticket_lifetime} s exceeds seven days (RFC 8446 4.6.1)",
                               expected=f"<= {psk_math.MAX_TICKET_LIFETIME}", received=str(nst.ticket_lifetime))
    if not nst.ticket:
        raise DecodeError("NewSessionTicket with an empty ticket", expected="ticket<1..2^16-1>", received="0 bytes")
    indication = nst.get_extension(EarlyData)
    max_early_data = indication.max_early_data_size if indication is not None else 0
    config = conn.config
    suite = hs.suite
    secret = psk_math.ticket_psk(suite.hash, resumption_master_secret(hs.key_schedule), nst.ticket_nonce)
    session = SessionData(tls_version=TLS13, cipher_suite=suite.code, secret=secret, ticket=nst.ticket,
                          lifetime=nst.ticket_lifetime, received_at=config.clock(), age_add=nst.ticket_age_add,
                          nonce=nst.ticket_nonce, server_name=config.server_name, alpn=conn.negotiated.alpn,
                          max_early_data=max_early_data)
    state = conn.session_state
    state.tickets_received += 1
    if nst.ticket_lifetime > 0:           # RFC 8446 4.6.1: a lifetime of zero means discard it at once
        state.latest = session
        config.wallet.deposit(session)
    conn.emit(TicketReceived(TLS13, nst.ticket, nst.ticket_lifetime, nst.ticket_age_add, nst.ticket_nonce,
                             max_early_data))
