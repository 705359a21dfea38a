"""TLS 1.3 resumption on the server: which offered PSK to accept, 0-RTT acceptance, and the
NewSessionTickets it sends after the handshake (ticket_count of them, and one per send_ticket()).

Every check that fails means a full handshake, with the reason in ResumptionRefused (or, for
0-RTT, EarlyDataRejected) — except a binder that does not verify: RFC 8446 4.2.11 makes the
server abort then (decrypt_error), since the client holds the PSK and yet the ClientHello was altered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import psk as psk_math
from .cipher_suites import CIPHER_SUITES
from .client_resumption import resumption_master_secret
from .config import draw_random
from .early_data import ServerEarlyData, freshness_problem
from .enums import PskKeyExchangeMode
from .errors import DecryptError, IllegalParameter, MissingExtension, UsageError
from .events import (EarlyDataAccepted, EarlyDataRejected, ResumptionAccepted, ResumptionOffered,
                     ResumptionRefused, TicketIssued)
from .extensions import EarlyData, PreSharedKeyClientHello, PskKeyExchangeModes
from .key_schedule import KeySchedule, Transcript, hash_of
from .messages import NewSessionTicket
from .server_session import ServerSession
from .tickets import TicketRefused

if TYPE_CHECKING:
    from .connection import Connection

TLS13 = 0x0304
DHE = PskKeyExchangeMode.PSK_DHE_KE
KE = PskKeyExchangeMode.PSK_KE
# Records of rejected 0-RTT the server skips (RFC 8446 4.2.10): the ticket's limit plus record overhead.
_SKIP_OVERHEAD = 2**14


@dataclass
class AcceptedPsk:
    index: int
    ticket: bytes
    session: ServerSession
    mode: int
    schedule: KeySchedule            # early secret from the PSK; the handshake goes on with it
    early_data: bool = False


def _reject_early_data(conn: "Connection", reason: str) -> None:
    config = conn.config
    conn.emit(EarlyDataRejected(b"", reason))
    conn.skip_early_data(max(config.max_early_data + _SKIP_OVERHEAD, 4 * 2**14))


def _choose_mode(client_modes: tuple[int, ...], server_modes: tuple[int, ...]) -> int | None:
    for mode in (DHE, KE):          # (EC)DHE first: forward secrecy when both sides allow it
        if mode in client_modes and mode in server_modes:
            return mode
    return None


def select_psk(conn: "Connection", offer: Any, raw: bytes, *, before: Transcript | None = None
               ) -> AcceptedPsk | None:
    """The PSK to resume with, or None: a full handshake, or a HelloRetryRequest (psk_dhe_ke
    without a usable key share) after which the second ClientHello is examined again.
    `before` is the transcript in front of a second ClientHello (message_hash + HRR).
    Accepts or skips the client's 0-RTT data as well."""
    config = conn.config
    ch = offer.hello
    ext = ch.get_extension(PreSharedKeyClientHello)
    if ext is None:
        if offer.early_data:
            _reject_early_data(conn, "early data without a pre_shared_key")
        return None
    modes = ch.get_extension(PskKeyExchangeModes)
    if modes is None:
        raise MissingExtension("ClientHello offers a pre_shared_key without psk_key_exchange_modes (RFC 8446 4.2.9)")
    if not ext.identities or len(ext.identities) != len(ext.binders):
        raise IllegalParameter(f"pre_shared_key has {len(ext.identities)} identities and {len(ext.binders)} binders",
                               expected="one binder per identity", received=f"{len(ext.binders)} binders")
    conn.emit(ResumptionOffered(TLS13, ext.identities[0].identity, None, offer.early_data))
    mode = _choose_mode(modes.modes, config.psk_modes)
    if mode is None:
        return _refuse(conn, offer, "no PSK key exchange mode in common (client "
                       f"{[PskKeyExchangeMode(m).name for m in modes.modes if m in (0, 1)]}, server "
                       f"{[PskKeyExchangeMode(m).name for m in config.psk_modes]})", ext)
    if mode == DHE and offer.share is None:
        if offer.early_data:
            _reject_early_data(conn, "a HelloRetryRequest is needed (no key share for the server's group)")
        return None
    now = config.clock()
    reasons = []
    for index, identity in enumerate(ext.identities):
        try:
            session = config.tickets.redeem(identity.identity, now=now)
        except TicketRefused as exc:
            reasons.append(str(exc))
            continue
        problem = _session_problem(config, offer, session, identity, now)
        if problem is None:
            break
        reasons.append(problem)
    else:
        prefix = "" if len(ext.identities) == 1 else f"none of {len(ext.identities)} PSKs is usable: "
        return _refuse(conn, offer, prefix + "; ".join(reasons), ext)

    schedule = KeySchedule(offer.suite)
    schedule.early(session.secret)
    truncated = psk_math.truncated_client_hello(raw, ext)
    binder = psk_math.compute_binder(schedule, psk_math.binder_hash(schedule.hash, truncated, before))
    if not psk_math.binder_matches(binder, ext.binders[index]):
        conn.emit(ResumptionRefused("the PSK binder does not verify: the handshake is aborted (RFC 8446 4.2.11)",
                                    identity.identity))
        raise DecryptError("PSK binder does not verify", expected=binder.hex(), received=ext.binders[index].hex())
    chosen = AcceptedPsk(index, identity.identity, session, mode, schedule)
    conn.negotiated.resumed = True
    conn.negotiated.peer_certificates = session.peer_certificates
    conn.emit(ResumptionAccepted(TLS13, identity.identity, mode))
    if offer.early_data:
        _decide_early_data(conn, offer, chosen, raw, identity.obfuscated_ticket_age, now)
    return chosen


