"""TCP stream reassembly: one `StreamReassembler` per connection direction, and a `ConnectionTable` that maps
segments to connections.

Handled: segments out of order (held until the hole is filled), retransmissions and overlaps (bytes already
delivered are dropped; the first copy of a byte wins), the ISN taken from the SYN (or from the first segment
when the capture began mid-connection), sequence number wrap-around, FIN/RST, a 4-tuple reused later by a new
connection (a fresh SYN), and holes that never fill (a lost segment: after `max_pending` bytes wait behind the
hole, or at the end of the capture, the hole is declared a gap and the stream goes on after it).
"""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from .linklayer import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Segment

_MOD = 1 << 32
_HALF = 1 << 31


class Gap(int):
    """A piece of the delivered stream that is missing: its length in bytes."""


class StreamReassembler:
    """In-order bytes of one direction. `add()` returns the pieces now deliverable: bytes, or Gap(n)."""

    __slots__ = ("next_seq", "offset", "pending", "heap", "pending_bytes", "max_pending",
                 "fin_offset", "finished", "duplicates", "out_of_order")

    def __init__(self, max_pending: int = 4 << 20):
        self.next_seq: int | None = None     # sequence number of the next byte expected (mod 2**32)
        self.offset = 0                      # stream offset of next_seq (bytes delivered so far, gaps included)
        self.pending: dict[int, bytes] = {}  # stream offset -> bytes, beyond a hole
        self.heap: list[int] = []
        self.pending_bytes = 0
        self.max_pending = max_pending
        self.fin_offset: int | None = None
        self.finished = False
        self.duplicates = 0
        self.out_of_order = 0

    def syn(self, isn: int) -> None:
        if self.next_seq is None or self.offset == 0:
            self.next_seq = (isn + 1) % _MOD

    def add(self, seq: int, payload: bytes, fin: bool = False, missing: int = 0) -> list:
        """Add a segment. `missing`: bytes the segment covers but the capture did not keep (snaplen)."""
        if self.next_seq is None:
            self.next_seq = seq
        start = self.offset + ((seq - self.next_seq + _HALF) % _MOD - _HALF)
        size = len(payload) + missing
        if fin and self.fin_offset is None:
            self.fin_offset = start + size
        if not size:
            self._check_fin()
            return []
        offset = self.offset
        if start == offset and not self.pending and not missing:        # the common case
            self.offset = offset + size
            self.next_seq = (self.next_seq + size) % _MOD
            self._check_fin()
            return [payload]
        end = start + size
        if end <= offset:
            self.duplicates += 1
            return []
        if start > offset:
            self.out_of_order += 1
            if payload:                      # bytes the capture lacks stay a hole, skipped later as a Gap
                old = self.pending.get(start)
                if old is None:
                    heapq.heappush(self.heap, start)
                    self.pending[start] = payload
                    self.pending_bytes += len(payload)
                elif len(old) < len(payload):
                    self.pending[start] = payload
                    self.pending_bytes += len(payload) - len(old)
                else:
                    self.duplicates += 1
            return self._skip_hole() if self.pending_bytes > self.max_pending else []
        out: list = []
        data_end = start + len(payload)
        if data_end > offset:
            out.append(payload[offset - start:])
        if missing:
            out.append(Gap(end - max(offset, data_end)))
        self._advance(end - offset)
        out.extend(self._drain())
        self._check_fin()
        return out

    def _advance(self, n: int) -> None:
        self.offset += n
        self.next_seq = (self.next_seq + n) % _MOD

    def _drain(self) -> list:
        out = []
        heap, pending = self.heap, self.pending
        while heap and heap[0] <= self.offset:
            start = heapq.heappop(heap)
            data = pending.pop(start)
            self.pending_bytes -= len(data)
            end = start + len(data)
            if end > self.offset:
                out.append(data[self.offset - start:])
                self._advance(end - self.offset)
            else:
                self.duplicates += 1
        return out

    def _skip_hole(self) -> list:
        """Give up on the hole before the first held segment: deliver a Gap, then what follows it."""
        if not self.heap:
            return []
        first = self.heap[0]
        hole = first - self.offset
        self._advance(hole)
        out: list = [Gap(hole)]
        out.extend(self._drain())
        self._check_fin()
        return out

    def flush(self) -> list:
        """End of capture: every remaining hole becomes a Gap and what was held behind it is delivered."""
        out = []
        while self.heap:
            out.extend(self._skip_hole())
        return out

    def _check_fin(self) -> None:
        if self.fin_offset is not None and self.offset >= self.fin_offset:
            self.finished = True


