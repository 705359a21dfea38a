"""The session methods of `Connection` (its base class): resumption data, tickets, 0-RTT.

    data = conn.session_data()                  # client, after a ticket arrived (TLS 1.3)
    conn2.set_session_data(data)                # before start_handshake(): offer that session
    conn2.send_early_data(b"GET / ...")         # 0-RTT, when the ticket allows it
    SessionFlag.SESSION_TICKET in conn.session_flags()
    server.send_ticket()                        # one more NewSessionTicket

These are the Pythonic forms of gnutls_session_get_data2 / gnutls_session_set_data /
gnutls_session_get_flags; docs/resumption.md says where they differ from GnuTLS. The logic
lives in client_resumption / server_resumption; this class holds the per-connection state
and the record-layer services those modules need.
"""
from __future__ import annotations

from typing import Any

from . import client_resumption, server_resumption
from .early_data import ClientEarlyData, ServerEarlyData
from .enums import SessionFlag
from .errors import UsageError
from .events import ApplicationData, KeysInstalled
from .record_protection import NullProtection
from .session_data import TLS13, NoSessionData, SessionData, decode


class SessionState:
    """What one connection knows about sessions."""

    def __init__(self) -> None:
        self.offered: SessionData | None = None        # client: the session it will offer / offered
        self.latest: SessionData | None = None         # client: from the newest ticket
        self.tickets_received = 0
        self.tickets_issued = 0
        self.client_early: ClientEarlyData | None = None
        self.server_early: ServerEarlyData | None = None
        self.early_accepted = False
        self.ticket12 = None                           # client: an RFC 5077 ticket of the handshake under way
        self.unresumable: str | None = None            # client: why this TLS 1.2 session gives no session data
        self._nonce = 0

    def next_ticket_nonce(self) -> bytes:
        """A fresh ticket_nonce for this connection: a counter, two bytes while it fits (as in RFC 8448)."""
        value = self._nonce
        self._nonce += 1
        return value.to_bytes(max(2, (value.bit_length() + 7) // 8), "big")


class SessionAPI:
    """Mixed into Connection; relies on its config, role, negotiated state and record layer."""

    session_state: SessionState

    # --- client: session data -------------------------------------------------------------

    def session_data(self) -> bytes:
        """Resumption data for the latest ticket (TLS 1.3) or this session (TLS 1.2).

        Raises NoSessionData before the handshake completes and, under TLS 1.3, until a ticket
        has arrived (SessionFlag.SESSION_TICKET in session_flags()); never dummy data."""
        self._require_client("session_data()")
        if not self.handshake_complete:
            raise NoSessionData("session_data() before the handshake completed: there is no session yet")
        latest = self.session_state.latest
        if latest is None:
            if self.negotiated.version == TLS13:
                raise NoSessionData("no session ticket has arrived yet: TLS 1.3 servers send them after the "
                                    "handshake; read more data and call again once session_flags() includes "
                                    "SessionFlag.SESSION_TICKET")
            raise NoSessionData(self.session_state.unresumable or
                                "this TLS 1.2 session cannot be resumed (the server gave no session ID or ticket)")
        return latest.encode()

    def set_session_data(self, data: bytes) -> None:
        """Offer the session `data` (from session_data()) in this connection's handshake.

        Must come before start_handshake(). A blob that is damaged, not ours, expired, for another
        server, or (TLS 1.3, without ticket_reuse) already used raises SessionDataError, and the
        connection stays ready for a full handshake."""
        self._require_client("set_session_data()")
        if self._started:
            raise UsageError("set_session_data() must come before start_handshake()")
        session = decode(data)
        client_resumption.check_session(self, session)
        self.session_state.offered = session

    def session_flags(self) -> SessionFlag:
        """RESUMED, SESSION_TICKET (client: a ticket arrived; server: one was sent),
        EXTENDED_MASTER_SECRET (TLS 1.2), EARLY_DATA (0-RTT accepted)."""
        state = self.session_state
        flags = SessionFlag.NONE
        if self.negotiated.resumed:
            flags |= SessionFlag.RESUMED
        if state.tickets_received or state.tickets_issued:
            flags |= SessionFlag.SESSION_TICKET
        if getattr(self.negotiated, "extended_master_secret", False):
            flags |= SessionFlag.EXTENDED_MASTER_SECRET
        if state.early_accepted:
            flags |= SessionFlag.EARLY_DATA
        return flags

    # --- client: 0-RTT --------------------------------------------------------------------

    def send_early_data(self, data: bytes) -> None:
        """Send `data` as 0-RTT early data.

        Before start_handshake() it is queued and goes right after the ClientHello; after, it
        may still be added until the server's answer arrives. The session to resume must
        allow early data. When the server does not accept it, an EarlyDataRejected event hands
        all of it back: send it again with send() once the handshake is complete."""
        self._require_client("send_early_data()")
        data = bytes(data)
        state = self.session_state
        if self.handshake_complete:
            raise UsageError("the handshake is complete: use send()")
        if not self._started:
            early = state.client_early
            if early is None:
                session = client_resumption.resolve_session(self, strict=True)
                if session is None:
                    raise UsageError("no session to resume: early data needs set_session_data() (or "
                                     "ClientConfig.session_data) with a ticket that allows it")
                if not session.allows_early_data:
                    raise UsageError("this session's ticket does not allow early data (the server sent no "
                                     "early_data extension with it)")
                early = state.client_early = ClientEarlyData(session.max_early_data)
            early.check_room(len(data))
            early.queued += data
            return
        offer = getattr(self.handshake, "psk_offer", None)
        early = offer.early if offer is not None else None
        if early is None:
            raise UsageError("this ClientHello offered no early data: call send_early_data() before "
                             "start_handshake()")
        if early.status not in ("offered", "accepted"):
            raise UsageError(f"too late for early data (it was {early.status}): use send() after the handshake")
        early.check_room(len(data))
        client_resumption.write_early_data(self, early, data)

    @property
    def early_data_status(self) -> str | None:
        """Client: None (not attempted), "queued", "offered", "accepted", "ended" or "rejected"."""
        offer = getattr(self.handshake, "psk_offer", None)
        if offer is not None and offer.early is not None:
            return offer.early.status
        early = self.session_state.client_early
        return early.status if early is not None else None

    # --- server: tickets ------------------------------------------------------------------

    def send_ticket(self) -> bytes:
        """Server, TLS 1.3: send one more NewSessionTicket now; returns the ticket."""
        ticket = server_resumption.send_ticket(self)
        self._flush_handshake()
        return ticket

    # --- services for client_resumption / server_resumption -------------------------------

    def write_protected_record(self, content_type: int, data: bytes) -> None:
        """One record under the current write keys (0-RTT data goes out this way)."""
        self._write_record(content_type, data)

    def restore_plaintext_writes(self) -> None:
        """Back to plaintext records: a HelloRetryRequest ended 0-RTT, ClientHello2 goes in clear."""
        self._flush_handshake()
        self._write = NullProtection(record_version=0x0303)
        self._events.append(KeysInstalled("write", "plaintext", None, 0))

    def _receive_early_data(self, content: bytes, epoch: str) -> bool:
        """0-RTT application data on a server that accepted it; False when none is expected."""
        early = self.session_state.server_early
        if early is None or epoch != "early":
            return False
        early.take(len(content))
        self._events.append(ApplicationData(content, epoch))
        return True

    def _require_client(self, what: str) -> None:
        if self.role != "client":
            raise UsageError(f"{what} is for clients")

    # Provided by Connection.
    role: str
    config: Any
    negotiated: Any
    handshake: Any
    _started: bool
    handshake_complete: bool
