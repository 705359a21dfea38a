"""The post-handshake methods of `Connection` (a base class): KeyUpdate and renegotiation, the
Pythonic forms of OpenSSL's SSL_key_update family.

    conn.key_update(KeyUpdateType.REQUESTED)      # TLS 1.3: scheduled, not sent yet
    conn.key_update_type()                        # REQUESTED while scheduled, NONE once sent
    conn.do_handshake()                           # send it now (SSL_do_handshake)
    conn.renegotiate()                            # TLS 1.2, client: a full new handshake; server: HelloRequest
    conn.renegotiate_abbreviated()                # TLS 1.2, client: try to resume the current session
    conn.renegotiate_pending()                    # True from the call until the new handshake starts

As in OpenSSL, these schedule work: it runs at the next I/O on the connection (`send()`,
`receive_data()`) or at `do_handshake()`, and only at a suitable time: a renegotiation waits
for a handshake in progress to end. Application data given to `send()` while a TLS 1.2
renegotiation runs is held back and sent under the new keys when it completes (OpenSSL's
SSL_write finishes the handshake first the same way), so no data ever lands in the middle of a
handshake where a peer may refuse it. A renegotiation started by the peer runs inside
`receive_data()`, with nothing to do for the caller.

The logic lives in key_update (TLS 1.3) and renegotiation / client12 / server12 (TLS 1.2).
"""
from __future__ import annotations

from typing import Any

from . import client12, key_update, renegotiation, server12
from .enums import KeyUpdateType
from .errors import UsageError

_NONE = KeyUpdateType.NONE


class PostHandshakeAPI:
    """Mixed into Connection; relies on its role, state, record layer and `_refresh_fast_paths`."""

    key_updates: key_update.KeyUpdates
    handshake: Any
    _pending_renegotiation: str | None
    _renegotiating: bool
    _held_data: list[bytes]

    # --- TLS 1.3 KeyUpdate -------------------------------------------------------------------

    def key_update(self, update_type: KeyUpdateType = KeyUpdateType.NOT_REQUESTED) -> None:
        """Schedule a KeyUpdate (SSL_key_update). NOT_REQUESTED updates our sending keys; REQUESTED
        also asks the peer to update its own. UsageError (nothing sent) for NONE, before the handshake
        completes, on TLS 1.2, when closed for sending, or while another one is still scheduled."""
        update_type = key_update.check_can_update(self, update_type)
        self.key_updates.schedule(update_type)
        self._refresh_fast_paths()

    def key_update_type(self) -> KeyUpdateType:
        """The type of the scheduled KeyUpdate, or KeyUpdateType.NONE (SSL_get_key_update_type)."""
        return self.key_updates.pending

    # --- TLS 1.2 renegotiation ---------------------------------------------------------------

    def renegotiate(self) -> None:
        """Schedule a renegotiation (SSL_renegotiate). A client starts a full handshake that offers
        no session; a server sends HelloRequest. UsageError on TLS 1.3, before the handshake, when
        closed, with allow_renegotiation=False, or (a client) while a renegotiation is under way."""
        self._schedule_renegotiation("full")

    def renegotiate_abbreviated(self) -> None:
        """As renegotiate(), but a client offers to resume the current session
        (SSL_renegotiate_abbreviated); a server sends HelloRequest just the same."""
        self._schedule_renegotiation("abbreviated")

    def renegotiate_pending(self) -> bool:
        """True from renegotiate() until the new handshake starts (SSL_renegotiate_pending): a client
        sends its ClientHello, a server receives the client's (or the client refuses)."""
        if self._pending_renegotiation is not None:
            return True
        context = getattr(self.handshake, "context", None)
        return bool(context is not None and context.hello_request_outstanding)

    @property
    def renegotiating(self) -> bool:
        """A TLS 1.2 renegotiation handshake is under way (data given to send() waits for its end)."""
        return self._renegotiating

    def _schedule_renegotiation(self, mode: str) -> None:
        renegotiation.check_can_renegotiate(self)
        if self._renegotiating and self.role == "client":
            raise UsageError("a renegotiation is already under way")
        self._pending_renegotiation = mode
        self._refresh_fast_paths()

    # --- running what is scheduled ---------------------------------------------------------

    def do_handshake(self) -> None:
        """Do what is scheduled now (SSL_do_handshake): a client that has not started sends its
        ClientHello; a scheduled KeyUpdate, renegotiation or HelloRequest goes out."""
        if not self._started and self.role == "client":
            self.start_handshake()
            return
        self._run_scheduled()

    def _send_off_fast_path(self, data: bytes) -> bool:
        """send() when the bulk path is closed: scheduled work goes out first (a KeyUpdate precedes
        the data, as with SSL_write), and data waits while a renegotiation runs. False: held back."""
        if not self._handshake_complete:
            raise UsageError("send() before the handshake completed")
        if self._sent_close:
            raise UsageError("the connection is closed for sending")
        self._run_scheduled()
        if self._renegotiating:
            self._held_data.append(bytes(data))
            return False
        return True

    def take_scheduled_renegotiation(self) -> str | None:
        """The scheduled renegotiation mode, now taken ("full", "abbreviated" or None): a handshake
        that starts for another reason serves it."""
        mode, self._pending_renegotiation = self._pending_renegotiation, None
        self._refresh_fast_paths()
        return mode

    def set_renegotiating(self, active: bool) -> None:
        """A TLS 1.2 renegotiation started or ended (completed or refused); data held back goes out
        when it ends, after the handshake messages already queued."""
        self._renegotiating = active
        self._refresh_fast_paths()
        if not active and self._held_data:
            self._flush_handshake()
            data = b"".join(self._held_data)
            self._held_data.clear()
            self.send(data)

    def _run_scheduled(self) -> None:
        updates = self.key_updates
        if updates.pending is _NONE and self._pending_renegotiation is None:
            return
        if not self._handshake_complete or self._renegotiating:
            return                  # not a suitable time: it stays scheduled
        if self._sent_close:
            updates.take()          # closed for sending: nothing can go out any more
            self._pending_renegotiation = None
            self._refresh_fast_paths()
            return
        if updates.pending is not _NONE:
            request, answer = updates.take()
            key_update.send_key_update(self, request, answer)
        mode = self._pending_renegotiation
        if mode is not None:
            if self.role == "server":
                self._pending_renegotiation = None
                server12.send_hello_request(self)
            elif isinstance(self._state, client12.ExpectTraffic):
                self._pending_renegotiation = None
                self._state = client12.start_renegotiation(self, "client", mode == "abbreviated", self._state)
        self._flush_handshake()
        self._refresh_fast_paths()
