"""The timeline model: what happened on one or more TLS connections, record by record.

One `Timeline` holds every record in the order it was first seen (a live session or a capture), the
connections they belong to, and the ticket wallet shared by those connections. A record is the unit: one
`TimelineRecord` per TLS record on the wire. Everything else points at records by their index:
flights (consecutive records in one direction), epochs (the records one set of keys protected), handshake
messages (the record that completed them) and marks (key updates, renegotiations, alerts, tickets...).

The objects are slotted dataclasses that the builder fills in as events arrive and nobody else changes
("frozen-ish"): a front end may hold on to them and re-read them when `Timeline.revision` moves. Records
keep no per-record dict and share their strings (epoch labels, directions) and empty tuples, so a capture of
100,000+ records stays small; `Timeline.records(start, count)` gives the pages a virtualised list shows.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any, ClassVar, Hashable, Iterator

CLIENT_TO_SERVER = "client->server"
SERVER_TO_CLIENT = "server->client"
DIRECTIONS = (CLIENT_TO_SERVER, SERVER_TO_CLIENT)

# Who saw a record: a bit each, so a record seen by both engines and a capture says so in one int.
SEEN_BY_CLIENT = 1
SEEN_BY_SERVER = 2
SEEN_IN_CAPTURE = 4
OBSERVER_BITS = {"client": SEEN_BY_CLIENT, "server": SEEN_BY_SERVER, "capture": SEEN_IN_CAPTURE}

PLAINTEXT = "plaintext"
_NO_MARKS: tuple = ()
_NO_MESSAGES: tuple = ()


def sender_of(direction: str) -> str:
    """"client" or "server": who sends in `direction`."""
    return "client" if direction == CLIENT_TO_SERVER else "server"


def direction_from(sender: str) -> str:
    return CLIENT_TO_SERVER if sender == "client" else SERVER_TO_CLIENT


def observers_of(bits: int) -> tuple[str, ...]:
    return tuple(name for name, bit in OBSERVER_BITS.items() if bits & bit)


def epoch_kind(label: str) -> str:
    """"plaintext", "early", "handshake" or "application" (labels are "application-N")."""
    return label.split("-", 1)[0]


def epoch_generation(label: str) -> int:
    """N of "application-N" (KeyUpdates in TLS 1.3, renegotiations in TLS 1.2); 0 for other epochs."""
    head, _, tail = label.partition("-")
    return int(tail) if tail.isdigit() else 0


# --- messages and records ------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class TimelineMessage:
    """One handshake message, in the record that completed it. `parsed` is the decoded message when the
    source had it or the builder needed it; `decode()` makes it on demand otherwise."""

    index: int
    connection: Hashable
    record: int
    direction: str
    handshake_type: int
    raw: bytes
    parsed: Any = None
    hello_retry: bool = False       # a ServerHello carrying the HelloRetryRequest random

    @property
    def length(self) -> int:
        return len(self.raw)

    def decode(self, *, tls13: bool | None = True) -> Any:
        """The parsed message, decoded once and kept; None when the bytes do not decode
        (tls13=None tries TLS 1.3, then TLS 1.2)."""
        if self.parsed is None:
            from .handshake_facts import decode
            self.parsed = decode(self.raw, tls13=tls13)
        return self.parsed


@dataclass(slots=True, eq=False)
class TimelineRecord:
    """One TLS record on the wire.

    outer_type: the content type in the record header (23 for every protected TLS 1.3 record).
    inner_type: the content type a reader sees: the TLS 1.3 inner type, or the record's own type when it is
        plaintext or decrypted TLS 1.2; None when it stayed encrypted.
    length: the fragment length from the record header.
    epoch: "plaintext", "early", "handshake", "application-N".
    sequence: the record sequence number in its epoch (None for a TLS 1.3 compatibility change_cipher_spec).
    messages: the handshake messages completed in this record.
    marks: key updates, renegotiations, alerts, tickets and other events this record carried or caused.
    observers: SEEN_BY_* bits: which engines / capture reported the record.
    """

    index: int
    connection: Hashable
    direction: str
    time: float | None
    outer_type: int
    inner_type: int | None
    length: int
    epoch: str
    sequence: int | None
    protected: bool
    decrypted: bool
    frame: int | None = None
    messages: tuple = _NO_MESSAGES
    marks: tuple = _NO_MARKS
    flight: int = -1
    observers: int = 0
    note: str | None = None
    raw: bytes | None = None

    @property
    def handshake_types(self) -> tuple[int, ...]:
        return tuple(m.handshake_type for m in self.messages)

    @property
    def content_type(self) -> int | None:
        return self.inner_type

    @property
    def seen_by(self) -> tuple[str, ...]:
        return observers_of(self.observers)


# --- groups of records ---------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class Flight:
    """Consecutive records of one connection in one direction: positions start .. start+count-1 of the
    connection's record list (no per-flight list, so ping-pong traffic stays cheap)."""

    index: int
    connection: Hashable
    direction: str
    start: int
    first_record: int
    last_record: int
    count: int = 1
    first_time: float | None = None
    last_time: float | None = None
    _indices: array = field(default_factory=lambda: array("q"), repr=False)

    @property
    def records(self) -> array:
        """The global indices of the flight's records."""
        return self._indices[self.start:self.start + self.count]