@dataclass(eq=False)
class TCPConnection:
    """One TCP connection: its endpoints, its two directions, and whatever the layer above hangs on it."""

    id: int
    endpoints: tuple[tuple[bytes, int], tuple[bytes, int]]   # (side 0 = first seen sender / SYN sender, side 1)
    syn_seen: bool = False
    isn: tuple[int | None, int | None] = (None, None)
    streams: tuple[StreamReassembler, StreamReassembler] = field(
        default_factory=lambda: (StreamReassembler(), StreamReassembler()))
    reset_by: tuple[bool, bool] = (False, False)   # which side sent a RST
    retired: bool = False       # decoding of this connection is over (its state was released)
    first_frame: int = 0
    last_frame: int = 0
    app: object = None          # the layer above (TLS decoder, or a marker that the stream is not TLS)

    @property
    def reset(self) -> bool:
        return self.reset_by[0] or self.reset_by[1]

    @property
    def closed(self) -> bool:
        # A RST ends its sender's direction only: what the other side sent before the RST reached it
        # is still on the wire after it (tshark shows it too), so that direction stays open until it
        # ends as well, the 4-tuple is reused, or the capture ends.
        streams, reset_by = self.streams, self.reset_by
        return self.retired or ((streams[0].finished or reset_by[0]) and (streams[1].finished or reset_by[1]))


class ConnectionTable:
    """Finds the connection and direction (0 or 1) of each segment; starts a new connection when a 4-tuple is
    reused (a SYN with a new ISN after the old connection)."""

    def __init__(self, keep_closed: int = 10_000):
        self._by_tuple: dict[tuple, tuple[TCPConnection, int]] = {}
        self._open: dict[int, TCPConnection] = {}
        self._closed: deque[TCPConnection] = deque()
        self.keep_closed = keep_closed
        self._next_id = 0
        self.on_new = None          # optional callback(connection)
        self.on_retire = None       # optional callback(connection) when a 4-tuple is taken over

    def __len__(self) -> int:
        return self._next_id

    def lookup(self, seg: Segment, frame: int) -> tuple[TCPConnection, int]:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        hit = self._by_tuple.get(key)
        flags = seg.flags
        if hit is not None:
            conn, side = hit
            if flags & TCP_SYN and not flags & TCP_ACK and self._is_new_connection(conn, side, seg.seq):
                if self.on_retire is not None:
                    self.on_retire(conn)
                hit = None
            else:
                conn.last_frame = frame
                return conn, side
        conn = TCPConnection(self._next_id, ((seg.src, seg.sport), (seg.dst, seg.dport)), first_frame=frame,
                             last_frame=frame)
        self._next_id += 1
        self._open[conn.id] = conn
        self._by_tuple[key] = (conn, 0)
        self._by_tuple[(seg.dst, seg.dport, seg.src, seg.sport)] = (conn, 1)
        if self.on_new is not None:
            self.on_new(conn)
        return conn, 0

    @staticmethod
    def _is_new_connection(conn: TCPConnection, side: int, seq: int) -> bool:
        if conn.closed:
            return True                       # a SYN after FIN/FIN or RST opens a new connection
        isn = conn.isn[side]
        if isn is not None:
            return isn != seq                 # a retransmitted SYN has the same ISN
        stream = conn.streams[side]
        return stream.offset > 0 or conn.closed or conn.streams[1 - side].offset > 0

    def open_connections(self) -> list[TCPConnection]:
        return list(self._open.values())

    def retire(self, conn: TCPConnection) -> None:
        """A connection is over: its reassembly state goes; its 4-tuple stays known for a while (late ACKs and
        retransmissions still find it) and is forgotten once `keep_closed` newer connections have closed."""
        if self._open.pop(conn.id, None) is None:
            return
        conn.retired = True
        conn.streams = (StreamReassembler(0), StreamReassembler(0))
        self._closed.append(conn)
        while len(self._closed) > self.keep_closed:
            self.forget(self._closed.popleft())

    def forget(self, conn: TCPConnection) -> None:
        """Drop a connection's entries (memory stays bounded on long captures)."""
        self._open.pop(conn.id, None)
        (a, pa), (b, pb) = conn.endpoints
        for key in ((a, pa, b, pb), (b, pb, a, pa)):
            hit = self._by_tuple.get(key)
            if hit is not None and hit[0] is conn:
                del self._by_tuple[key]


def track_segment(conn: TCPConnection, side: int, seg: Segment) -> list:
    """Apply one segment to its connection; returns the pieces (bytes / Gap) now in order for `side`."""
    flags = seg.flags
    stream = conn.streams[side]
    if flags & TCP_SYN:
        conn.syn_seen = True
        if conn.isn[side] is None:
            conn.isn = (seg.seq, conn.isn[1]) if side == 0 else (conn.isn[0], seg.seq)
        stream.syn(seg.seq)
        seq = (seg.seq + 1) % _MOD
    else:
        seq = seg.seq
    if flags & TCP_RST:
        conn.reset_by = (True, conn.reset_by[1]) if side == 0 else (conn.reset_by[0], True)
    if conn.reset_by[side] and not seg.payload:
        return []
    return stream.add(seq, seg.payload, bool(flags & TCP_FIN), seg.missing)
