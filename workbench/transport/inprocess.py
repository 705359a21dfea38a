"""Two engine connections wired back to back in one process, moved one record at a time.

This is the step-by-step mode of the workbench: nothing moves until the caller asks, and
every move is recorded. A `RecordStep` says which record went which way, what each side
did about it (its events), what the receiver raised if the record was refused, and which
keys each side holds afterwards. Calls made on a side between moves (start the handshake,
send data, close...) are recorded as `Action`s, so the history is the whole story in order.

Records are framed by their 5-byte header only; the pair never judges their content, so a
record altered with `step(modify=...)` reaches the receiver as altered and the receiver's
alert comes back on a later step.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Union

from workbench.tls import ClientConfig, Connection, ServerConfig
from workbench.tls import events as tls_events
from workbench.tls.errors import TLSError, UsageError

from .tap import TrafficTap

CLIENT = "client"
SERVER = "server"
SIDES = (CLIENT, SERVER)
RECORD_HEADER = 5


def _other(side: str) -> str:
    return SERVER if side == CLIENT else CLIENT


@dataclass(frozen=True, slots=True)
class DirectionKeys:
    """The keys one side uses in one direction: their epoch, suite and KeyUpdate generation."""

    epoch: str
    cipher_suite: int | None = None
    generation: int = 0


@dataclass(frozen=True, slots=True)
class KeyView:
    """What one side holds at a moment: read and write keys, and the secrets derived so far (in order)."""

    read: DirectionKeys = DirectionKeys("plaintext")
    write: DirectionKeys = DirectionKeys("plaintext")
    secrets: tuple[str, ...] = ()


class KeyTracker:
    """Follows one side's event stream and keeps its current `KeyView`."""

    def __init__(self) -> None:
        self.view = KeyView()

    def feed(self, event) -> None:
        if isinstance(event, tls_events.KeysInstalled):
            keys = DirectionKeys(event.epoch, event.cipher_suite, event.generation)
            if event.direction == "read":
                self.view = KeyView(keys, self.view.write, self.view.secrets)
            else:
                self.view = KeyView(self.view.read, keys, self.view.secrets)
        elif isinstance(event, tls_events.SecretDerived):
            self.view = KeyView(self.view.read, self.view.write, self.view.secrets + (event.name,))


@dataclass(frozen=True, slots=True)
class Action:
    """A call made on one side (start_handshake, send, close, ...) and the events it produced."""

    index: int
    timestamp: float
    side: str
    name: str
    client_events: tuple
    server_events: tuple
    error: TLSError | None
    client_keys: KeyView
    server_keys: KeyView

    def events_of(self, side: str) -> tuple:
        return self.client_events if side == CLIENT else self.server_events


@dataclass(frozen=True, slots=True)
class RecordStep:
    """One record moved from `sender` to `receiver`, and what both sides did as a result."""

    index: int
    timestamp: float
    sender: str
    receiver: str
    src: str
    dst: str
    record: bytes                 # the bytes delivered
    original: bytes | None        # the bytes the sender produced, when `modify` changed them
    sent_as: object               # the sender's RecordSent event for it: what is inside, under which keys
    client_events: tuple
    server_events: tuple
    error: TLSError | None        # what the receiver raised for this record (ProtocolError, AlertReceived)
    client_keys: KeyView
    server_keys: KeyView
    dropped: bool = False         # the receiver had already failed and took nothing (like a closed socket)

    @property
    def direction(self) -> str:
        return f"{self.sender}->{self.receiver}"

    @property
    def content_type(self) -> int:
        """The outer content type in the record header (23 for every protected TLS 1.3 record)."""
        return self.record[0] if self.record else 0

    @property
    def length(self) -> int:
        """The length announced in the record header."""
        return int.from_bytes(self.record[3:5], "big") if len(self.record) >= RECORD_HEADER else 0

    def events_of(self, side: str) -> tuple:
        return self.client_events if side == CLIENT else self.server_events

    @property
    def receiver_events(self) -> tuple:
        return self.events_of(self.receiver)


HistoryEntry = Union[Action, RecordStep]


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """A record one side has sent that has not crossed yet, with the sender's account of it."""

    sender: str
    record: bytes
    sent_as: object = None      # the sender's RecordSent event: inner type, epoch, sequence (None if unknown)


@dataclass
class _Side:
    connection: Connection
    address: str
    keys: KeyTracker = field(default_factory=KeyTracker)
    partial: bytearray = field(default_factory=bytearray)   # bytes after the last whole record


def split_records(buffer: bytearray) -> list[bytes]:
    """Take every whole record (header + fragment) off the front of `buffer`."""
    records = []
    offset = 0
    while len(buffer) - offset >= RECORD_HEADER:
        length = int.from_bytes(buffer[offset + 3:offset + 5], "big")
        end = offset + RECORD_HEADER + length
        if end > len(buffer):
            break
        records.append(bytes(buffer[offset:end]))
        offset = end
    del buffer[:offset]
    return records


