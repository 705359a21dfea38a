"""TLS 1.3 KeyUpdate (RFC 8446 4.6.3): scheduling ours, sending it, receiving the peer's.

As OpenSSL's SSL_key_update does, `Connection.key_update(type)` only schedules: the KeyUpdate goes
out at the next I/O on the connection (`send()`, `receive_data()`), or at once with
`do_handshake()`; until then `key_update_type()` names the pending type. A peer's
update_requested schedules our answer (update_not_requested), which goes out before any more of
our application data; several requests read in one go get one answer.

Each direction counts its generations: application_traffic_secret_N protects the epoch
"application-N" of that direction, and its record sequence numbers start again at 0.

A peer that sends KeyUpdates without end is stopped: at most MAX_KEY_UPDATES_IN_A_ROW KeyUpdates
may come in a row, each alone in its epoch (nothing else was received under the keys it
retires); the next one is answered with an unexpected_message alert.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .enums import KeyUpdateType, ProtocolVersion
from .errors import IllegalParameter, UnexpectedMessage, UsageError
from .events import KeyUpdateReceived, KeyUpdateSent
from .messages import KeyUpdate

if TYPE_CHECKING:
    from .connection import Connection

TLS13 = int(ProtocolVersion.TLS13)
MAX_KEY_UPDATES_IN_A_ROW = 32
NONE = KeyUpdateType.NONE
NOT_REQUESTED = KeyUpdateType.NOT_REQUESTED
REQUESTED = KeyUpdateType.REQUESTED


class KeyUpdates:
    """The KeyUpdate bookkeeping of one connection."""

    __slots__ = ("pending", "answer", "peer_in_a_row")

    def __init__(self) -> None:
        self.pending = NONE          # what the next I/O sends
        self.answer = False          # the pending update answers the peer's update_requested
        self.peer_in_a_row = 0       # the peer's KeyUpdates, each alone in its epoch, in a row

    def schedule(self, update_type: KeyUpdateType) -> None:
        if self.pending is not NONE and not self.answer:
            raise UsageError(f"a KeyUpdate ({self.pending.name}) is already scheduled; it goes out at the next "
                             f"I/O, or call do_handshake()")
        self.pending = update_type
        self.answer = False

    def schedule_answer(self) -> None:
        """The peer asked for our update: one NOT_REQUESTED update answers it, however many asked."""
        if self.pending is NONE:
            self.pending = NOT_REQUESTED
            self.answer = True

    def take(self) -> tuple[KeyUpdateType, bool]:
        taken = self.pending, self.answer
        self.pending, self.answer = NONE, False
        return taken


def check_can_update(conn: "Connection", update_type: Any) -> KeyUpdateType:
    """The checks of SSL_key_update: a real update type, after the handshake, TLS 1.3 only."""
    try:
        update_type = KeyUpdateType(update_type)
    except ValueError:
        raise UsageError(f"{update_type!r} is not a KeyUpdateType (NOT_REQUESTED or REQUESTED)") from None
    if update_type is NONE:
        raise UsageError("KeyUpdateType.NONE is no update: use NOT_REQUESTED or REQUESTED")
    if not conn.handshake_complete:
        raise UsageError("key_update() needs a completed handshake")
    if conn.negotiated.version != TLS13:
        raise UsageError("KeyUpdate exists in TLS 1.3 only; this connection negotiated TLS 1.2 "
                         "(renegotiate() changes its keys)")
    if not conn.can_write:
        raise UsageError("the connection is closed for sending")
    return update_type


def send_key_update(conn: "Connection", request: KeyUpdateType, answer: bool = False) -> None:
    """The KeyUpdate under the current keys, then our next generation of write keys."""
    hs = conn.handshake
    schedule = hs.key_schedule
    client = conn.role == "client"
    conn.send_handshake_message(KeyUpdate(int(request)))
    secret = schedule.update_traffic_secret(client)
    generation = schedule.application_generation(client)
    conn.emit_secrets(schedule)
    conn.install_write_keys(hs.suite, secret, f"application-{generation}", generation)
    conn.emit(KeyUpdateSent(generation, request, answer))


def receive_key_update(conn: "Connection", message: KeyUpdate) -> None:
    """The peer's KeyUpdate: its next generation of keys protects what it sends from now on."""
    request = message.request_update
    if request not in (NOT_REQUESTED, REQUESTED):
        raise IllegalParameter(f"KeyUpdate request_update is {request}", expected="0 or 1", received=str(request))
    updates = conn.key_updates
    # The record that carried it was the first under the keys it retires: nothing else came in between.
    alone_in_epoch = conn.read_sequence == 1
    updates.peer_in_a_row = updates.peer_in_a_row + 1 if alone_in_epoch else 1
    if updates.peer_in_a_row > MAX_KEY_UPDATES_IN_A_ROW:
        raise UnexpectedMessage(f"peer sent more than {MAX_KEY_UPDATES_IN_A_ROW} KeyUpdates in a row with nothing "
                                f"in between", expected="application data",
                                received=f"KeyUpdate number {updates.peer_in_a_row} in a row")
    hs = conn.handshake
    schedule = hs.key_schedule
    peer_is_client = conn.role == "server"
    secret = schedule.update_traffic_secret(peer_is_client)
    generation = schedule.application_generation(peer_is_client)
    conn.emit_secrets(schedule)
    conn.install_read_keys(hs.suite, secret, f"application-{generation}", generation)
    conn.emit(KeyUpdateReceived(generation, KeyUpdateType(request)))
    if request == REQUESTED and conn.can_write:
        updates.schedule_answer()
