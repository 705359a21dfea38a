"""Decrypted bytes and field trees for the records of a live run, as a capture of its wire would give them.

Our engines report what each record carries but not its bytes in the clear. The inspector wants
scapy's field tree and a hex view, so every record that crosses the wire of a live run is kept (in
wire order, both directions) and decoded on demand by the capture layer's decoder, with the key log
our own engines wrote. Decoding is lazy and in order: asking for record k decodes up to k, by which
time both ends have derived the keys it needs.

`RecordSource` is what the inspector asks: the DecodedRecord for a timeline record (live runs map the
timeline's records to wire records by direction and position; a replayed capture has them already).
"""
from __future__ import annotations

import threading
from typing import Callable, Hashable, Iterable

from workbench.capture.decrypt import TLSConnectionDecoder
from workbench.capture.keylog import KeyLog
from workbench.capture.model import ConnectionSummary, DecodedRecord
from workbench.timeline.model import CLIENT_TO_SERVER, Timeline, TimelineRecord
from workbench.transport.inprocess import split_records


class RecordSplitter:
    """Whole TLS records out of one direction's byte stream (chunks may cut records anywhere)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        return split_records(self._buffer)


class ConnectionDecoder:
    """The wire records of one connection, decoded on demand with the key log lines `keylog_lines()` gives."""

    def __init__(self, conn_id: Hashable, client: str, server: str,
                 keylog_lines: Callable[[], Iterable[str]]) -> None:
        self.conn_id = conn_id
        self.client = client
        self.server = server
        self._keylog_lines = keylog_lines
        self._keylog = KeyLog()
        self._known_lines: set[str] = set()
        self._summary = ConnectionSummary(conn_id if isinstance(conn_id, int) else 0, client, server, 0)
        self._decoder = TLSConnectionDecoder(self._summary, (client, server), self._keylog)
        self._wire: list[tuple[int, bytes, float]] = []          # (side 0 client / 1 server, record, time)
        self._decoded: list[DecodedRecord] = []
        self._by_direction: dict[int, list[int]] = {0: [], 1: []}  # side -> positions in _wire
        self._splitters = {0: RecordSplitter(), 1: RecordSplitter()}
        self._offsets = [0, 0]
        self._lock = threading.Lock()

    # -- input --------------------------------------------------------------------------------------------
    def add_record(self, from_client: bool, record: bytes, time: float = 0.0) -> None:
        side = 0 if from_client else 1
        with self._lock:
            self._by_direction[side].append(len(self._wire))
            self._wire.append((side, bytes(record), time))

    def add_chunk(self, from_client: bool, data: bytes, time: float = 0.0) -> None:
        """A piece of one direction's TCP stream (a traffic tap's chunk)."""
        side = 0 if from_client else 1
        for record in self._splitters[side].feed(data):
            self.add_record(from_client, record, time)

    def __len__(self) -> int:
        return len(self._wire)

    def wire_records(self) -> list[tuple[bool, bytes, float]]:
        """(from the client?, record bytes, time) for every record seen, in wire order."""
        with self._lock:
            return [(side == 0, record, time) for side, record, time in self._wire]

    def keylog_lines(self) -> list[str]:
        return list(self._keylog_lines())

    # -- output -------------------------------------------------------------------------------------------
    def decoded(self, from_client: bool, position: int) -> DecodedRecord | None:
        """The position-th record of one direction, decoded (and decrypted when the keys allow)."""
        positions = self._by_direction[0 if from_client else 1]
        if position >= len(positions):
            return None
        target = positions[position]
        with self._lock:
            if target >= len(self._decoded):
                self._refresh_keys()
                while len(self._decoded) <= target:
                    side, record, time = self._wire[len(self._decoded)]
                    version = int.from_bytes(record[1:3], "big")
                    decoded = self._decoder.record(side, record[0], version, record, self._offsets[side],
                                                   len(self._decoded) + 1, time)
                    self._offsets[side] += len(record)
                    self._decoded.append(decoded)
            return self._decoded[target]

    def _refresh_keys(self) -> None:
        new = [line for line in self._keylog_lines() if line not in self._known_lines]
        if new:
            self._known_lines.update(new)
            self._keylog.add_text("\n".join(new) + "\n")


class RecordSource:
    """Maps timeline records to decoded wire records: per connection, the k-th record of a direction in
    the timeline is the k-th record that crossed the wire in that direction."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.decoders: dict[Hashable, ConnectionDecoder] = {}

    def add_connection(self, decoder: ConnectionDecoder) -> None:
        self.decoders[decoder.conn_id] = decoder

    def _position(self, rec: TimelineRecord) -> int:
        conn = self.timeline.connections[rec.connection]
        position = 0
        for index in conn.record_indices:
            if index == rec.index:
                return position
            if self.timeline.record(index).direction == rec.direction:
                position += 1
        raise KeyError(rec.index)

    def decoded(self, rec: TimelineRecord) -> DecodedRecord | None:
        decoder = self.decoders.get(rec.connection)
        if decoder is None:
            return None
        return decoder.decoded(rec.direction == CLIENT_TO_SERVER, self._position(rec))


APPLICATION_DATA = 23
PLAINTEXT_BUDGET = 64 << 20     # bytes of decrypted application data kept for the inspector


class ReplayRecordSource:
    """A replayed capture's DecodedRecords, by timeline index.

    The decrypted content of application data is kept up to a budget (a long capture is mostly that);
    past it the inspector shows such records as they were on the wire. Handshake and alert content is
    always kept: it is small and it is what a person inspects."""

    def __init__(self, plaintext_budget: int = PLAINTEXT_BUDGET) -> None:
        self.by_index: dict[int, DecodedRecord] = {}
        self.plaintext_left = plaintext_budget
        self.dropped: set[int] = set()

    def add(self, index: int, record: DecodedRecord) -> None:
        if record.inner_type == APPLICATION_DATA and record.plaintext is not None and record.protected:
            self.plaintext_left -= len(record.plaintext)
            if self.plaintext_left < 0:
                record.plaintext = None
                self.dropped.add(index)
        self.by_index[index] = record

    def decoded(self, rec: TimelineRecord) -> DecodedRecord | None:
        return self.by_index.get(rec.index)
