"""Events: one frozen dataclass per thing a person may want to see.

The connection appends events as they happen; the UI, the key log and the
timeline are all built from this one stream. Events keep raw bytes and parsed
objects only; every readable rendering is built on demand by `to_dict()`, so
producing events costs little on the hot path.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from .enums import (AlertDescription, AlertLevel, CipherSuite, ContentType, HandshakeType, KeyUpdateType, NamedGroup,
                    ProtocolVersion, PskKeyExchangeMode, SignatureScheme, name_of)
from .frozen import fast_frozen_init

# Field names whose integer values are code points: to_dict() shows them by name.
_CODE_POINT_FIELDS: dict[str, type[enum.IntEnum]] = {
    "cipher_suite": CipherSuite,
    "cipher_suites": CipherSuite,
    "group": NamedGroup,
    "groups": NamedGroup,
    "selected_group": NamedGroup,
    "named_group": NamedGroup,
    "signature_scheme": SignatureScheme,
    "algorithm": SignatureScheme,
    "schemes": SignatureScheme,
    "content_type": ContentType,
    "inner_type": ContentType,
    "version": ProtocolVersion,
    "versions": ProtocolVersion,
    "legacy_version": ProtocolVersion,
    "level": AlertLevel,
    "description": AlertDescription,
    "modes": PskKeyExchangeMode,
    "psk_mode": PskKeyExchangeMode,
    "request_update": KeyUpdateType,
}


def _code_point(enum_cls: type[enum.IntEnum], value: int) -> str:
    return name_of(enum_cls, value)


def to_jsonable(value: Any, field_name: str | None = None) -> Any:
    """A JSON-able rendering: bytes as hex, enums and known code points as names,
    dataclasses (messages, extensions) as dicts carrying their class name."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        enum_cls = _CODE_POINT_FIELDS.get(field_name) if field_name else None
        return _code_point(enum_cls, value) if enum_cls is not None else value
    if isinstance(value, _TupleEvent):          # a tuple underneath, but an event to show
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [to_jsonable(item, field_name) for item in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, k) for k, v in value.items()}
    if isinstance(value, BaseException):
        return {"type": type(value).__name__, "message": str(value),
                "alert": to_jsonable(getattr(value, "alert", None)),
                "expected": getattr(value, "expected", None), "received": getattr(value, "received", None)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        msg_type = getattr(type(value), "TYPE", None)
        if isinstance(msg_type, HandshakeType):
            out["handshake_type"] = msg_type.name
        for f in dataclasses.fields(value):
            out[f.name] = to_jsonable(getattr(value, f.name), f.name)
        return out
    return repr(value)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event. `kind` names the event family for filtering."""
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "event": type(self).__name__}
        for f in dataclasses.fields(self):
            out[f.name] = to_jsonable(getattr(self, f.name), f.name)
        return out


class _TupleEvent(Event):
    """Base of the events made for every record (RecordSent, RecordReceived, ApplicationData) or
    many times per handshake (HandshakeMessageSent/Received, SecretDerived, KeysInstalled).

    They are tuples underneath (a NamedTuple of their fields), so the engine builds them with
    tuple.__new__, which runs in C: about a third of the cost of a frozen dataclass's __init__
    (three are made per record, forty per handshake). Otherwise they behave as the other events
    do: named fields, immutable (FrozenInstanceError), equal only to an event of the same type
    with the same fields, the same repr and to_dict().
    """
    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]]
    # The fields are set by the tuple's __new__; object's __init__ accepts (and ignores) them.
    __init__ = object.__init__

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)      # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self))  # type: ignore[call-overload]
        return f"{type(self).__name__}({fields})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "event": type(self).__name__}
        for name, value in zip(self._fields, self):      # type: ignore[call-overload]
            out[name] = to_jsonable(value, name)
        return out


# --- handshake messages -------------------------------------------------------------------------------

class _HandshakeMessageFields(NamedTuple):
    message: Any
    raw: bytes
    epoch: str


class HandshakeMessageSent(_TupleEvent, _HandshakeMessageFields):
    """A handshake message we sent: the parsed message, its exact bytes, the epoch protecting it."""
    __slots__ = ()
    __match_args__ = _HandshakeMessageFields._fields
    kind: ClassVar[str] = "handshake_message"

    @property
    def handshake_type(self) -> int:
        return self.raw[0]


class HandshakeMessageReceived(_TupleEvent, _HandshakeMessageFields):
    """A handshake message the peer sent, reassembled from its records."""
    __slots__ = ()
    __match_args__ = _HandshakeMessageFields._fields
    kind: ClassVar[str] = "handshake_message"

    @property
    def handshake_type(self) -> int:
        return self.raw[0]


@dataclass(frozen=True, slots=True)
class HelloRetryRequested(Event):
    """A HelloRetryRequest was sent (server) or received (client)."""
    kind: ClassVar[str] = "hello_retry"
    selected_group: int | None
    cookie: bool


@dataclass(frozen=True, slots=True)
class HandshakeComplete(Event):
    """Both Finished messages verified (client: its own Finished is queued)."""
    kind: ClassVar[str] = "handshake_complete"
    version: int
    cipher_suite: int
    group: int | None
    signature_scheme: int | None
    alpn: bytes | None
    server_name: str | None
    resumed: bool
    peer_certificates: tuple[bytes, ...]


# --- secrets and keys ---------------------------------------------------------------------------------

class _SecretFields(NamedTuple):
    name: str
    value: bytes
    keylog_label: str | None
    client_random: bytes
    derived_from: tuple[str, ...] = ()


class SecretDerived(_TupleEvent, _SecretFields):
    """A secret of the key schedule. `keylog_label` is its NSS key log label, if it has one."""
    __slots__ = ()
    __match_args__ = _SecretFields._fields
    kind: ClassVar[str] = "secret"


class _KeysFields(NamedTuple):
    direction: str
    epoch: str
    cipher_suite: int | None
    generation: int


class KeysInstalled(_TupleEvent, _KeysFields):
    """A new record protection for one direction ("read" or "write") is in force from now on."""
    __slots__ = ()
    __match_args__ = _KeysFields._fields
    kind: ClassVar[str] = "keys"


# --- records ------------------------------------------------------------------------------------------

class _RecordFields(NamedTuple):
    content_type: int
    inner_type: int | None
    length: int
    epoch: str
    sequence: int | None


class RecordSent(_TupleEvent, _RecordFields):
    """One record on the wire. `length` is the fragment length (as in the header);
    `inner_type` is the TLSInnerPlaintext type of a protected record, None otherwise;
    `sequence` is the record sequence number in its epoch (None for a 1.3 change_cipher_spec)."""
    __slots__ = ()
    __match_args__ = _RecordFields._fields
    kind: ClassVar[str] = "record"


class RecordReceived(_TupleEvent, _RecordFields):
    __slots__ = ()
    __match_args__ = _RecordFields._fields
    kind: ClassVar[str] = "record"


@dataclass(frozen=True, slots=True)
class ChangeCipherSpecSent(Event):
    """The dummy change_cipher_spec of TLS 1.3 middlebox compatibility mode."""
    kind: ClassVar[str] = "change_cipher_spec"


@dataclass(frozen=True, slots=True)
class ChangeCipherSpecReceived(Event):
    kind: ClassVar[str] = "change_cipher_spec"


# --- alerts, data, end --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AlertSent(Event):
    kind: ClassVar[str] = "alert"
    level: int
    description: int
    reason: str


@dataclass(frozen=True, slots=True)
class AlertReceived(Event):
    kind: ClassVar[str] = "alert"
    level: int
    description: int


class _ApplicationDataFields(NamedTuple):
    data: bytes
    epoch: str


class ApplicationData(_TupleEvent, _ApplicationDataFields):
    """Application data received from the peer (one event per record)."""
    __slots__ = ()
    __match_args__ = _ApplicationDataFields._fields
    kind: ClassVar[str] = "application_data"


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The connection is over for us: close_notify sent or received, or a fatal error.
    `error` is the ProtocolError we raised when the peer broke the protocol."""
    kind: ClassVar[str] = "closed"
    reason: str
    by_peer: bool
    error: Exception | None = None


# --- after the handshake: KeyUpdate (TLS 1.3), renegotiation (TLS 1.2) ---------------------------------

@dataclass(frozen=True, slots=True)
class KeyUpdateSent(Event):
    """We sent a KeyUpdate; our records are now protected by application_traffic_secret_<generation>.
    `answer` is True when it answers the peer's update_requested."""
    kind: ClassVar[str] = "key_update"
    generation: int
    request_update: int
    answer: bool = False


@dataclass(frozen=True, slots=True)
class KeyUpdateReceived(Event):
    """The peer sent a KeyUpdate; its records are now protected by application_traffic_secret_<generation>."""
    kind: ClassVar[str] = "key_update"
    generation: int
    request_update: int


@dataclass(frozen=True, slots=True)
class HelloRequestReceived(Event):
    """A TLS 1.2 client got the server's HelloRequest. `action`: "renegotiating", "refused"
    (no_renegotiation sent) or "ignored" (a handshake was already under way)."""
    kind: ClassVar[str] = "renegotiation"
    action: str


@dataclass(frozen=True, slots=True)
class RenegotiationStarted(Event):
    """A TLS 1.2 renegotiation began (its ClientHello was sent or received). `initiator` is "client" or
    "server" (who asked: a server asks with HelloRequest); `abbreviated` says the client offered to resume
    the current session; `number` counts renegotiations on this connection (1 for the first);
    `previous_epoch` protects the records until the new keys take over."""
    kind: ClassVar[str] = "renegotiation"
    initiator: str
    abbreviated: bool
    number: int
    previous_epoch: str


@dataclass(frozen=True, slots=True)
class RenegotiationFinished(Event):
    """Both Finished messages of a renegotiation verified; `epoch` protects the records from now on.
    `abbreviated` is True when the session was resumed."""
    kind: ClassVar[str] = "renegotiation"
    initiator: str
    abbreviated: bool
    number: int
    epoch: str
    cipher_suite: int


@dataclass(frozen=True, slots=True)
class RenegotiationRefused(Event):
    """A renegotiation did not happen: the peer answered no_renegotiation (`by_peer`), or we refused
    the peer's request by policy and told it so with a no_renegotiation warning."""
    kind: ClassVar[str] = "renegotiation"
    initiator: str
    by_peer: bool
    reason: str


# --- sessions: tickets, resumption, 0-RTT -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TicketIssued(Event):
    """The server sent a ticket: a TLS 1.3 NewSessionTicket (age_add, nonce, max_early_data) or an
    RFC 5077 one in a TLS 1.2 handshake (age_add and nonce None). `mode`: "stateless" or "stateful"."""
    kind: ClassVar[str] = "ticket"
    version: int
    ticket: bytes
    lifetime: int
    age_add: int | None
    nonce: bytes | None
    max_early_data: int
    mode: str


@dataclass(frozen=True, slots=True)
class TicketReceived(Event):
    """The client received a ticket (the NEW_SESSION_TICKET hook of GnuTLS); session_data() now returns it."""
    kind: ClassVar[str] = "ticket"
    version: int
    ticket: bytes
    lifetime: int
    age_add: int | None
    nonce: bytes | None
    max_early_data: int


@dataclass(frozen=True, slots=True)
class ResumptionOffered(Event):
    """A session is offered: client side when it sends the ClientHello, server side when it reads it.
    `ticket` is the (first) PSK identity, TLS 1.2 ticket or session ID; `ticket_age` the client's
    view in ms (TLS 1.3, client side)."""
    kind: ClassVar[str] = "resumption"
    version: int
    ticket: bytes
    ticket_age: int | None
    early_data: bool


@dataclass(frozen=True, slots=True)
class ResumptionAccepted(Event):
    """The handshake resumes the offered session; `psk_mode` is the PskKeyExchangeMode (TLS 1.3)."""
    kind: ClassVar[str] = "resumption"
    version: int
    ticket: bytes
    psk_mode: int | None


@dataclass(frozen=True, slots=True)
class ResumptionRefused(Event):
    """No resumption: a full handshake follows (or, for a bad binder, the handshake ends). `reason` says why."""
    kind: ClassVar[str] = "resumption"
    reason: str
    ticket: bytes = b""


@dataclass(frozen=True, slots=True)
class EarlyDataAccepted(Event):
    """0-RTT data is accepted (client: the server said so; server: it will read it).
    `max_early_data` is the ticket's limit, `length` the bytes the client sent so far (0 on the server)."""
    kind: ClassVar[str] = "early_data"
    max_early_data: int
    length: int


@dataclass(frozen=True, slots=True)
class EarlyDataRejected(Event):
    """0-RTT data is not accepted. On the client `data` is everything it sent as early data, handed
    back so that the caller can send it again after the handshake; on the server it is empty
    (the server cannot read what it skips)."""
    kind: ClassVar[str] = "early_data"
    data: bytes
    reason: str


ALL_EVENT_TYPES: tuple[type[Event], ...] = (
    HandshakeMessageSent, HandshakeMessageReceived, HelloRetryRequested, HandshakeComplete,
    SecretDerived, KeysInstalled, RecordSent, RecordReceived, ChangeCipherSpecSent, ChangeCipherSpecReceived,
    AlertSent, AlertReceived, ApplicationData, ConnectionClosed,
    KeyUpdateSent, KeyUpdateReceived, HelloRequestReceived, RenegotiationStarted, RenegotiationFinished,
    RenegotiationRefused,
    TicketIssued, TicketReceived, ResumptionOffered, ResumptionAccepted, ResumptionRefused,
    EarlyDataAccepted, EarlyDataRejected,
)

# The dataclass events get the faster frozen __init__ of frozen.py, as the codec objects do.
for _cls in ALL_EVENT_TYPES:
    if not issubclass(_cls, _TupleEvent):
        fast_frozen_init(_cls)
del _cls