class InProcessPair:
    """A client and a server `Connection` joined by an in-memory wire that moves one record per step.

    `tap`, when given, is called once for every record that crosses (timestamp, src, dst, bytes),
    with the fake endpoints `client_address` and `server_address`; `clock` stamps the history and
    the tap (inject one for reproducible runs).
    """

    def __init__(self, client_config: ClientConfig, server_config: ServerConfig, *,
                 tap: TrafficTap | None = None, clock: Callable[[], float] = time.time,
                 client_address: str = "127.0.0.1:49152", server_address: str = "127.0.0.1:443") -> None:
        self._sides = {
            CLIENT: _Side(Connection(client_config), client_address),
            SERVER: _Side(Connection(server_config), server_address),
        }
        self._wire: deque[PendingRecord] = deque()
        self._history: list[HistoryEntry] = []
        self._tap = tap
        self._clock = clock
        self._started = False

    # --- the two ends --------------------------------------------------------------------

    @property
    def client(self) -> Connection:
        return self._sides[CLIENT].connection

    @property
    def server(self) -> Connection:
        return self._sides[SERVER].connection

    def connection(self, side: str) -> Connection:
        return self._side(side).connection

    def keys(self, side: str) -> KeyView:
        """What `side` holds now."""
        return self._side(side).keys.view

    # --- what happened, what is waiting ----------------------------------------------------

    @property
    def history(self) -> list[HistoryEntry]:
        return list(self._history)

    @property
    def steps(self) -> list[RecordStep]:
        return [entry for entry in self._history if isinstance(entry, RecordStep)]

    @property
    def pending(self) -> tuple[PendingRecord, ...]:
        """Records sent and not yet delivered, oldest first (what the next steps will move)."""
        return tuple(self._wire)

    @property
    def quiet(self) -> bool:
        return not self._wire

    # --- calls on one side ---------------------------------------------------------------

    def start_handshake(self) -> Action:
        """The client queues its ClientHello; recorded as the first action of the history."""
        self._started = True
        self.server.start_handshake()   # a no-op for a server today; its events land in this action
        return self._act(CLIENT, "start_handshake")

    def send(self, side: str, data: bytes) -> Action:
        return self._act(side, "send", data)

    def close(self, side: str) -> Action:
        return self._act(side, "close")

    def call(self, side: str, method: str, *args, **kwargs) -> Action:
        """Call any `Connection` method on `side` (key_update, renegotiate, ...) and record it."""
        return self._act(side, method, *args, **kwargs)

    # --- moving records ----------------------------------------------------------------

    def step(self, modify: Callable[[bytes], bytes] | None = None) -> RecordStep | None:
        """Deliver the oldest pending record; None when nothing is pending.

        The handshake is started first if nobody started it. `modify`, when given, receives the
        record's bytes and returns the bytes actually delivered (to see how a receiver reacts).
        """
        if not self._started:
            self.start_handshake()
        if not self._wire:
            return None
        pending = self._wire.popleft()
        sender, receiver = pending.sender, _other(pending.sender)
        delivered = modify(pending.record) if modify is not None else pending.record
        timestamp = self._clock()
        if self._tap is not None:
            self._tap(timestamp, self._sides[sender].address, self._sides[receiver].address, delivered)
        error = None
        dropped = False
        try:
            self._sides[receiver].connection.receive_data(delivered)
        except UsageError:
            dropped = True        # the receiver failed earlier: a real one would have closed its socket
        except TLSError as exc:   # the receiver refused the record; its alert (if any) is queued now
            error = exc
        client_events, server_events = self._collect()
        step = RecordStep(
            index=len(self._history), timestamp=timestamp, sender=sender, receiver=receiver,
            src=self._sides[sender].address, dst=self._sides[receiver].address,
            record=bytes(delivered), original=pending.record if delivered != pending.record else None,
            sent_as=pending.sent_as,
            client_events=client_events, server_events=server_events, error=error,
            client_keys=self.keys(CLIENT), server_keys=self.keys(SERVER), dropped=dropped)
        self._history.append(step)
        return step

    def step_flight(self) -> list[RecordStep]:
        """Deliver every record the next sender has queued now (its whole flight), in order."""
        if not self._started:
            self.start_handshake()
        if not self._wire:
            return []
        sender = self._wire[0].sender
        count = 0
        for pending in self._wire:
            if pending.sender != sender:
                break
            count += 1
        return [self.step() for _ in range(count)]

    def run_until_quiet(self, max_steps: int = 10_000) -> list[RecordStep]:
        """Step until no record is pending; returns the steps taken."""
        steps = []
        while True:
            step = self.step()
            if step is None:
                return steps
            steps.append(step)
            if len(steps) >= max_steps:
                raise RuntimeError(f"still not quiet after {max_steps} records")

    # --- internals -----------------------------------------------------------------------

    def _side(self, side: str) -> _Side:
        try:
            return self._sides[side]
        except KeyError:
            raise ValueError(f"side must be 'client' or 'server', not {side!r}") from None

    def _act(self, side: str, name: str, *args, **kwargs) -> Action:
        connection = self._side(side).connection
        method = getattr(connection, name)
        error = None
        try:
            method(*args, **kwargs)
        except UsageError:
            raise                 # nothing was sent and nothing changed: not part of the story
        except TLSError as exc:
            # A call that ends the connection with an error: recorded, then re-raised below once
            # the history holds what it queued.
            error = exc
        client_events, server_events = self._collect()
        action = Action(index=len(self._history), timestamp=self._clock(), side=side, name=name,
                        client_events=client_events, server_events=server_events, error=error,
                        client_keys=self.keys(CLIENT), server_keys=self.keys(SERVER))
        self._history.append(action)
        if error is not None:
            raise error
        return action

    def _collect(self) -> tuple[tuple, tuple]:
        """Move what each side queued onto the wire and drain each side's events."""
        drained = []
        for name in SIDES:
            side = self._sides[name]
            side.partial += side.connection.data_to_send()
            records = split_records(side.partial)
            events = []
            while (event := side.connection.next_event()) is not None:
                side.keys.feed(event)
                events.append(event)
            # The engine reports one RecordSent per record it writes, in order: pair them up so a
            # view can say what a record holds without decrypting it.
            sent = [e for e in events if isinstance(e, tls_events.RecordSent)]
            if len(sent) != len(records) or side.partial:
                sent = [None] * len(records)
            for record, sent_as in zip(records, sent):
                self._wire.append(PendingRecord(name, record, sent_as))
            drained.append(tuple(events))
        return drained[0], drained[1]
