"""TLS 1.2 resumption across connections: the server's session ID cache and RFC 5077 tickets, and
the client's session data. server12 / client12 call in; their own `context.session` still serves
an abbreviated renegotiation on the same connection, offered by session ID or by the ticket the
server gave for that session (a ticket resumes only the connection's current session there).

Policy: only sessions made with the extended master secret (RFC 7627) are cached, put in
tickets, handed out as session data or resumed across connections: without it a session is
open to the triple handshake attack.

    server:  find_session (a ticket first, then the session ID cache) -> issues_ticket /
             new_session_ticket (before the server's change_cipher_spec) -> remember_session
    client:  prepare_offer (or offer_in_renegotiation) -> client_hello_ticket -> after_server_hello
             -> receive_ticket -> record_session
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from .errors import HandshakeFailure
from .events import ResumptionAccepted, ResumptionOffered, ResumptionRefused, TicketIssued, TicketReceived
from .extensions import SessionTicket
from .handshake12 import Session12
from .messages import NewSessionTicket12
from .server_session import ServerSession
from .session_data import SessionData, SessionDataError
from .tickets import TicketRefused

if TYPE_CHECKING:
    from .connection import Connection

TLS12 = 0x0303
DEFAULT_SESSION_LIFETIME = 7200      # what a client assumes for a session ID (OpenSSL's default timeout)


# --- server ------------------------------------------------------------------------------------------

def _refused(conn: "Connection", reason: str, identity: bytes) -> None:
    conn.emit(ResumptionRefused(reason, identity))
    return None


def _offered_ticket(ch: Any) -> bytes:
    ticket_ext = ch.get_extension(SessionTicket)
    return ticket_ext.ticket if ticket_ext is not None else b""


def find_session(conn: "Connection", hs: Any, offer: Any) -> Session12 | None:
    """The session to resume: in a renegotiation the connection's own (`offer.session`, found by
    session ID, or by ticket), else one another connection made, offered by ticket or by session ID.
    None: a full handshake (the reason in ResumptionRefused)."""
    if hs.renegotiation is not None:
        if _offered_ticket(offer.hello):
            # RFC 5077 3.4: with a ticket, the session ID is not used for stateful resumption.
            return _renegotiation_ticket_session(conn, hs, offer)
        return offer.session
    if offer.session is not None:
        return offer.session
    config = hs.config
    ch = offer.hello
    ticket = _offered_ticket(ch)
    identity = ticket or ch.legacy_session_id
    if not identity:
        return None
    conn.emit(ResumptionOffered(TLS12, identity, None, False))
    now = config.clock()
    if ticket:
        if not ch.legacy_session_id:
            return _refused(conn, "a ticket without a session ID: the resumption could not be signalled "
                                  "(RFC 5077 3.4)", identity)
        try:
            session = config.tickets.redeem(ticket, now=now)
        except TicketRefused as exc:
            return _refused(conn, str(exc), identity)
    else:
        session = config.session_cache.get(ch.legacy_session_id, now)
        if session is None:
            return _refused(conn, "session ID unknown to this server (never issued here, expired or evicted)",
                            identity)
    problem = _session_problem(config, offer, session)
    if problem is not None:
        return _refused(conn, problem, identity)
    conn.emit(ResumptionAccepted(TLS12, identity, None))
    # The ServerHello echoes the client's session ID: with a ticket, that is how resumption shows.
    return Session12(ch.legacy_session_id, session.cipher_suite, session.secret, True, session.peer_certificates,
                     session.server_name, session.alpn)


def _renegotiation_ticket_session(conn: "Connection", hs: Any, offer: Any) -> Session12 | None:
    """An abbreviated renegotiation offered by ticket, as OpenSSL's client answers a HelloRequest
    (its session ID is then a hash of the ticket, not the one our ServerHello gave).

    The ticket resumes only the connection's current session: a renegotiation is bound to this
    connection's last handshake (RFC 5746), and taking up another session under it would change
    what the connection is (the triple handshake attack). The ServerHello echoes the client's
    session ID (RFC 5077 3.4)."""
    config = hs.config
    ch = offer.hello
    ticket = _offered_ticket(ch)
    current = hs.context.session
    if not ch.legacy_session_id:
        return _refused(conn, "a ticket without a session ID: the resumption could not be signalled "
                              "(RFC 5077 3.4)", ticket)
    try:
        session = config.tickets.redeem(ticket, now=config.clock())
    except TicketRefused as exc:
        return _refused(conn, str(exc), ticket)
    if (current is None or session.tls_version != TLS12 or session.cipher_suite != current.cipher_suite
            or not hmac.compare_digest(session.secret, current.master_secret)):
        return _refused(conn, "the ticket holds another session than this connection's: a renegotiation "
                              "resumes only the current session", ticket)
    problem = _session_problem(config, offer, session)
    if problem is not None:
        return _refused(conn, problem, ticket)
    return Session12(ch.legacy_session_id, current.cipher_suite, current.master_secret,
                     current.extended_master_secret, current.peer_certificates, current.server_name, current.alpn)


def _session_problem(config: Any, offer: Any, session: ServerSession) -> str | None:
    if session.tls_version != TLS12:
        return "the ticket is for a TLS 1.3 session"
    if not session.extended_master_secret:
        return "the session has no extended master secret (RFC 7627): not resumed"
    if not offer.extended_master_secret:
        # RFC 7627 5.3: resuming a session made with the extension without offering it is aborted.
        raise HandshakeFailure("ClientHello resumes a session made with extended_master_secret without offering "
                               "it (RFC 7627 5.3)")
    ch = offer.hello
    if session.cipher_suite not in ch.cipher_suites or session.cipher_suite not in config.cipher_suites:
        return f"the session's cipher suite 0x{session.cipher_suite:04x} is not offered by both sides"
    if session.server_name != offer.server_name:
        return (f"the session was made for server name {session.server_name!r}, this handshake asks for "
                f"{offer.server_name!r} (RFC 6066 3)")
    if config.require_client_certificate and not session.peer_certificates:
        return "the original session had no client certificate, and this server requires one"
    return None


def issues_ticket(config: Any, offer: Any) -> bool:
    """RFC 5077: a NewSessionTicket when the client asked (session_ticket in its ClientHello), the
    session has the extended master secret, and the server issues tickets at all."""
    return (config.ticket_count > 0 and offer.extended_master_secret
            and offer.hello.get_extension(SessionTicket) is not None)


def new_session_ticket(conn: "Connection", hs: Any) -> NewSessionTicket12:
    config = hs.config
    offer = hs.offer
    now = config.clock()
    session = ServerSession(TLS12, hs.suite.code, hs.master_secret, now, config.ticket_lifetime,
                            server_name=offer.server_name, alpn=offer.alpn, extended_master_secret=True,
                            peer_certificates=hs.client_chain)
    ticket = config.tickets.issue(session, now=now, rng=config.rng)
    conn.session_state.tickets_issued += 1
    conn.emit(TicketIssued(TLS12, ticket, config.ticket_lifetime, None, None, 0, config.tickets.mode))
    return NewSessionTicket12(config.ticket_lifetime, ticket)


def remember_session(conn: "Connection", hs: Any, session: Session12) -> None:
    """A full handshake's session goes in the session ID cache (EMS sessions only)."""
    config = hs.config
    if hs.resumed or not session.session_id or not session.extended_master_secret:
        return
    now = config.clock()
    state = ServerSession(TLS12, session.cipher_suite, session.master_secret, now, config.ticket_lifetime,
                          server_name=session.server_name, alpn=session.alpn, extended_master_secret=True,
                          peer_certificates=session.peer_certificates)
    config.session_cache.put(session.session_id, state, state.expires_at(), now)