@dataclass(slots=True, eq=False)
class EpochSpan:
    """The records of one direction protected by one set of keys (or sent in the clear).

    generation counts KeyUpdates (TLS 1.3) or renegotiations (TLS 1.2) for application epochs; handshake is
    the number of the handshake (0, then 1, 2... for renegotiations) the keys came from; secret names the
    traffic secret (see Secret) when it is known; installed lists the KeyInstall events that put it in force.
    """

    connection: Hashable
    direction: str
    label: str
    handshake: int = 0
    cipher_suite: int | None = None
    secret: str | None = None
    first_record: int | None = None
    last_record: int | None = None
    count: int = 0
    decrypted: int = 0
    first_time: float | None = None
    last_time: float | None = None
    installed: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return epoch_kind(self.label)

    @property
    def generation(self) -> int:
        return epoch_generation(self.label)


# --- the key schedule ----------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class Secret:
    """A secret of the key schedule. derived_by: "client", "server" (engines) and/or "key log" (capture);
    after_record: the index of the last record of the connection before it appeared (None: before any)."""

    connection: Hashable
    name: str
    value: bytes | None
    keylog_label: str | None = None
    derived_from: tuple[str, ...] = ()
    derived_by: list[str] = field(default_factory=list)
    time: float | None = None
    after_record: int | None = None


@dataclass(slots=True, eq=False)
class KeyInstall:
    """One side put new keys in force for one direction ("read" or "write" from that side's view)."""

    connection: Hashable
    role: str
    usage: str
    direction: str
    epoch: str
    generation: int
    cipher_suite: int | None
    secret: str | None
    time: float | None
    after_record: int | None


# --- marks ---------------------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class Ticket:
    """A session ticket in the wallet: who issued it, its parameters, and which later connections offered it.

    id: a short name ("T1", "T2"... in issue order); fingerprint: the first bytes of SHA-256 over the ticket,
    enough to tell tickets apart on screen. version: 0x0304 (NewSessionTicket) or 0x0303 (RFC 5077)."""

    kind: ClassVar[str] = "ticket"
    id: str
    fingerprint: str
    ticket: bytes
    version: int
    issued_by: Hashable
    record: int
    time: float | None
    frame: int | None
    lifetime: int
    age_add: int | None = None
    nonce: bytes | None = None
    max_early_data: int | None = None
    used_by: list = field(default_factory=list)

    @property
    def resumed(self) -> list:
        """The uses the server accepted."""
        return [use for use in self.used_by if use.accepted]


@dataclass(slots=True, eq=False)
class TicketUse:
    """A connection offered a ticket (TLS 1.3 pre_shared_key identity or TLS 1.2 SessionTicket); accepted
    stays None until the ServerHello says."""

    kind: ClassVar[str] = "ticket_use"
    ticket: str
    connection: Hashable
    record: int
    identity_index: int
    accepted: bool | None = None


@dataclass(slots=True, eq=False)
class KeyUpdateMark:
    kind: ClassVar[str] = "key_update"
    connection: Hashable
    record: int
    direction: str
    request_update: bool
    generation: int                 # the sender's application generation after it
    time: float | None = None
    frame: int | None = None


@dataclass(slots=True, eq=False)
class RenegotiationMark:
    """A TLS 1.2 renegotiation: stage is "requested" (HelloRequest), "started" (ClientHello under the old
    keys), "completed", "refused" (no_renegotiation) or "not decrypted" (seen only as its key change)."""

    kind: ClassVar[str] = "renegotiation"
    connection: Hashable
    record: int
    initiator: str
    stage: str
    handshake: int
    time: float | None = None
    frame: int | None = None


@dataclass(slots=True, eq=False)
class AlertMark:
    """An alert; level and description are None when it stayed encrypted. reason: the sender's own
    explanation when the sending engine reported it."""

    kind: ClassVar[str] = "alert"
    connection: Hashable
    record: int | None
    direction: str
    level: int | None
    description: int | None
    reason: str | None = None
    time: float | None = None
    frame: int | None = None


