"""The replay pipeline one packet at a time: frames go in as they are captured, decoded records come out as
soon as a frame completes them. A live capture (sniffer or tap) drives it; `Replay` does the same steps over a
file.

    decoder = PacketDecoder(keylog)
    for time, linktype, frame in packets:
        for record in decoder.feed(time, linktype, frame):
            ...
    leftovers = decoder.finish()      # end of capture: holes become gaps, open connections are finished

Frames are numbered from 1 in the order they are fed, as tshark numbers the frames of the file they end up in.
"""
from __future__ import annotations

from typing import Iterable

from .diagnostics import Diagnostic, DiagnosticLog
from .keylog import KeyLog, load_keylog
from .linklayer import TCP_SYN, NotTCP, parse_segment
from .model import ConnectionSummary, DecodedRecord
from .session_cache import SessionCache
from .tcp_reassembly import ConnectionTable, TCPConnection, track_segment
from .tls_stream import NOT_TLS, TLSStream


class PacketDecoder:
    """Packets -> TCP connections -> TLS records -> decrypted records, fed incrementally.

    `connections` (ConnectionSummary by connection id) and `diagnostics` fill as packets arrive. Not thread-safe:
    feed it from one thread."""

    def __init__(self, keylog=None, *, tls_ports: Iterable[int] = (), max_pending: int = 4 << 20):
        self.keylog: KeyLog = load_keylog(keylog)
        self.tls_ports = frozenset(tls_ports)
        self.max_pending = max_pending
        self.diagnostics = DiagnosticLog()
        self.connections: dict[int, ConnectionSummary] = {}
        self.frames = 0
        self._cache = SessionCache()
        self._table = ConnectionTable()
        self._table.on_retire = lambda conn: self._finish(conn, conn.last_frame)
        self._not_tcp_reasons: set[str] = set()
        self._finished = False

    def feed(self, time: float, linktype: int, data: bytes) -> list[DecodedRecord]:
        """One captured frame; returns the records it completes (often none, sometimes several)."""
        if self._finished:
            raise RuntimeError("the decoder was finished; make a new one for a new capture")
        self.frames += 1
        frame = self.frames
        try:
            seg = parse_segment(linktype, data)
        except NotTCP as exc:
            reason = str(exc)
            if reason not in self._not_tcp_reasons:          # once per kind, not once per frame
                self._not_tcp_reasons.add(reason)
                self.diagnostics.add(Diagnostic("capture", f"frame not followed: {reason}", frame=frame))
            return []
        if seg is None:
            return []
        conn, side = self._table.lookup(seg, frame)
        app = conn.app
        if app is NOT_TLS or conn.retired:
            if seg.flags & TCP_SYN and not conn.retired:
                track_segment(conn, side, seg)               # keep the ISN: tells a reused 4-tuple apart
            return []
        if app is None:
            conn.streams[0].max_pending = conn.streams[1].max_pending = self.max_pending
            forced = seg.sport in self.tls_ports or seg.dport in self.tls_ports
            app = conn.app = TLSStream(conn, self.keylog, self._cache, self.diagnostics, forced=forced)
        out: list[DecodedRecord] = []
        pieces = track_segment(conn, side, seg)
        if pieces:
            records = app.feed(side, pieces, frame, time)
            if records is NOT_TLS:
                conn.app = NOT_TLS
                return []
            if app.summary is not None and app.conn.id not in self.connections:
                self.connections[app.conn.id] = app.summary
            out.extend(records)
        if conn.closed:
            self._finish(conn, frame)
        return out

    def finish(self) -> list[DecodedRecord]:
        """End of the capture: what was held behind holes is delivered, every open connection is finished."""
        if self._finished:
            return []
        self._finished = True
        out: list[DecodedRecord] = []
        frame = self.frames
        for conn in list(self._table.open_connections()):
            app = conn.app
            if isinstance(app, TLSStream):
                for side in (0, 1):
                    pieces = conn.streams[side].flush()
                    if pieces:
                        records = app.feed(side, pieces, frame, 0.0)
                        if records is not NOT_TLS:
                            out.extend(records)
            self._finish(conn, frame)
        return out

    def _finish(self, conn: TCPConnection, frame: int) -> None:
        app = conn.app
        if isinstance(app, TLSStream):
            app.finish(frame)
            if app.summary is not None:
                self.connections.setdefault(conn.id, app.summary)
        conn.app = NOT_TLS
        self._table.retire(conn)