# --- client ------------------------------------------------------------------------------------------

def prepare_offer(conn: "Connection", hs: Any) -> bytes | None:
    """The TLS 1.2 session to offer (set_session_data(), ClientConfig.session_data or the wallet):
    sets hs.offered_session and hs.session_id; returns its ticket (None: ask for none)."""
    from .client_resumption import check_session, resolve_session
    session = resolve_session(conn, strict=False)
    if session is not None:
        try:
            check_session(conn, session)
        except SessionDataError as exc:
            conn.emit(ResumptionRefused(str(exc), session.ticket or session.session_id))
            session = None
    if session is None or session.tls_version != TLS12:
        if session is not None:
            conn.emit(ResumptionRefused("a TLS 1.3 session cannot be offered by a client that offers TLS 1.2 only",
                                        session.ticket))
        return None
    session_id = session.session_id or ticket_session_id(session.ticket)
    hs.session_id = session_id
    hs.offered_session = Session12(session_id, session.cipher_suite, session.secret, session.extended_master_secret,
                                   (), session.server_name, session.alpn)
    conn.emit(ResumptionOffered(TLS12, session.ticket or session_id, None, False))
    return session.ticket or None


def ticket_session_id(ticket: bytes) -> bytes:
    """RFC 5077 3.4: with a ticket, the client makes up a session ID to recognise the resumption by
    (the server echoes it when it accepts the ticket)."""
    return hashlib.sha256(b"tls-workbench session id" + ticket).digest()