@dataclass(slots=True, eq=False)
class EventMark:
    """Anything else worth a line: hello_retry, handshake_complete, early_data, closed, and engine events
    this model has no dedicated place for. role: the side that reported it (None: seen on the wire)."""

    kind: str
    connection: Hashable
    record: int | None
    text: str
    role: str | None = None
    time: float | None = None


# --- connections and the whole timeline ----------------------------------------------------------------

@dataclass(slots=True, eq=False)
class TimelineConnection:
    """One TLS connection: its negotiated parameters, its records (as indices into the timeline), flights,
    epochs per direction, secrets, tickets and marks."""

    id: Hashable
    timeline: "Timeline" = field(repr=False)
    client: str | None = None
    server: str | None = None
    observers: int = 0
    version: int | None = None
    offered_versions: tuple[int, ...] = ()
    cipher_suite: int | None = None
    group: int | None = None
    signature_scheme: int | None = None
    alpn: bytes | None = None
    server_name: str | None = None
    client_random: bytes | None = None
    server_random: bytes | None = None
    hello_retry: bool = False
    resumed: bool = False
    resumed_with: str | None = None             # the wallet id of the ticket the server accepted
    offered_tickets: list = field(default_factory=list)       # TicketUse, in offer order
    unknown_identities: list = field(default_factory=list)    # offered identities not in the wallet (bytes)
    early_data_offered: bool = False
    early_data_accepted: bool | None = None
    established: bool = False
    handshakes: int = 0
    closed: str | None = None
    record_indices: array = field(default_factory=lambda: array("q"))
    flights: list = field(default_factory=list)
    epochs: dict = field(default_factory=dict)                 # (direction, label) -> EpochSpan
    secrets: list = field(default_factory=list)
    key_installs: list = field(default_factory=list)
    tickets: list = field(default_factory=list)                # Tickets it issued
    key_updates: list = field(default_factory=list)
    renegotiations: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    events: list = field(default_factory=list)                 # EventMarks
    missing_keys: list = field(default_factory=list)           # (key log label, client random hex)
    notes: list = field(default_factory=list)
    first_time: float | None = None
    last_time: float | None = None

    def __len__(self) -> int:
        return len(self.record_indices)

    def records(self, start: int = 0, count: int | None = None) -> list[TimelineRecord]:
        """A page of this connection's records, in order."""
        stop = len(self.record_indices) if count is None else start + count
        everything = self.timeline._records
        return [everything[i] for i in self.record_indices[start:stop]]

    def epochs_of(self, direction: str) -> list[EpochSpan]:
        return [span for (d, _), span in self.epochs.items() if d == direction]

    def secret(self, name: str) -> Secret | None:
        """The latest secret of that name."""
        for s in reversed(self.secrets):
            if s.name == name:
                return s
        return None

    def installed_where(self, secret_name: str) -> list[KeyInstall]:
        """Where a traffic secret was put in force: each side's read/write key installation that used it."""
        return [install for install in self.key_installs if install.secret == secret_name]

    @property
    def seen_by(self) -> tuple[str, ...]:
        return observers_of(self.observers)


class Timeline:
    """Every record, message and connection seen, in arrival order, plus the ticket wallet.

    Append-only while a builder feeds it; `revision` grows with every change, so a view knows when to
    re-read a page it shows."""

    __slots__ = ("_records", "_messages", "connections", "tickets", "revision")

    def __init__(self) -> None:
        self._records: list[TimelineRecord] = []
        self._messages: list[TimelineMessage] = []
        self.connections: dict[Hashable, TimelineConnection] = {}
        self.tickets: list[Ticket] = []
        self.revision = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TimelineRecord]:
        return iter(self._records)

    def record(self, index: int) -> TimelineRecord:
        return self._records[index]

    def records(self, start: int = 0, count: int | None = None, *, connection: Hashable | None = None
                ) -> list[TimelineRecord]:
        """A page of records: all connections in arrival order, or one connection's."""
        if connection is not None:
            return self.connections[connection].records(start, count)
        stop = len(self._records) if count is None else start + count
        return self._records[start:stop]

    @property
    def messages(self) -> list[TimelineMessage]:
        return list(self._messages)

    def connection(self, conn_id: Hashable) -> TimelineConnection:
        return self.connections[conn_id]

    def ticket(self, ticket_id: str) -> Ticket:
        for t in self.tickets:
            if t.id == ticket_id:
                return t
        raise KeyError(ticket_id)

    def flights(self, connection: Hashable) -> list[Flight]:
        return list(self.connections[connection].flights)

    def to_json(self, **options) -> dict:
        """A JSON-able export (see workbench.timeline.export.to_json)."""
        from .export import to_json
        return to_json(self, **options)
