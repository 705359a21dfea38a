"""Building a timeline incrementally, from engine events and/or decoded capture records.

    builder = TimelineBuilder()
    builder.add_engine_event(0, "client", event, time)     # each event of our client, as it happens
    builder.add_engine_event(0, "server", event, time)     # ... and of our server, for the same connection
    builder.add_decoded_record(rec)                         # or records of a replayed capture
    builder.add_connection_summary(summary)                 # ... and its per-connection summary at the end
    timeline = builder.timeline

Several observers may report the same connection: our client, our server, a capture of the wire. Each
record is kept once: a report is matched with the records other observers already gave for that direction
(same epoch, outer type, length and, where known, sequence number), so a record sent by the client and
received by the server is one record seen by both. Records one observer never saw (0-RTT data a server
skipped, a record a failed peer did not read) stay, seen by the others only.

The engine reports a handshake message when it queues it, before the record that carries it; the builder
keeps the sender's queued messages and hands them to its handshake records in order, counting content bytes
(the record length minus the AEAD overhead of the write keys), so a message lands in the record that
completes it, as a receiver and a capture see it.
"""
from __future__ import annotations

from array import array
from collections import deque
from typing import Any, Hashable

from workbench.tls import events as ev
from workbench.tls.cipher_suites import CIPHER_SUITES

from .handshake_facts import is_hello_retry
from .model import (CLIENT_TO_SERVER, OBSERVER_BITS, PLAINTEXT, SEEN_IN_CAPTURE, SERVER_TO_CLIENT, EpochSpan,
                    Flight, KeyInstall, Secret, Timeline, TimelineConnection, TimelineMessage, TimelineRecord,
                    direction_from, epoch_generation, epoch_kind)
from .names import suite_name, version_name
from .protocol_state import ProtocolTracker
from .wallet import TicketWallet

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
_UNBOUNDED = 1 << 62


def other_direction(direction: str) -> str:
    return SERVER_TO_CLIENT if direction == CLIENT_TO_SERVER else CLIENT_TO_SERVER


def traffic_secret_name(direction: str, label: str, tls13: bool | None) -> str | None:
    """The key schedule's name for the secret that protects epoch `label` in `direction` (the engine's names:
    "c hs traffic", "s ap traffic 2", ...); None for plaintext."""
    side = "c" if direction == CLIENT_TO_SERVER else "s"
    kind = epoch_kind(label)
    if kind == "early":
        return "c e traffic"
    if kind == "handshake":
        return f"{side} hs traffic"
    if kind == "application":
        if tls13 is False:
            return "master secret (1.2)"
        generation = epoch_generation(label)
        return f"{side} ap traffic" + (f" {generation}" if generation else "")
    return None


def _overhead(cipher_suite: int | None) -> int | None:
    """Bytes a protected record adds to its content: inner type + tag (1.3), explicit nonce + tag (1.2 AEAD);
    None when unknown (the record is then taken to end the queued messages)."""
    info = CIPHER_SUITES.get(cipher_suite) if cipher_suite is not None else None
    if info is None:
        return None
    if info.is_tls13:
        return 1 + info.tag_length
    return info.explicit_nonce_length + info.tag_length


class _EngineSide:
    """What the builder remembers about one engine reporting a connection."""

    __slots__ = ("role", "bit", "pending", "write_overhead", "last_sent", "last_received", "last_record")

    def __init__(self, role: str) -> None:
        self.role = role
        self.bit = OBSERVER_BITS[role]
        self.pending: deque[list] = deque()     # [raw, parsed, bytes not yet in a record] per queued message
        self.write_overhead: int | None = 0
        self.last_sent: TimelineRecord | None = None
        self.last_received: TimelineRecord | None = None
        self.last_record: TimelineRecord | None = None