def offer_in_renegotiation(hs: Any, session: Session12) -> bytes | None:
    """An abbreviated renegotiation offers the current session: with the ticket the server gave for
    it, when there is one (as OpenSSL's client does), else by its session ID. Sets hs.offered_session
    and hs.session_id; returns the ticket to offer (None: none)."""
    ticket = hs.context.session_ticket
    if ticket:
        session = dataclasses.replace(session, session_id=ticket_session_id(ticket))
    hs.offered_session = session
    hs.session_id = session.session_id
    return ticket or None


def client_hello_ticket(config: Any, ticket: bytes | None) -> list[Any]:
    """The session_ticket extension of a TLS 1.2 ClientHello: the ticket offered, or an empty one
    asking for a ticket (ClientConfig.session_ticket_extension)."""
    if ticket:
        return [SessionTicket(ticket)]
    return [SessionTicket(b"")] if config.session_ticket_extension else []


def after_server_hello(conn: "Connection", hs: Any) -> None:
    if hs.renegotiation is not None or hs.offered_session is None:
        return
    identity = hs.offered_session.session_id
    if hs.resumed:
        conn.emit(ResumptionAccepted(TLS12, identity, None))
    else:
        conn.emit(ResumptionRefused("the server chose a full handshake (it did not echo the session ID)", identity))


def receive_ticket(conn: "Connection", hs: Any, nst: NewSessionTicket12) -> None:
    conn.session_state.ticket12 = nst
    conn.session_state.tickets_received += 1
    conn.emit(TicketReceived(TLS12, nst.ticket, nst.ticket_lifetime_hint, None, None, 0))


def record_session(conn: "Connection", hs: Any, session: Session12) -> None:
    """After a TLS 1.2 handshake: the session data session_data() returns (EMS sessions only)."""
    state = conn.session_state
    nst = state.ticket12
    state.ticket12 = None
    # The ticket that stands for the connection's current session, for an abbreviated renegotiation:
    # a new one, else the one just resumed with (the session did not change), else none.
    if nst is not None and nst.ticket:
        hs.context.session_ticket = nst.ticket
    else:
        hs.context.session_ticket = (hs.offered_ticket or b"") if hs.resumed else b""
    if hs.renegotiation is not None and nst is None:
        return
    if not session.extended_master_secret:
        state.latest = None
        state.unresumable = "this TLS 1.2 session has no extended master secret (RFC 7627): it is not resumed"
        return
    config = hs.config
    ticket = nst.ticket if nst is not None and nst.ticket else b""
    if not ticket and not session.session_id:
        return
    if nst is None and hs.resumed and hs.offered_session is not None:
        previous = state.offered
        if previous is not None and previous.ticket:
            ticket = previous.ticket       # resumed by ticket and no new one: the old one still stands
    lifetime = nst.ticket_lifetime_hint if nst is not None and nst.ticket_lifetime_hint else DEFAULT_SESSION_LIFETIME
    data = SessionData(tls_version=TLS12, cipher_suite=session.cipher_suite, secret=session.master_secret,
                       ticket=ticket, lifetime=lifetime, received_at=config.clock(),
                       server_name=config.server_name, alpn=session.alpn, session_id=session.session_id,
                       extended_master_secret=True)
    state.latest = data
    config.wallet.deposit(data)
