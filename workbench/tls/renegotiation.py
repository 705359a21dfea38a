"""TLS 1.2 renegotiation: what a connection carries from one handshake to the next, the secure
renegotiation checks (RFC 5746), and the policy that accepts or refuses a renegotiation.

Only secure renegotiation is spoken: every ClientHello carries renegotiation_info (empty on the
first handshake, our last client verify_data after), and a peer without RFC 5746 support is
refused with handshake_failure. A renegotiation we do not want is refused with a
no_renegotiation warning alert, and the connection goes on in its current epoch.

The flows live in client12 (answering HelloRequest, starting a renegotiation) and server12
(sending HelloRequest, answering a renegotiating ClientHello).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .enums import AlertDescription, AlertLevel
from .errors import HandshakeFailure, UsageError
from .events import RenegotiationRefused
from .extensions import RenegotiationInfo
from .handshake12 import SCSV_RENEGOTIATION, TLS12, Session12

if TYPE_CHECKING:
    from .connection import Connection

NO_RENEGOTIATION = int(AlertDescription.no_renegotiation)


@dataclass
class RenegotiationContext:
    """What one TLS 1.2 connection keeps from handshake to handshake."""
    client_verify_data: bytes = b""      # RFC 5746: the last handshake's Finished messages
    server_verify_data: bytes = b""
    session: Session12 | None = None     # the current session (resumed by an abbreviated renegotiation)
    session_ticket: bytes = b""          # client: the server's RFC 5077 ticket for it, offered again
    handshakes: int = 0                  # completed handshakes, the first one included
    hello_request_outstanding: bool = False     # server: HelloRequest sent, no ClientHello since
    client_renegotiations: list[float] = field(default_factory=list)   # server: when each was accepted

    @property
    def secure(self) -> bool:
        """Both sides spoke RFC 5746 in the last handshake (always so once one completed: we insist)."""
        return self.handshakes > 0

    def finished(self, client_verify_data: bytes, server_verify_data: bytes, session: Session12 | None) -> None:
        self.client_verify_data = client_verify_data
        self.server_verify_data = server_verify_data
        self.session = session
        self.handshakes += 1


@dataclass(frozen=True, slots=True)
class Renegotiation:
    """One renegotiation under way: who asked, its number on the connection, and where to return
    when the peer refuses it."""
    initiator: str                   # "client" or "server"
    number: int                      # 1 for the first renegotiation; its keys protect "application-<number>"
    offered_resumption: bool
    previous_handshake: Any = None   # the handshake data and state in force before it started
    previous_state: Any = None
    previous_client_random: bytes | None = None


# --- the local API ----------------------------------------------------------------------------------

def check_can_renegotiate(conn: "Connection") -> None:
    """renegotiate() / renegotiate_abbreviated(): TLS 1.2 only, after the handshake, when allowed."""
    if not conn.handshake_complete:
        raise UsageError("renegotiation needs a completed handshake")
    if conn.negotiated.version != TLS12:
        raise UsageError("renegotiation exists in TLS 1.2 only; this connection negotiated TLS 1.3 "
                         "(use key_update() to change its keys)")
    if conn.closed:
        raise UsageError("the connection is closed")
    if not conn.config.allow_renegotiation:
        raise UsageError("renegotiation is disabled (allow_renegotiation=False)")


# --- secure renegotiation (RFC 5746) --------------------------------------------------------------------

def check_client_hello(ch: Any, context: RenegotiationContext, renegotiating: bool) -> None:
    """Server side, RFC 5746 3.6 and 3.7."""
    info = ch.get_extension(RenegotiationInfo)
    scsv = SCSV_RENEGOTIATION in ch.cipher_suites
    if not renegotiating:
        if info is None and not scsv:
            raise HandshakeFailure("client does not support secure renegotiation (RFC 5746): no renegotiation_info "
                                   "and no TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
                                   expected="renegotiation_info", received="neither")
        if info is not None and info.renegotiated_connection:
            raise HandshakeFailure("renegotiation_info of a first ClientHello must be empty",
                                   expected="empty", received=info.renegotiated_connection.hex())
        return
    if scsv:
        raise HandshakeFailure("a renegotiating ClientHello must not carry TLS_EMPTY_RENEGOTIATION_INFO_SCSV "
                               "(RFC 5746 3.7)")
    if info is None:
        raise HandshakeFailure("renegotiating ClientHello has no renegotiation_info (RFC 5746 3.7)",
                               expected="renegotiation_info", received="none")
    if info.renegotiated_connection != context.client_verify_data:
        raise HandshakeFailure("renegotiation_info does not hold the client's last verify_data (RFC 5746 3.7)",
                               expected=context.client_verify_data.hex(),
                               received=info.renegotiated_connection.hex() or "empty")


def check_server_hello(sh: Any, context: RenegotiationContext, renegotiating: bool) -> None:
    """Client side, RFC 5746 3.4 and 3.5."""
    info = sh.get_extension(RenegotiationInfo)
    if info is None:
        raise HandshakeFailure("server does not support secure renegotiation (RFC 5746): no renegotiation_info "
                               "in its ServerHello", expected="renegotiation_info", received="none")
    expected = context.client_verify_data + context.server_verify_data if renegotiating else b""
    if info.renegotiated_connection != expected:
        raise HandshakeFailure("ServerHello renegotiation_info does not match the last handshake (RFC 5746)",
                               expected=expected.hex() or "empty", received=info.renegotiated_connection.hex() or
                               "empty")


# --- policy ------------------------------------------------------------------------------------------

def refusal_reason(config: Any, context: RenegotiationContext, initiator: str, now: float) -> str | None:
    """Why a renegotiation the peer started is refused, or None to accept it."""
    if not config.allow_renegotiation:
        return "renegotiation is disabled (allow_renegotiation=False)"
    if initiator != "client" or not hasattr(config, "allow_client_renegotiation"):
        return None
    if not config.allow_client_renegotiation:
        return "client-initiated renegotiation is disabled (allow_client_renegotiation=False)"
    limit = config.client_renegotiation_limit
    if limit is not None:
        count, seconds = limit
        recent = [t for t in context.client_renegotiations if now - t < seconds]
        context.client_renegotiations[:] = recent
        if len(recent) >= count:
            return f"client-initiated renegotiation limit reached ({count} in {seconds:g} s)"
    return None


def refuse(conn: "Connection", initiator: str, reason: str) -> None:
    """Tell the peer no with a warning; the connection stays in its current epoch."""
    conn.send_alert(int(AlertLevel.WARNING), NO_RENEGOTIATION, reason)
    conn.emit(RenegotiationRefused(initiator, by_peer=False, reason=reason))


def peer_refused(conn: "Connection", state: Any) -> Any:
    """The peer sent a no_renegotiation warning. A client whose renegotiation is refused goes back
    to the handshake it had; a server whose HelloRequest is refused stops waiting. Either way the
    connection continues (RFC 5246 7.2.2 leaves that choice to us). Returns the state to go on in."""
    handshake = conn.handshake
    renegotiation = getattr(handshake, "renegotiation", None)
    if renegotiation is not None and getattr(state, "refusable", False):
        conn.handshake = renegotiation.previous_handshake
        conn.client_random = renegotiation.previous_client_random
        conn.set_renegotiating(False)
        conn.emit(RenegotiationRefused(renegotiation.initiator, by_peer=True,
                                       reason="the server answered no_renegotiation"))
        return renegotiation.previous_state
    context = getattr(handshake, "context", None)
    if context is not None and context.hello_request_outstanding:
        context.hello_request_outstanding = False
        conn.emit(RenegotiationRefused("server", by_peer=True, reason="the client answered no_renegotiation"))
    return state