class _ConnectionState:
    __slots__ = ("conn", "tracker", "by_direction", "cursors", "sides", "sequence", "message_owner")

    def __init__(self, conn: TimelineConnection, tracker: ProtocolTracker) -> None:
        self.conn = conn
        self.tracker = tracker
        self.by_direction = {CLIENT_TO_SERVER: array("q"), SERVER_TO_CLIENT: array("q")}
        self.cursors: dict[tuple[int, str], int] = {}      # (observer bit, direction) -> records it has placed
        self.sides: dict[str, _EngineSide] = {}
        self.sequence: dict[tuple[str, str], int] = {}     # (direction, epoch) -> next sequence number
        self.message_owner: dict[int, int] = {}            # record index -> observer that gave its messages

    def side(self, role: str) -> _EngineSide:
        side = self.sides.get(role)
        if side is None:
            if role not in ("client", "server"):
                raise ValueError(f"role must be 'client' or 'server', not {role!r}")
            side = self.sides[role] = _EngineSide(role)
        return side


class TimelineBuilder:
    """Feeds one Timeline. `keep_raw` keeps each record's wire bytes when the source has them (captures);
    `match_window` bounds how far ahead a report looks for the record another observer already gave."""

    def __init__(self, timeline: Timeline | None = None, *, keep_raw: bool = False, match_window: int = 64):
        self.timeline = timeline if timeline is not None else Timeline()
        self.keep_raw = keep_raw
        self.match_window = match_window
        self.wallet = TicketWallet(self.timeline)
        self._states: dict[Hashable, _ConnectionState] = {}
        self._engine_handlers = {
            ev.RecordSent: self._record_sent,
            ev.RecordReceived: self._record_received,
            ev.HandshakeMessageSent: self._message_sent,
            ev.HandshakeMessageReceived: self._message_received,
            ev.SecretDerived: self._secret_derived,
            ev.KeysInstalled: self._keys_installed,
            ev.AlertSent: self._alert_sent,
            ev.AlertReceived: self._alert_received,
            ev.HandshakeComplete: self._handshake_complete,
            ev.ConnectionClosed: self._closed,
            ev.HelloRetryRequested: self._hello_retry,
            ev.ChangeCipherSpecSent: None,        # the record itself is what the timeline shows
            ev.ChangeCipherSpecReceived: None,
            ev.ApplicationData: None,             # its record is there; the data is not kept
        }

    # -- connections ----------------------------------------------------------------------------------------
    def connection(self, conn_id: Hashable) -> TimelineConnection:
        return self._state(conn_id).conn

    def _state(self, conn_id: Hashable) -> _ConnectionState:
        st = self._states.get(conn_id)
        if st is None:
            conn = TimelineConnection(conn_id, self.timeline)
            self.timeline.connections[conn_id] = conn
            st = self._states[conn_id] = _ConnectionState(conn, ProtocolTracker(conn, self.wallet, self._mark))
            self.timeline.revision += 1
        return st

    def set_endpoints(self, conn_id: Hashable, client: str | None, server: str | None) -> None:
        conn = self.connection(conn_id)
        conn.client = conn.client or client
        conn.server = conn.server or server

    def _mark(self, record: TimelineRecord, mark: object) -> None:
        record.marks = record.marks + (mark,)
        self.timeline.revision += 1

    # -- records --------------------------------------------------------------------------------------------
    def _record(self, st: _ConnectionState, bit: int, direction: str, time: float | None, outer: int,
                inner: int | None, length: int, epoch: str, sequence: int | None, protected: bool,
                decrypted: bool, frame: int | None = None, raw: bytes | None = None,
                note: str | None = None) -> TimelineRecord:
        """The record an observer reports: one already given by another observer, or a new one."""
        records = self.timeline._records
        placed = st.by_direction[direction]
        key = (bit, direction)
        cursor = st.cursors.get(key, 0)
        if cursor < len(placed):
            known_sequence = sequence if epoch != PLAINTEXT else None
            for pos in range(cursor, min(len(placed), cursor + self.match_window)):
                candidate = records[placed[pos]]
                if candidate.observers & bit or candidate.epoch != epoch or candidate.outer_type != outer \
                        or candidate.length != length:
                    continue
                if known_sequence is not None and candidate.sequence is not None \
                        and candidate.sequence != known_sequence:
                    continue
                st.cursors[key] = pos + 1
                self._merge(st, candidate, bit, time, inner, decrypted, frame, raw, note)
                return candidate
        rec = self._new_record(st, bit, direction, time, outer, inner, length, epoch, sequence, protected,
                               decrypted, frame, raw, note)
        st.cursors[key] = len(placed)
        return rec

    def _merge(self, st: _ConnectionState, rec: TimelineRecord, bit: int, time, inner, decrypted, frame, raw,
               note) -> None:
        rec.observers |= bit
        st.conn.observers |= bit
        if decrypted and not rec.decrypted:
            rec.decrypted = True
            rec.inner_type = inner
            st.conn.epochs[(rec.direction, rec.epoch)].decrypted += 1
        if rec.frame is None:
            rec.frame = frame
        if rec.time is None:
            rec.time = time
        if raw is not None and rec.raw is None and self.keep_raw:
            rec.raw = raw
        if note and not rec.note:
            rec.note = note
        self.timeline.revision += 1

    def _new_record(self, st: _ConnectionState, bit: int, direction: str, time, outer, inner, length, epoch,
                    sequence, protected, decrypted, frame, raw, note) -> TimelineRecord:
        timeline = self.timeline
        conn = st.conn
        counter = (direction, epoch)
        if outer == CHANGE_CIPHER_SPEC and epoch == PLAINTEXT:
            sequence = None         # the compatibility CCS of TLS 1.3 takes no sequence number
        else:
            if sequence is None or epoch == PLAINTEXT:
                sequence = st.sequence.get(counter, 0)
            st.sequence[counter] = sequence + 1
        index = len(timeline._records)
        rec = TimelineRecord(index, conn.id, direction, time, outer, inner, length, epoch, sequence, protected,
                             decrypted, frame, observers=bit, note=note,
                             raw=raw if self.keep_raw else None)
        timeline._records.append(rec)
        conn.record_indices.append(index)
        conn.observers |= bit
        st.by_direction[direction].append(index)
        # flights: consecutive records of the connection in one direction
        flights = conn.flights
        if not flights or flights[-1].direction != direction:
            flight = Flight(len(flights), conn.id, direction, len(conn.record_indices) - 1, index, index, 1, time,
                            time, conn.record_indices)
            flights.append(flight)
        else:
            flight = flights[-1]
            flight.count += 1
            flight.last_record = index
            flight.last_time = time
        rec.flight = flight.index
        # epochs
        span = self._span(st, direction, epoch)
        if span.first_record is None:
            span.first_record = index
            span.first_time = time
        span.last_record = index
        span.last_time = time
        span.count += 1
        if decrypted:
            span.decrypted += 1
        if protected and span.cipher_suite is None:
            span.cipher_suite = conn.cipher_suite
        if conn.first_time is None:
            conn.first_time = time
        if time is not None:
            conn.last_time = time
        timeline.revision += 1
        return rec

    def _span(self, st: _ConnectionState, direction: str, label: str) -> EpochSpan:
        span = st.conn.epochs.get((direction, label))
        if span is None:
            tls13 = st.tracker.tls13
            # TLS 1.2 application-N keys come from handshake N (the Nth renegotiation); TLS 1.3 has one handshake
            handshake = epoch_generation(label) if tls13 is False and epoch_kind(label) == "application" else 0
            span = EpochSpan(st.conn.id, direction, label, handshake)
            st.conn.epochs[(direction, label)] = span
        return span

    def _attach_message(self, st: _ConnectionState, bit: int, rec: TimelineRecord, raw: bytes,
                        parsed: Any = None) -> TimelineMessage | None:
        owner = st.message_owner.get(rec.index)
        if owner is not None and owner != bit:
            return None             # another observer already gave this record's messages
        st.message_owner[rec.index] = bit
        messages = self.timeline._messages
        msg = TimelineMessage(len(messages), st.conn.id, rec.index, rec.direction, raw[0], raw, parsed,
                              is_hello_retry(raw))
        messages.append(msg)
        rec.messages = rec.messages + (msg,)
        self.timeline.revision += 1
        st.tracker.on_message(rec, msg)
        return msg

    # -- engine events --------------------------------------------------------------------------------------
    def add_engine_event(self, conn_id: Hashable, role: str, event: Any, time: float | None = None) -> None:
        """One event of our engine's `role` side ("client" or "server") of connection `conn_id`."""
        st = self._state(conn_id)
        side = st.side(role)
        try:
            handler = self._engine_handlers[type(event)]
        except KeyError:
            self._other_event(st, side, event, time)
            return
        if handler is not None:
            handler(st, side, event, time)

    def _record_sent(self, st: _ConnectionState, side: _EngineSide, e: ev.RecordSent, time) -> None:
        direction = direction_from(side.role)
        protected = e.epoch != PLAINTEXT
        inner = e.inner_type if e.inner_type is not None else e.content_type
        rec = self._record(st, side.bit, direction, time, e.content_type, inner, e.length, e.epoch, e.sequence,
                           protected, protected)
        side.last_sent = side.last_record = rec
        if inner == HANDSHAKE and side.pending:
            if protected:
                overhead = side.write_overhead
                budget = e.length - overhead if overhead is not None else _UNBOUNDED
            else:
                budget = e.length
            pending = side.pending
            completed = []
            while pending and pending[0][2] <= budget:
                raw, parsed, remaining = pending.popleft()
                budget -= remaining
                completed.append((raw, parsed))
            if pending and budget > 0:
                pending[0][2] -= budget
            for raw, parsed in completed:
                self._attach_message(st, side.bit, rec, raw, parsed)

    def _record_received(self, st: _ConnectionState, side: _EngineSide, e: ev.RecordReceived, time) -> None:
        direction = other_direction(direction_from(side.role))
        protected = e.epoch != PLAINTEXT
        inner = e.inner_type if e.inner_type is not None else e.content_type
        rec = self._record(st, side.bit, direction, time, e.content_type, inner, e.length, e.epoch, e.sequence,
                           protected, protected)
        side.last_received = side.last_record = rec

    def _message_sent(self, st, side: _EngineSide, e: ev.HandshakeMessageSent, time) -> None:
        side.pending.append([e.raw, e.message, len(e.raw)])

    def _message_received(self, st, side: _EngineSide, e: ev.HandshakeMessageReceived, time) -> None:
        rec = side.last_received
        if rec is None:
            st.conn.notes.append(f"{side.role}: handshake message type {e.raw[0]} before any record")
            return
        self._attach_message(st, side.bit, rec, e.raw, e.message)

    def _secret_derived(self, st, side: _EngineSide, e: ev.SecretDerived, time) -> None:
        self.add_secret(st.conn.id, e.name, e.value, keylog_label=e.keylog_label, derived_from=e.derived_from,
                        by=side.role, time=time)

    def _keys_installed(self, st, side: _EngineSide, e: ev.KeysInstalled, time) -> None:
        conn = st.conn
        written = direction_from(side.role)
        direction = written if e.direction == "write" else other_direction(written)
        name = traffic_secret_name(direction, e.epoch, st.tracker.tls13)
        if name is not None and conn.secret(name) is None:
            name = None             # the engine did not report that secret: do not claim it
        last = conn.record_indices[-1] if len(conn.record_indices) else None
        install = KeyInstall(conn.id, side.role, e.direction, direction, e.epoch, e.generation, e.cipher_suite,
                             name, time, last)
        conn.key_installs.append(install)
        span = self._span(st, direction, e.epoch)
        span.installed.append(install)
        span.cipher_suite = e.cipher_suite if e.cipher_suite is not None else span.cipher_suite
        span.secret = span.secret or name
        if e.direction == "write":
            side.write_overhead = _overhead(e.cipher_suite)
        self.timeline.revision += 1

    def _alert_sent(self, st, side: _EngineSide, e: ev.AlertSent, time) -> None:
        rec = side.last_sent if side.last_sent is not None and side.last_sent.inner_type == ALERT else None
        st.tracker.on_alert(rec, direction_from(side.role), e.level, e.description, e.reason, time)

    def _alert_received(self, st, side: _EngineSide, e: ev.AlertReceived, time) -> None:
        rec = side.last_received
        if rec is None or rec.inner_type != ALERT:
            rec = None
        st.tracker.on_alert(rec, other_direction(direction_from(side.role)), e.level, e.description, None, time)

    def _handshake_complete(self, st, side: _EngineSide, e: ev.HandshakeComplete, time) -> None:
        conn = st.conn
        conn.version = conn.version or e.version
        conn.cipher_suite = conn.cipher_suite or e.cipher_suite
        conn.group = conn.group if conn.group is not None else e.group
        conn.signature_scheme = conn.signature_scheme if conn.signature_scheme is not None else e.signature_scheme
        conn.alpn = conn.alpn or e.alpn
        conn.server_name = conn.server_name or e.server_name
        conn.resumed = conn.resumed or e.resumed
        text = (f"handshake complete ({side.role}): {version_name(e.version)} {suite_name(e.cipher_suite)}"
                + (", resumed" if e.resumed else ""))
        st.tracker.event(side.last_record, "handshake_complete", text, side.role, time)

    def _closed(self, st, side: _EngineSide, e: ev.ConnectionClosed, time) -> None:
        conn = st.conn
        if conn.closed is None:
            conn.closed = e.reason
        if side.pending:
            # a failing engine drops the flight it was building: those messages never reached the wire
            conn.notes.append(f"{side.role}: {len(side.pending)} queued handshake message(s) never sent")
            side.pending.clear()
        text = f"{side.role} " + ("closed by the peer: " if e.by_peer else "closed: ") + e.reason
        st.tracker.event(side.last_record, "closed", text, side.role, time)

    def _hello_retry(self, st, side: _EngineSide, e: ev.HelloRetryRequested, time) -> None:
        st.conn.hello_retry = True

    def _other_event(self, st, side: _EngineSide, event: Any, time) -> None:
        """An engine event this model has no place for yet: kept as a mark on the last record."""
        kind = getattr(event, "kind", "event")
        fields = getattr(event, "__dataclass_fields__", {})
        details = []
        for name in fields:
            value = getattr(event, name, None)
            if isinstance(value, (bool, int, str)):     # short scalars only: bytes and objects stay out
                details.append(f"{name}={value}")
        text = type(event).__name__ + (f" ({', '.join(details[:4])})" if details else "")
        st.tracker.event(side.last_record, kind, text, side.role, time)

    # -- decoded captures -----------------------------------------------------------------------------------
    def add_decoded_record(self, rec: Any) -> TimelineRecord:
        """One workbench.capture DecodedRecord (as a Replay yields them)."""
        st = self._state(rec.connection)
        conn = st.conn
        direction = CLIENT_TO_SERVER if rec.direction == "client" else SERVER_TO_CLIENT
        if conn.client is None:
            conn.client, conn.server = (rec.src, rec.dst) if direction == CLIENT_TO_SERVER else (rec.dst, rec.src)
        readable = not rec.protected or rec.decrypted
        inner = rec.inner_type if readable else None
        record = self._record(st, SEEN_IN_CAPTURE, direction, rec.time, rec.outer_type, inner, rec.length,
                              rec.epoch, rec.sequence, rec.protected, rec.decrypted, rec.frame,
                              rec.raw or None, rec.note)
        for raw in rec.messages:
            self._attach_message(st, SEEN_IN_CAPTURE, record, raw)
        if inner == ALERT and rec.plaintext:
            content = rec.plaintext
            for i in range(0, len(content) - 1, 2):
                st.tracker.on_alert(record, direction, content[i], content[i + 1])
        elif rec.protected and not readable and rec.outer_type == ALERT:
            st.tracker.on_alert(record, direction, None, None)        # a TLS 1.2 alert we cannot read
        return record

    def add_connection_summary(self, summary: Any) -> TimelineConnection:
        """A workbench.capture ConnectionSummary: fills what the records did not say (endpoints, a
        renegotiation whose handshake could not be decrypted, missing keys, notes)."""
        st = self._state(summary.id)
        conn = st.conn
        conn.client = conn.client or summary.client
        conn.server = conn.server or summary.server
        conn.client_random = conn.client_random or summary.client_random
        conn.server_random = conn.server_random or summary.server_random
        conn.server_name = conn.server_name or summary.server_name
        conn.version = conn.version or summary.version
        conn.cipher_suite = conn.cipher_suite or summary.cipher_suite
        conn.offered_versions = conn.offered_versions or tuple(summary.offered_versions)
        conn.hello_retry = conn.hello_retry or summary.hello_retry
        conn.resumed = conn.resumed or summary.resumed
        conn.early_data_offered = conn.early_data_offered or summary.early_data_offered
        if conn.early_data_accepted is None:
            conn.early_data_accepted = summary.early_data_accepted
        for missing in summary.missing_keys:
            if tuple(missing) not in conn.missing_keys:
                conn.missing_keys.append(tuple(missing))
        for note in summary.notes:
            if note not in conn.notes:
                conn.notes.append(note)
        known_frames = {mark.frame for mark in conn.renegotiations}
        for info in summary.renegotiations:
            if info.frame in known_frames:
                continue
            record = self._record_at_frame(conn, info.frame)
            if record is None:
                continue
            initiator = info.initiator if info.initiator in ("client", "server") else "client"
            st.tracker.renegotiation_reported(record, initiator, info.outcome)
        self.timeline.revision += 1
        return conn

    def _record_at_frame(self, conn: TimelineConnection, frame: int) -> TimelineRecord | None:
        records = self.timeline._records
        for index in conn.record_indices:
            if records[index].frame == frame:
                return records[index]
        return None

    # -- secrets --------------------------------------------------------------------------------------------
    def add_secret(self, conn_id: Hashable, name: str, value: bytes | None, *, keylog_label: str | None = None,
                   derived_from: tuple[str, ...] = (), by: str = "key log", time: float | None = None) -> Secret:
        """A key schedule secret (an engine derived it, or a key log holds it). The same secret reported by
        several sources is kept once, with every source in derived_by."""
        conn = self.connection(conn_id)
        for secret in conn.secrets:
            if secret.name == name and (secret.value == value or secret.value is None or value is None):
                if by not in secret.derived_by:
                    secret.derived_by.append(by)
                secret.value = secret.value if secret.value is not None else value
                secret.keylog_label = secret.keylog_label or keylog_label
                secret.derived_from = secret.derived_from or tuple(derived_from)
                return secret
        last = conn.record_indices[-1] if len(conn.record_indices) else None
        secret = Secret(conn.id, name, value, keylog_label, tuple(derived_from), [by], time, last)
        conn.secrets.append(secret)
        self.timeline.revision += 1
        return secret

    def link_epoch_secrets(self, conn_id: Hashable) -> None:
        """Name the traffic secret of every epoch whose secret the connection holds (captures: from the key
        log; engines name theirs as keys are installed)."""
        st = self._state(conn_id)
        for (direction, label), span in st.conn.epochs.items():
            if span.secret is None:
                name = traffic_secret_name(direction, label, st.tracker.tls13)
                if name is not None and st.conn.secret(name) is not None:
                    span.secret = name

    def last_received(self, conn_id: Hashable, role: str) -> TimelineRecord | None:
        """The last record the `role` engine reported receiving on that connection."""
        st = self._states.get(conn_id)
        side = st.sides.get(role) if st is not None else None
        return side.last_received if side is not None else None

    def tls13(self, conn_id: Hashable) -> bool | None:
        """Whether the connection negotiated TLS 1.3 (None: not known yet)."""
        return self._state(conn_id).tracker.tls13
