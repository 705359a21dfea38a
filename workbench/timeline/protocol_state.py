"""One connection's protocol story, read from its handshake messages and alerts.

The builder hands every handshake message (in the record that completed it) and every alert to the
connection's `ProtocolTracker`, which keeps what the messages imply: the negotiated version, the tickets
issued and offered, resumption, early data, key update generations per direction, TLS 1.2 renegotiations,
and when the handshake finished. The same tracker serves engine events and decoded captures, so both give
the same marks.
"""
from __future__ import annotations

from typing import Callable

from . import handshake_facts as hf
from .model import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, AlertMark, EventMark, KeyUpdateMark, RenegotiationMark,
                    TimelineConnection, TimelineMessage, TimelineRecord)
from .wallet import TicketWallet

NO_RENEGOTIATION = 100


class ProtocolTracker:
    def __init__(self, conn: TimelineConnection, wallet: TicketWallet,
                 mark: Callable[[TimelineRecord, object], None]) -> None:
        self.conn = conn
        self.wallet = wallet
        self.mark = mark
        self.tls13: bool | None = None          # None until a ServerHello says
        self.handshake = 0                      # 0 for the first handshake, +1 per renegotiation
        self.finished = {CLIENT_TO_SERVER: False, SERVER_TO_CLIENT: False}
        self.generation = {CLIENT_TO_SERVER: 0, SERVER_TO_CLIENT: 0}
        self.renegotiation: RenegotiationMark | None = None
        self.offered_session_id = b""
        self.offered_ticket = b""
        self.full_handshake = False             # TLS 1.2: a Certificate or key exchange was seen

    # -- handshake messages ---------------------------------------------------------------------------------
    def on_message(self, record: TimelineRecord, message: TimelineMessage) -> None:
        htype = message.handshake_type
        direction = message.direction
        if htype == hf.CLIENT_HELLO and direction == CLIENT_TO_SERVER:
            self._client_hello(record, message)
        elif htype == hf.SERVER_HELLO and direction == SERVER_TO_CLIENT:
            self._server_hello(record, message)
        elif htype == hf.ENCRYPTED_EXTENSIONS:
            self._encrypted_extensions(record, message)
        elif htype == hf.NEW_SESSION_TICKET and direction == SERVER_TO_CLIENT:
            self._new_session_ticket(record, message)
        elif htype == hf.FINISHED:
            self._finished(record, direction)
        elif htype == hf.KEY_UPDATE and self.tls13 is not False:
            self._key_update(record, message)
        elif htype == hf.HELLO_REQUEST and direction == SERVER_TO_CLIENT and self.tls13 is not True:
            self._renegotiation_step(record, "server", "requested")
        elif htype in (11, 12, 16) and self.tls13 is False:
            self.full_handshake = True

    def _client_hello(self, record: TimelineRecord, message: TimelineMessage) -> None:
        conn = self.conn
        if conn.established:
            if self.tls13:
                conn.notes.append(f"record {record.index}: a ClientHello after a TLS 1.3 handshake")
                return
            self._renegotiation_step(record, "client", "started")
            return
        facts = hf.client_hello_facts(message.decode(tls13=True))
        if facts is None:
            conn.notes.append(f"record {record.index}: ClientHello not decoded")
            return
        first = conn.client_random is None
        if first:
            conn.client_random = facts.random
            conn.offered_versions = facts.versions
            conn.server_name = conn.server_name or facts.server_name
            conn.handshakes = max(conn.handshakes, 1)
        self.offered_session_id = facts.session_id
        self.offered_ticket = facts.session_ticket
        if first:
            # ClientHello2 after a HelloRetryRequest repeats the offer: count it once
            offers = list(enumerate(facts.psk_identities))
            if facts.session_ticket:
                offers.append((0, facts.session_ticket))
            for index, identity in offers:
                use = self.wallet.offer(conn, record.index, identity, index)
                if use is not None:
                    self.mark(record, use)
        if facts.early_data and not conn.hello_retry:
            conn.early_data_offered = True

    def _server_hello(self, record: TimelineRecord, message: TimelineMessage) -> None:
        conn = self.conn
        if message.hello_retry:
            conn.hello_retry = True
            if conn.early_data_offered:
                conn.early_data_accepted = False       # 0-RTT never survives a HelloRetryRequest
            self.event(record, "hello_retry", "HelloRetryRequest: the client must send a new ClientHello")
            return
        facts = hf.server_hello_facts(message.decode(tls13=True))
        if facts is None:
            conn.notes.append(f"record {record.index}: ServerHello not decoded")
            return
        if self.handshake == 0:
            conn.server_random = facts.random
            conn.version = facts.version
            conn.cipher_suite = facts.cipher_suite
            self.tls13 = facts.version == hf.TLS13
        if self.tls13:
            conn.resumed = facts.selected_identity is not None
            self.wallet.settle(conn, facts.selected_identity)
            if conn.resumed:
                ticket = conn.resumed_with or "a ticket from before this timeline"
                self.event(record, "resumption", f"PSK resumption accepted ({ticket})")
        else:
            resumed = bool(self.offered_session_id) and facts.session_id_echo == self.offered_session_id
            if self.handshake == 0:
                conn.resumed = resumed
                self.wallet.settle(conn, 0 if resumed and self.offered_ticket else None)
            if conn.early_data_offered:
                conn.early_data_accepted = False

    def _encrypted_extensions(self, record: TimelineRecord, message: TimelineMessage) -> None:
        msg = message.decode(tls13=True)
        accepted = hf.early_data_accepted(msg)
        if accepted is not None and self.conn.early_data_offered:
            self.conn.early_data_accepted = accepted
            self.event(record, "early_data", "0-RTT early data " + ("accepted" if accepted else "rejected"))
        alpn = hf.alpn_selected(msg)
        if alpn is not None and self.conn.alpn is None:
            self.conn.alpn = alpn

    def _new_session_ticket(self, record: TimelineRecord, message: TimelineMessage) -> None:
        facts = hf.ticket_facts(message.decode(tls13=self.tls13))
        if facts is None:
            self.conn.notes.append(f"record {record.index}: NewSessionTicket not decoded")
            return
        ticket = self.wallet.issue(self.conn, record.index, facts, record.time, record.frame)
        self.mark(record, ticket)

    def _finished(self, record: TimelineRecord, direction: str) -> None:
        self.finished[direction] = True
        conn = self.conn
        if self.tls13:
            if direction == CLIENT_TO_SERVER:
                conn.established = True
            return
        if all(self.finished.values()):
            conn.established = True
            if self.renegotiation is not None and self.renegotiation.stage in ("started", "requested"):
                self.renegotiation.stage = "completed"

    def _key_update(self, record: TimelineRecord, message: TimelineMessage) -> None:
        direction = message.direction
        self.generation[direction] += 1
        mark = KeyUpdateMark(self.conn.id, record.index, direction, hf.key_update_requested(message.raw),
                             self.generation[direction], record.time, record.frame)
        self.conn.key_updates.append(mark)
        self.mark(record, mark)

    def _renegotiation_step(self, record: TimelineRecord, initiator: str, stage: str) -> None:
        conn = self.conn
        current = self.renegotiation
        if stage == "started" and current is not None and current.stage == "requested":
            current.stage = "started"          # the client answers the server's HelloRequest
        else:
            current = RenegotiationMark(conn.id, record.index, initiator, stage, self.handshake + 1,
                                        record.time, record.frame)
            self.renegotiation = current
            conn.renegotiations.append(current)
            self.mark(record, current)
        if stage == "started":
            self.start_handshake()

    def renegotiation_reported(self, record: TimelineRecord, initiator: str, stage: str) -> RenegotiationMark:
        """A renegotiation known from elsewhere (a capture saw its key change but could not read its handshake)."""
        mark = RenegotiationMark(self.conn.id, record.index, initiator, stage, self.handshake + 1, record.time,
                                 record.frame)
        self.renegotiation = mark
        self.conn.renegotiations.append(mark)
        self.conn.renegotiations.sort(key=lambda r: r.record)
        self.mark(record, mark)
        self.handshake += 1
        self.conn.handshakes = self.handshake + 1
        return mark

    def start_handshake(self) -> None:
        """A renegotiation: a new handshake whose keys the next change_cipher_spec puts in force."""
        self.handshake += 1
        self.conn.handshakes = self.handshake + 1
        self.conn.established = False
        self.finished = {CLIENT_TO_SERVER: False, SERVER_TO_CLIENT: False}

    # -- alerts and other events ----------------------------------------------------------------------------
    def on_alert(self, record: TimelineRecord | None, direction: str, level: int | None, description: int | None,
                 reason: str | None = None, time: float | None = None) -> AlertMark:
        """Record an alert once: the sender's and the receiver's report of the same alert record merge."""
        if record is not None:
            for mark in record.marks:
                if isinstance(mark, AlertMark) and mark.description == description and mark.level == level:
                    if reason and not mark.reason:
                        mark.reason = reason
                    return mark
        mark = AlertMark(self.conn.id, record.index if record is not None else None, direction, level,
                         description, reason, time if time is not None else (record.time if record else None),
                         record.frame if record is not None else None)
        self.conn.alerts.append(mark)
        if record is not None:
            self.mark(record, mark)
        if description == NO_RENEGOTIATION and self.renegotiation is not None \
                and self.renegotiation.stage in ("requested", "started"):
            self.renegotiation.stage = "refused"
        return mark

    def event(self, record: TimelineRecord | None, kind: str, text: str, role: str | None = None,
              time: float | None = None) -> EventMark:
        """An EventMark, once per (kind, role) on a record."""
        if record is not None:
            for mark in record.marks:
                if isinstance(mark, EventMark) and mark.kind == kind and mark.role == role:
                    return mark
        mark = EventMark(kind, self.conn.id, record.index if record is not None else None, text, role,
                         time if time is not None else (record.time if record is not None else None))
        self.conn.events.append(mark)
        if record is not None:
            self.mark(record, mark)
        return mark