def _refuse(conn: "Connection", offer: Any, reason: str, ext: PreSharedKeyClientHello) -> None:
    conn.emit(ResumptionRefused(reason, ext.identities[0].identity))
    if offer.early_data:
        _reject_early_data(conn, "the session is not resumed")
    return None


def _session_problem(config: Any, offer: Any, session: ServerSession, identity: Any, now: float) -> str | None:
    """Why this session cannot resume this handshake, or None."""
    if session.tls_version != TLS13:
        return "the ticket is for a TLS 1.2 session"
    suite = offer.suite
    session_suite = CIPHER_SUITES.get(session.cipher_suite)
    if session_suite is None or session_suite.hash is not suite.hash:
        ticket_hash = session_suite.hash.name.upper() if session_suite else "?"
        return (f"the ticket's hash ({ticket_hash}) differs from the hash of the selected suite {suite.name} "
                f"(RFC 8446 4.2.11)")
    client_age = psk_math.client_ticket_age(identity.obfuscated_ticket_age, session.age_add)
    if client_age > session.lifetime * 1000 + config.early_data_age_tolerance * 1000:
        return f"the client's ticket age ({client_age} ms) exceeds the ticket lifetime ({session.lifetime} s)"
    if session.server_name != offer.server_name:
        return (f"the ticket was issued for server name {session.server_name!r}, this handshake asks for "
                f"{offer.server_name!r}")
    if config.require_client_certificate and not session.peer_certificates:
        return "the original session had no client certificate, and this server requires one"
    return None


def _decide_early_data(conn: "Connection", offer: Any, chosen: AcceptedPsk, raw: bytes, obfuscated_age: int,
                       now: float) -> None:
    config = conn.config
    session = chosen.session
    client_age = psk_math.client_ticket_age(obfuscated_age, session.age_add)
    reason = None
    if config.max_early_data == 0:
        reason = "this server does not accept early data (max_early_data is 0)"
    elif chosen.index != 0:
        reason = "early data is only accepted with the first PSK identity (RFC 8446 4.2.10)"
    elif session.max_early_data == 0:
        reason = "the ticket does not allow early data"
    elif session.cipher_suite != offer.suite.code:
        reason = "the selected cipher suite differs from the ticket's (RFC 8446 4.2.10)"
    elif session.alpn != offer.alpn:
        reason = f"the ALPN protocol differs from the ticket's ({session.alpn!r} then, {offer.alpn!r} now)"
    else:
        reason = freshness_problem(client_age, session.age_ms(now), config.early_data_age_tolerance)
        if reason is None and not config.anti_replay.claim(chosen.ticket, expires_at=session.expires_at(), now=now):
            reason = "the ticket was already used for early data (a replay?), or the anti-replay register is full"
    if reason is not None:
        _reject_early_data(conn, reason)
        return
    schedule = chosen.schedule
    secret = schedule.client_early_traffic_secret(hash_of(schedule.hash, raw))
    conn.emit_secrets(schedule)
    conn.install_read_keys(offer.suite, secret, "early")
    limit = min(session.max_early_data, config.max_early_data)
    conn.session_state.server_early = ServerEarlyData(limit)
    conn.session_state.early_accepted = True
    chosen.early_data = True
    conn.emit(EarlyDataAccepted(limit, 0))


# --- tickets -------------------------------------------------------------------------------------------

def issue_tickets(conn: "Connection", hs: Any) -> None:
    """The NewSessionTickets sent when the handshake completes."""
    for _ in range(conn.config.ticket_count):
        _issue(conn, hs)


def send_ticket(conn: "Connection") -> bytes:
    """One more NewSessionTicket, on demand; returns the ticket."""
    if conn.role != "server":
        raise UsageError("send_ticket() is for servers; a client receives tickets")
    if not conn.handshake_complete:
        raise UsageError("send_ticket() before the handshake completed")
    if conn.closed:
        raise UsageError("the connection is closed")
    if conn.negotiated.version != TLS13:
        raise UsageError("send_ticket() needs TLS 1.3 (TLS 1.2 tickets travel inside the handshake)")
    return _issue(conn, conn.handshake)


def _issue(conn: "Connection", hs: Any) -> bytes:
    config = conn.config
    state = conn.session_state
    nonce = state.next_ticket_nonce()
    age_add = int.from_bytes(draw_random(config, 4, "ticket_age_add"), "big")
    suite = hs.suite
    secret = psk_math.ticket_psk(suite.hash, resumption_master_secret(hs.key_schedule), nonce)
    now = config.clock()
    negotiated = conn.negotiated
    session = ServerSession(TLS13, suite.code, secret, now, config.ticket_lifetime, age_add, config.max_early_data,
                            negotiated.server_name, negotiated.alpn, peer_certificates=negotiated.peer_certificates)
    ticket = config.tickets.issue(session, now=now, rng=config.rng)
    extensions = (EarlyData(config.max_early_data),) if config.max_early_data else ()
    conn.send_handshake_message(NewSessionTicket(config.ticket_lifetime, age_add, nonce, ticket, extensions))
    state.tickets_issued += 1
    conn.emit(TicketIssued(TLS13, ticket, config.ticket_lifetime, age_add, nonce, config.max_early_data,
                           config.tickets.mode))
    return ticket
