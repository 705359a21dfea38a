"""The sans-IO TLS connection: bytes in, bytes and events out.

A `Connection` owns the record layer of one TLS connection (framing, per-direction record
protection, alerts, change_cipher_spec, the handshake message reassembly) and delegates
handshake messages to the current state object of client13 / server13 (client12 / server12 once
TLS 1.2 is negotiated; record_layer12 holds what the TLS 1.2 record layer does differently).

    conn = Connection(ClientConfig(server_name="example.com", trust_anchors=(ca,)))
    conn.start_handshake()
    wire.send(conn.data_to_send())
    conn.receive_data(wire.recv())       # may raise ProtocolError (alert already queued)
    for event in conn.events(): ...

Two kinds of errors, as in h11: a peer breaking the protocol surfaces as a ProtocolError (the
right alert is queued in data_to_send() and the connection is closed); a caller misusing the
API gets a UsageError and nothing is sent.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator

from . import client12, client13, errors, renegotiation, server13
from .cipher_suites import CipherSuiteInfo
from .config import MAX_RECORD_SIZE_LIMIT_13, ClientConfig, ServerConfig
from .enums import AlertDescription, AlertLevel, ContentType, KeyUpdateType, name_of
from .errors import DecodeError, ProtocolError, RecordOverflow, UnexpectedMessage, UsageError
from .events import (AlertReceived, AlertSent, ApplicationData, ChangeCipherSpecReceived, ChangeCipherSpecSent,
                     ConnectionClosed, Event, HandshakeComplete, HandshakeMessageReceived, HandshakeMessageSent,
                     KeysInstalled, RecordReceived, RecordSent, SecretDerived)
from .key_update import KeyUpdates
from .keylog import key_log_line
from .messages import HandshakeReassembler, decode_handshake, encode_handshake
from .record import MAX_CIPHERTEXT_12, MAX_CIPHERTEXT_13, MAX_PLAINTEXT, RecordFramer, record_of
from .record_protection import NullProtection, RecordProtection, TLS13Protection
from .post_handshake import PostHandshakeAPI
from .record_layer12 import TLS12RecordLayer
from .session_api import SessionAPI, SessionState

_CCS = int(ContentType.CHANGE_CIPHER_SPEC)
_ALERT = int(ContentType.ALERT)
_HANDSHAKE = int(ContentType.HANDSHAKE)
_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_CCS_RECORD = b"\x14\x03\x03\x00\x01\x01"
_new_event = tuple.__new__      # the events made per record and many times per handshake (events._TupleEvent)
_WARNING = int(AlertLevel.WARNING)
_FATAL = int(AlertLevel.FATAL)
_CLOSE_NOTIFY = int(AlertDescription.close_notify)
_NO_RENEGOTIATION = int(AlertDescription.no_renegotiation)
_NO_KEY_UPDATE = KeyUpdateType.NONE
_USER_CANCELED = int(AlertDescription.user_canceled)
# Early data a server skips when it does not accept 0-RTT (RFC 8446 4.2.10), at least: a server
# whose tickets allow more passes its own budget (server_resumption).
_EARLY_DATA_SKIP_BUDGET = 4 * 2**14


def _type_name(content_type: int) -> str:
    return name_of(ContentType, content_type).lower()


@dataclass
class Negotiated:
    """What the handshake settled so far (complete once HandshakeComplete is emitted)."""
    version: int | None = None
    cipher_suite: int | None = None
    group: int | None = None
    signature_scheme: int | None = None          # the server's CertificateVerify scheme
    alpn: bytes | None = None
    server_name: str | None = None
    peer_certificates: tuple[bytes, ...] = ()
    hello_retry: bool = False
    peer_record_size_limit: int | None = None    # RFC 8449, in force when both sides sent it
    client_certificate_scheme: int | None = None
    resumed: bool = False
    extended_master_secret: bool = False         # TLS 1.2 (RFC 7627)
    secure_renegotiation: bool = False           # TLS 1.2 (RFC 5746); always so once a 1.2 handshake completed
    session_id: bytes = b""                      # TLS 1.2: the session of the latest handshake


class Connection(SessionAPI, PostHandshakeAPI, TLS12RecordLayer):
    """One TLS connection, client or server (from the config type), without any I/O.
    Session data, tickets and 0-RTT: see SessionAPI (session_api.py)."""

    def __init__(self, config: ClientConfig | ServerConfig):
        if isinstance(config, ClientConfig):
            self.role = "client"
        elif isinstance(config, ServerConfig):
            self.role = "server"
        else:
            raise UsageError(f"Connection needs a ClientConfig or a ServerConfig, got {type(config).__name__}")
        self.config = config
        self.negotiated = Negotiated()
        self.handshake: Any = None              # the role's handshake data (client13 / server13)
        self.client_random: bytes | None = None
        self._events: deque[Event] = deque()
        self._out: list[bytes] = []
        self._framer = RecordFramer(MAX_CIPHERTEXT_12)
        self._reassembler = HandshakeReassembler(config.max_handshake_message_size + 4)
        self._read: RecordProtection = NullProtection()
        # RFC 8446 5.1: the initial ClientHello may carry 0x0301 in its record header; nothing else.
        self._write: RecordProtection = NullProtection(record_version=0x0301 if self.role == "client" else 0x0303)
        self._pending_handshake: list[bytes] = []
        self._handshake_fragment_pending = False     # part of a handshake message is buffered
        self._max_write_data = MAX_PLAINTEXT           # content bytes per protected record
        self._write_inner_limit = MAX_RECORD_SIZE_LIMIT_13
        self._read_inner_limit: int | None = None      # our record_size_limit once negotiated
        self._padding = config.padding
        self._application_read = False
        self._application_fast_path = False   # application keys, no record_size_limit, no 0-RTT skipping
        self._can_send = False                # handshake complete and close_notify not sent
        self._handshake_complete = False
        self._started = False
        self._ccs_allowed = False
        self._ccs_sent = False
        self._ccs_received = False
        self._early_data_skip = 0
        self._sent_close = False          # close_notify or a fatal alert went out: nothing more is sent
        self._received_close = False      # close_notify or a fatal alert came in: nothing more is read
        self._failure: BaseException | None = None
        self._secrets_seen: tuple[Any, int] = (None, 0)     # (key schedule, secrets already emitted)
        self._key_log: list[tuple[str, bytes, bytes]] = []
        self._state: Any = None
        self.session_state = SessionState()
        # KeyUpdate and renegotiation (post_handshake.py), the TLS 1.2 record layer (record_layer12.py)
        self.key_updates = KeyUpdates()
        self._pending_renegotiation: str | None = None
        self._renegotiating = False
        self._held_data: list[bytes] = []
        self._tls12 = False
        if self.role == "server":
            self._started = True
            self._state = server13.ExpectClientHello()

    # ------------------------------------------------------------------ public API

    def start_handshake(self) -> None:
        """Client: queue the ClientHello. Server: nothing (it waits for one)."""
        if self.role == "server":
            return
        if self._started:
            raise UsageError("the handshake has already started")
        if self._sent_close:
            raise UsageError("the connection is closed")
        # A client that offers TLS 1.3 (and maybe 1.2) starts as a 1.3 client; one offering 1.2 only as a 1.2 one.
        self._state = (client13 if 0x0304 in self.config.versions else client12).start(self)
        self._started = True
        self._flush_handshake()

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the network. A peer's protocol violation raises ProtocolError after the
        alert is queued and AlertSent + ConnectionClosed are emitted; a fatal alert from the peer
        raises errors.AlertReceived."""
        if self._failure is not None:
            raise UsageError(f"the connection has failed ({self._failure}); it accepts no more data")
        if not self._started:
            raise UsageError("call start_handshake() before receive_data()")
        if self._received_close or not data:
            return          # RFC 8446 6.1: data after close_notify is ignored
        try:
            framer = self._framer
            pop_raw = framer.pop_raw
            single = framer.whole_record(data)      # `data` is exactly one record: the framer holds nothing
            if single is None:
                framer.feed(data)
            raw = single if single is not None else pop_raw()
            events = self._events
            while raw is not None:
                header, fragment = raw
                if header[0] == _APPLICATION_DATA and self._application_fast_path:
                    # The bulk path: no Record object, no copy of the fragment; decrypt, and
                    # application data goes straight out as an event (built by tuple.__new__: see
                    # events._TupleEvent).
                    read = self._read
                    sequence = read.sequence
                    inner_type, content = read.open_raw(header, fragment)
                    events.append(_new_event(RecordReceived,
                                             (_APPLICATION_DATA, inner_type, len(fragment), read.epoch, sequence)))
                    if inner_type == _APPLICATION_DATA and not self._handshake_fragment_pending:
                        events.append(_new_event(ApplicationData, (content, read.epoch)))
                    else:
                        self._handle_inner(inner_type, content, read.epoch)
                else:
                    self._handle_record(record_of(header, fragment))
                if single is not None or self._received_close:
                    break               # nothing more in this read, or nothing more is read after close
                raw = pop_raw()
            if self._pending_handshake:
                self._flush_handshake()
            if self.key_updates.pending is not _NO_KEY_UPDATE or self._pending_renegotiation is not None:
                self._run_scheduled()    # a KeyUpdate (ours or the answer to the peer's), a renegotiation
        except ProtocolError as exc:
            self._fail(exc)
            raise
        except errors.AlertReceived:
            raise
        except Exception as exc:     # our bug or a library surprise: still answer with an alert
            error = ProtocolError(f"internal error while processing peer data: {type(exc).__name__}: {exc}",
                                  alert=AlertDescription.internal_error)
            self._fail(error)
            raise error from exc

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def next_event(self) -> Event | None:
        events = self._events
        return events.popleft() if events else None

    def events(self) -> Iterator[Event]:
        """Drain the queued events, oldest first."""
        events = self._events
        while events:
            yield events.popleft()

    def send(self, data: bytes) -> None:
        """Queue application data, split into records of at most 2^14 bytes (or the peer's record_size_limit)."""
        if not self._can_send and not self._send_off_fast_path(data):
            return          # held back until the renegotiation under way completes
        if type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        limit = self._max_write_data
        if size > limit:
            view = memoryview(data)      # records are sealed from slices of it: no copy per record
            for offset in range(0, size, limit):
                self._write_record(_APPLICATION_DATA, view[offset:offset + limit])
            return
        if not size:
            return
        # One record: the common case, kept short (it is the bulk data path).
        write = self._write
        sequence = write.sequence
        record = write.seal(_APPLICATION_DATA, data, self._padding_for(_APPLICATION_DATA, size) if self._padding else 0)
        self._out.append(record)
        self._events.append(_new_event(RecordSent, (_APPLICATION_DATA, _APPLICATION_DATA, len(record) - 5,
                                                    write.epoch, sequence)))

    def close(self) -> None:
        """Send close_notify; the connection is closed for writing (it still reads until the peer closes)."""
        if self._sent_close:
            return
        if not self._started:
            self._set_sent_close()
            self._events.append(ConnectionClosed("closed before the handshake started", by_peer=False))
            return
        self._flush_handshake()
        self._send_alert(_WARNING, _CLOSE_NOTIFY, "close() called")
        self._set_sent_close()
        self._events.append(ConnectionClosed("close_notify sent", by_peer=False))

    def key_log_lines(self) -> list[str]:
        """NSS key log lines (no trailing newline) for every labelled secret derived so far."""
        return [key_log_line(label, client_random, secret).rstrip("\n")
                for label, client_random, secret in self._key_log]

    @property
    def handshake_complete(self) -> bool:
        return self._handshake_complete

    @property
    def closed(self) -> bool:
        """True once close_notify or a fatal alert was sent or received."""
        return self._sent_close or self._received_close

    @property
    def state(self) -> str:
        """The name of the current handshake state (for display)."""
        return type(self._state).__name__ if self._state is not None else "Idle"

    @property
    def version(self) -> int | None:
        return self.negotiated.version

    @property
    def cipher_suite(self) -> int | None:
        return self.negotiated.cipher_suite

    @property
    def group(self) -> int | None:
        return self.negotiated.group

    @property
    def alpn(self) -> bytes | None:
        return self.negotiated.alpn

    @property
    def server_name(self) -> str | None:
        return self.negotiated.server_name

    @property
    def peer_certificates(self) -> tuple[bytes, ...]:
        return self.negotiated.peer_certificates

    # ------------------------------------------------------------------ services for the state machines

    def send_handshake_message(self, message: Any) -> bytes:
        """Encode and queue a handshake message in the current write epoch; returns its raw bytes."""
        raw = encode_handshake(message)
        self._pending_handshake.append(raw)
        self._events.append(_new_event(HandshakeMessageSent, (message, raw, self._write.epoch)))
        return raw

    def send_change_cipher_spec(self) -> None:
        """The compatibility-mode change_cipher_spec (RFC 8446 D.4), at most once."""
        if self._ccs_sent:
            return
        self._flush_handshake()
        self._ccs_sent = True
        self._out.append(_CCS_RECORD)
        self._events.append(ChangeCipherSpecSent())
        self._events.append(RecordSent(_CCS, None, 1, "plaintext", None))

    @property
    def change_cipher_spec_sent(self) -> bool:
        return self._ccs_sent

    def allow_change_cipher_spec(self, allowed: bool) -> None:
        """The window in which a peer's dummy change_cipher_spec is dropped: from the first
        ClientHello to the peer's Finished (RFC 8446 5)."""
        self._ccs_allowed = allowed

    def set_plaintext_record_version(self, version: int) -> None:
        self._flush_handshake()
        if isinstance(self._write, NullProtection):
            self._write.record_version = version

    def install_read_keys(self, suite: CipherSuiteInfo, secret: bytes, epoch: str, generation: int = 0) -> None:
        self._read = TLS13Protection(suite, secret, epoch)
        self._application_read = epoch.startswith("application")
        self._refresh_fast_paths()
        self._events.append(_new_event(KeysInstalled, ("read", epoch, suite.code, generation)))

    def install_write_keys(self, suite: CipherSuiteInfo, secret: bytes, epoch: str, generation: int = 0) -> None:
        self._flush_handshake()
        self._write = TLS13Protection(suite, secret, epoch)
        self._events.append(_new_event(KeysInstalled, ("write", epoch, suite.code, generation)))

    def use_tls13_record_limits(self) -> None:
        """Version is settled: protected records may not exceed 2^14 + 256 (RFC 8446 5.2)."""
        self._framer.max_fragment = MAX_CIPHERTEXT_13

    def set_peer_record_size_limit(self, limit: int) -> None:
        """RFC 8449: records we send carry at most `limit` bytes of TLSInnerPlaintext."""
        self.negotiated.peer_record_size_limit = limit
        self._write_inner_limit = min(limit, MAX_RECORD_SIZE_LIMIT_13)
        self._max_write_data = self._write_inner_limit - 1

    def set_own_record_size_limit(self, limit: int) -> None:
        """RFC 8449: the peer must keep its protected records within the limit we advertised."""
        self._read_inner_limit = min(limit, MAX_RECORD_SIZE_LIMIT_13)
        self._refresh_fast_paths()

    def skip_early_data(self, budget: int = _EARLY_DATA_SKIP_BUDGET) -> None:
        """A server refusing 0-RTT drops the client's early data records (RFC 8446 4.2.10)."""
        self._early_data_skip = budget
        self._refresh_fast_paths()

    def emit_secrets(self, key_schedule: Any) -> None:
        """SecretDerived events for everything the key schedule derived since the last call."""
        derived = key_schedule.derived
        source, seen = self._secrets_seen
        if source is not key_schedule:
            seen = 0
        client_random = self.client_random or b""
        for secret in derived[seen:]:
            self._events.append(_new_event(SecretDerived, (secret.name, secret.value, secret.keylog_label, client_random,
                                                           tuple(secret.derived_from))))
            if secret.keylog_label:
                self._key_log.append((secret.keylog_label, client_random, secret.value))
        self._secrets_seen = (key_schedule, len(derived))

    def complete_handshake(self) -> None:
        n = self.negotiated
        self._handshake_complete = True
        self._refresh_fast_paths()
        self._events.append(HandshakeComplete(
            version=n.version, cipher_suite=n.cipher_suite, group=n.group, signature_scheme=n.signature_scheme,
            alpn=n.alpn, server_name=n.server_name, resumed=n.resumed, peer_certificates=n.peer_certificates))

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def _refresh_fast_paths(self) -> None:
        # Off the bulk send path too: scheduled work (it goes before the data), a renegotiation under way.
        self._can_send = (self._handshake_complete and not self._sent_close and not self._renegotiating
                          and self.key_updates.pending is _NO_KEY_UPDATE and self._pending_renegotiation is None)
        self._application_fast_path = (self._application_read and self._read_inner_limit is None
                                       and not self._early_data_skip)

    def _set_sent_close(self) -> None:
        self._sent_close = True
        self._refresh_fast_paths()

    # ------------------------------------------------------------------ writing records

    def _padding_for(self, content_type: int, length: int) -> int:
        policy = self._padding
        wanted = policy(content_type, length) if callable(policy) else policy
        if not isinstance(wanted, int):
            raise UsageError(f"the padding policy returned {wanted!r}, not a number of bytes")
        if wanted <= 0:
            return 0
        # Padding counts towards the inner plaintext limit (RFC 8446 5.4, RFC 8449 4).
        return min(int(wanted), self._write_inner_limit - 1 - length)

    def _write_record(self, content_type: int, data: bytes) -> None:
        write = self._write
        sequence = write.sequence
        if write.suite is None:
            self._out.append(write.seal(content_type, data))
            self._events.append(RecordSent(content_type, None, len(data), write.epoch, sequence))
            return
        padding = self._padding_for(content_type, len(data)) if self._padding else 0
        record = write.seal(content_type, data, padding)
        self._out.append(record)
        # The outer type: always application_data in TLS 1.3, the content's own type in TLS 1.2.
        self._events.append(_new_event(RecordSent, (record[0], content_type, len(record) - 5, write.epoch, sequence)))

    def _flush_handshake(self) -> None:
        """Frame the queued handshake messages into as few records as the size limit allows."""
        pending = self._pending_handshake
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        limit = self._max_write_data if self._write.suite is not None else MAX_PLAINTEXT
        for offset in range(0, len(data), limit):
            self._write_record(_HANDSHAKE, data[offset:offset + limit])

    def _send_alert(self, level: int, description: int, reason: str) -> None:
        self._write_record(_ALERT, bytes((level, description)))
        self._events.append(AlertSent(level, description, reason))

    def _fail(self, error: ProtocolError) -> None:
        """Answer a peer's protocol violation: the alert, then closed."""
        self._failure = error
        self._pending_handshake.clear()      # half a flight is worse than none
        if not self._sent_close:
            try:
                self._send_alert(_FATAL, int(error.alert), str(error))
            except Exception:                # sealing failed (e.g. sequence exhausted): nothing to send
                pass
        self._set_sent_close()
        self._received_close = True
        self._events.append(ConnectionClosed(str(error), by_peer=False, error=error))

    # ------------------------------------------------------------------ reading records

    def _handle_record(self, record: Any) -> None:
        if self._tls12:
            self._handle_record12(record)
            return
        content_type = record.content_type
        read = self._read
        if content_type == _APPLICATION_DATA:
            if read.suite is None:
                if self._early_data_skip >= len(record.fragment):
                    self._early_data_skip -= len(record.fragment)   # 0-RTT data before ClientHello2
                    return
                raise UnexpectedMessage("protected record before any keys were agreed",
                                        expected="a plaintext handshake record", received="application_data record")
            fragment = record.fragment
            if self._read_inner_limit is not None and len(fragment) - read.suite.tag_length > self._read_inner_limit:
                raise RecordOverflow(f"record of {len(fragment)} bytes exceeds our record_size_limit "
                                     f"of {self._read_inner_limit}")
            sequence = read.sequence
            if self._early_data_skip:
                try:
                    inner_type, content = read.open(record)
                except errors.BadRecordMac:
                    if self._early_data_skip < len(fragment):
                        raise
                    self._early_data_skip -= len(fragment)   # rejected 0-RTT data: drop it
                    read.sequence = sequence
                    return
                self._early_data_skip = 0
                self._refresh_fast_paths()
            else:
                inner_type, content = read.open(record)
            self._events.append(RecordReceived(_APPLICATION_DATA, inner_type, len(fragment), read.epoch, sequence))
            self._handle_inner(inner_type, content, read.epoch)
            return
        if content_type == _CCS:
            self._handle_change_cipher_spec(record)
            return
        if read.suite is not None:
            # Tolerate a plaintext alert during the handshake: the peer may not have our keys yet.
            if not (content_type == _ALERT and not self._handshake_complete):
                raise UnexpectedMessage(f"unprotected {_type_name(content_type)} record where a protected record "
                                        f"was expected", expected="application_data (protected) record",
                                        received=f"{_type_name(content_type)} record")
            if len(record.fragment) > MAX_PLAINTEXT:
                raise RecordOverflow(f"plaintext record of {len(record.fragment)} bytes exceeds 2^14")
            self._events.append(RecordReceived(content_type, None, len(record.fragment), "plaintext", None))
            self._handle_content(content_type, record.fragment, "plaintext")
            return
        sequence = read.sequence
        _, content = read.open(record)
        self._events.append(RecordReceived(content_type, None, len(content), read.epoch, sequence))
        self._handle_content(content_type, content, read.epoch)

    def _handle_inner(self, inner_type: int, content: bytes, epoch: str) -> None:
        """The content of a protected record."""
        if inner_type == _APPLICATION_DATA:
            if not self._application_read:
                if self._receive_early_data(content, epoch):
                    return          # 0-RTT data the server accepted
                raise UnexpectedMessage("application data before the handshake completed",
                                        expected="handshake", received="application_data")
            if self._handshake_fragment_pending:
                raise UnexpectedMessage("application data inside a fragmented handshake message",
                                        expected="the rest of the handshake message", received="application_data")
            self._events.append(ApplicationData(content, epoch))
            return
        self._handle_content(inner_type, content, epoch)

    def _handle_change_cipher_spec(self, record: Any) -> None:
        fragment = record.fragment
        self._events.append(RecordReceived(_CCS, None, len(fragment), "plaintext", None))
        if fragment != b"\x01":
            raise UnexpectedMessage(f"change_cipher_spec record holds {fragment[:8].hex() or 'nothing'}",
                                    expected="the single byte 01", received=fragment[:8].hex() or "empty")
        if not self._ccs_allowed:
            raise UnexpectedMessage("change_cipher_spec outside the handshake",
                                    expected="a handshake or application_data record",
                                    received="change_cipher_spec")
        if self._ccs_received:
            raise UnexpectedMessage("a second change_cipher_spec", expected="one change_cipher_spec at most",
                                    received="change_cipher_spec")
        self._ccs_received = True
        self._events.append(ChangeCipherSpecReceived())

    def _handle_content(self, content_type: int, content: bytes, epoch: str) -> None:
        if content_type == _HANDSHAKE:
            if not content:
                raise UnexpectedMessage("empty handshake record", expected="a handshake fragment",
                                        received="zero-length handshake record")
            reassembler = self._reassembler
            reassembler.feed(content)
            read = self._read
            while (raw := reassembler.pop()) is not None:
                self._handle_handshake_message(raw, epoch)
                if self._read is not read and reassembler.pending_bytes:
                    # RFC 8446 5.1: a key change must fall on a record boundary.
                    raise UnexpectedMessage("handshake data follows a key change in the same record",
                                            expected="end of record at the key change",
                                            received=f"{reassembler.pending_bytes} more handshake bytes")
            self._handshake_fragment_pending = reassembler.pending_bytes > 0
            return
        if content_type == _ALERT:
            self._handle_alert(content)
            return
        if content_type == _APPLICATION_DATA:
            raise UnexpectedMessage("application data before the handshake completed",
                                    expected="handshake", received="application_data")
        raise UnexpectedMessage(f"record of content type {_type_name(content_type)} ({content_type})",
                                expected="handshake, alert or application_data",
                                received=_type_name(content_type))

    def _handle_handshake_message(self, raw: bytes, epoch: str) -> None:
        state = self._state
        msg_type = raw[0]
        try:
            message = decode_handshake(raw, tls13=not self._tls12)
        except DecodeError:
            if msg_type not in state.expected:
                raise state.unexpected(msg_type) from None
            raise
        self._events.append(_new_event(HandshakeMessageReceived, (message, raw, epoch)))
        if msg_type not in state.expected:
            raise state.unexpected(msg_type, message)
        self._state = state.handle(self, message, raw)

    def _handle_alert(self, content: bytes) -> None:
        if len(content) != 2:
            if not content:
                raise UnexpectedMessage("empty alert record", expected="a 2-byte alert",
                                        received="zero-length alert record")
            raise DecodeError(f"alert of {len(content)} bytes", expected="2 bytes", received=f"{len(content)} bytes")
        level, description = content[0], content[1]
        self._events.append(AlertReceived(level, description))
        if description == _CLOSE_NOTIFY:
            self._received_close = True
            if not self._sent_close:
                self._flush_handshake()
                self._send_alert(_WARNING, _CLOSE_NOTIFY, "answering the peer's close_notify")
                self._set_sent_close()
            self._events.append(ConnectionClosed("close_notify received", by_peer=True))
            return
        if description == _USER_CANCELED:
            return          # a warning; close_notify follows (RFC 8446 6.1)
        if self._tls12 and level == _WARNING and description == _NO_RENEGOTIATION:
            self._state = renegotiation.peer_refused(self, self._state)     # TLS 1.2: a refusal, not an error
            return
        # RFC 8446 6: every other alert is fatal, whatever its level says.
        self._received_close = True
        self._set_sent_close()
        error = errors.AlertReceived(description, level)
        self._failure = error
        self._events.append(ConnectionClosed(
            f"peer sent alert {name_of(AlertDescription, description)}", by_peer=True))
        raise error
