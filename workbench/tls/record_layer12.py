"""The TLS 1.2 record layer of `Connection` (a base class), and the services client12 / server12 use.

What differs from TLS 1.3 once a ServerHello settles on 1.2:
- protected records keep their real content type in the header (no inner plaintext, no padding);
  events give it as both `content_type` and `inner_type`;
- change_cipher_spec is a protocol message: it switches the peer's direction to the new keys,
  travels under the current keys during a renegotiation, and must not split a handshake message;
- handshake messages decode with the 1.2 bodies (Certificate, CertificateRequest, NewSessionTicket);
- keys change per handshake, not per message: the epoch "application-N" is the Nth renegotiation's.
"""
from __future__ import annotations

from typing import Any

from .enums import ContentType
from .errors import DecodeError, UnexpectedMessage
from .events import ChangeCipherSpecReceived, ChangeCipherSpecSent, KeysInstalled, RecordReceived, SecretDerived
from .key_schedule import DerivedSecret
from .record_protection import RecordProtection

_CCS = int(ContentType.CHANGE_CIPHER_SPEC)
_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)


class TLS12RecordLayer:
    """Mixed into Connection; relies on its record layer attributes and methods."""

    _tls12: bool
    _read: RecordProtection
    _write: RecordProtection

    # --- services for the TLS 1.2 state machines -----------------------------------------------

    def use_tls12_record_layer(self) -> None:
        """The version is TLS 1.2: records and handshake messages follow its rules from now on."""
        self._tls12 = True
        self._padding = 0

    def install_protection(self, direction: str, protection: RecordProtection, generation: int = 0) -> None:
        """Switch one direction ("read" or "write") to new record protection (at a change_cipher_spec)."""
        if direction == "write":
            self._flush_handshake()
            self._write = protection
        elif direction == "read":
            self._read = protection
            self._refresh_fast_paths()
        else:
            raise ValueError(f"direction must be 'read' or 'write', not {direction!r}")
        suite = protection.suite.code if protection.suite is not None else None
        self._events.append(KeysInstalled(direction, protection.epoch, suite, generation))

    def set_application_read(self, allowed: bool) -> None:
        """Whether application data from the peer is acceptable now: from its first Finished on,
        except between its change_cipher_spec and its Finished in a renegotiation."""
        self._application_read = allowed
        self._refresh_fast_paths()

    def send_change_cipher_spec12(self) -> None:
        """Our change_cipher_spec, under the current write keys (protected in a renegotiation)."""
        self._flush_handshake()
        self._events.append(ChangeCipherSpecSent())
        self._write_record(_CCS, b"\x01")

    def emit_secret(self, secret: DerivedSecret, client_random: bytes) -> None:
        """SecretDerived (and its key log line) for a secret made outside a TLS 1.3 key schedule."""
        self._events.append(SecretDerived(secret.name, secret.value, secret.keylog_label, client_random,
                                          tuple(secret.derived_from)))
        if secret.keylog_label:
            self._key_log.append((secret.keylog_label, client_random, secret.value))

    def send_alert(self, level: int, description: int, reason: str) -> None:
        """An alert after the queued handshake messages (a warning such as no_renegotiation)."""
        self._flush_handshake()
        self._send_alert(level, description, reason)

    # --- what each direction is at (for display and for the KeyUpdate bound) -----------------

    @property
    def read_epoch(self) -> str:
        return self._read.epoch

    @property
    def write_epoch(self) -> str:
        return self._write.epoch

    @property
    def read_sequence(self) -> int:
        """The sequence number of the next record read in the current epoch."""
        return self._read.sequence

    @property
    def write_sequence(self) -> int:
        return self._write.sequence

    @property
    def can_write(self) -> bool:
        """Neither close_notify nor a fatal alert went out: records may still be sent."""
        return not self._sent_close

    # --- reading TLS 1.2 records ---------------------------------------------------------------

    def _handle_record12(self, record: Any) -> None:
        content_type = record.content_type
        read = self._read
        protected = read.suite is not None
        sequence = read.sequence
        _, content = read.open(record)
        self._events.append(RecordReceived(content_type, content_type if protected else None, len(record.fragment),
                                           read.epoch, sequence))
        if content_type == _CCS:
            self._handle_change_cipher_spec12(content)
        elif content_type == _APPLICATION_DATA and protected:
            self._handle_inner(content_type, content, read.epoch)
        else:
            self._handle_content(content_type, content, read.epoch)

    def _handle_change_cipher_spec12(self, content: bytes) -> None:
        if content != b"\x01":
            raise DecodeError(f"change_cipher_spec holds {content[:8].hex() or 'nothing'}",
                              expected="the single byte 01", received=content[:8].hex() or "empty")
        if self._reassembler.pending_bytes:
            # RFC 5246 7.1: a key change must not fall inside a handshake message.
            raise UnexpectedMessage("change_cipher_spec in the middle of a handshake message",
                                    expected="the rest of the handshake message", received="change_cipher_spec")
        self._events.append(ChangeCipherSpecReceived())
        state = self._state
        handler = getattr(state, "change_cipher_spec", None)
        if handler is None:
            raise UnexpectedMessage(f"change_cipher_spec in state {state.name}", expected=state.expected_names(),
                                    received="change_cipher_spec")
        self._state = handler(self)
