"""Replaying a capture: packets -> TCP connections -> TLS records -> decrypted records, as a stream.

    r = replay("capture.pcapng", "keys.log")
    for rec in r:                 # DecodedRecord, in the order their last byte was captured
        ...
    r.diagnostics                 # damage and missing keys, with frame numbers / offsets
    r.connections                 # ConnectionSummary per TLS connection (by connection id)

`RecordPipeline` is the pipeline itself, fed one frame at a time: live captures (sniffer or tap) drive it as
packets arrive, `Replay` drives it from a file. Records come out of `feed()` as soon as a frame completes them.

    pipeline = RecordPipeline(keylog)
    for time, linktype, data in packets:
        for record in pipeline.feed(time, linktype, data):
            ...
    leftovers = pipeline.finish()   # end of capture: holes become gaps, open connections are finished

Memory stays bounded on long captures: packets are not kept, finished connections drop their reassembly and
key state (only the summary stays), held out-of-order data is capped per direction. What grows is one summary
per TLS connection and the bounded session cache (tickets, TLS 1.2 session secrets).
"""
from __future__ import annotations

import os
from typing import Iterable, Iterator

from .diagnostics import Diagnostic, DiagnosticLog
from .keylog import KeyLog, load_keylog
from .linklayer import TCP_RST, TCP_SYN, NotTCP, parse_segment
from .model import ConnectionSummary, DecodedRecord
from .pcap_io import SECRETS_TYPE_TLS, CaptureFormatError, CaptureReader, SecretsBlock
from .session_cache import SessionCache
from .tcp_reassembly import ConnectionTable, TCPConnection, track_segment
from .tls_stream import NOT_TLS, TLSStream


class RecordPipeline:
    """Frames in, DecodedRecords out, one frame at a time.

    `feed()` returns the records a frame completes; `finish()` ends the capture (data held behind holes that never
    filled is decoded after a gap, open connections are closed). Data held behind a hole is also decoded when its
    connection closes or a new connection takes over its 4-tuple; such records carry the frame (and its time)
    that ended the wait. `connections` and `diagnostics` fill as it goes. Not thread-safe: feed it from one
    thread."""

    def __init__(self, keylog=None, *, tls_ports: Iterable[int] = (), max_pending: int = 4 << 20,
                 diagnostics: DiagnosticLog | None = None):
        self.keylog: KeyLog = load_keylog(keylog)
        self.tls_ports = frozenset(tls_ports)
        self.max_pending = max_pending
        self.diagnostics = diagnostics if diagnostics is not None else DiagnosticLog()
        self.connections: dict[int, ConnectionSummary] = {}
        self.frames = 0
        self._cache = SessionCache()
        self._table = ConnectionTable()
        self._table.on_retire = self._taken_over
        self._held: list[DecodedRecord] = []     # records of a connection whose 4-tuple a new one took over
        self._not_tcp_reasons: set[str] = set()
        self._last_time = 0.0
        self._finished = False

    def feed(self, time: float, linktype: int, data: bytes, frame: int | None = None) -> list[DecodedRecord]:
        """One captured frame (numbered from 1 in feeding order unless `frame` is given); returns the records
        it completes: often none, sometimes several."""
        if self._finished:
            raise RuntimeError("this pipeline was finished; make a new one for a new capture")
        frame = self.frames = frame if frame is not None else self.frames + 1
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
        self._last_time = time
        conn, side = self._table.lookup(seg, frame)
        out: list[DecodedRecord] = []
        if self._held:
            out, self._held = self._held, []
        app = conn.app
        if app is NOT_TLS or conn.retired:
            if seg.flags & TCP_SYN and not conn.retired:
                track_segment(conn, side, seg)               # keep the ISN: tells a reused 4-tuple apart
            return out
        if app is None:
            conn.streams[0].max_pending = conn.streams[1].max_pending = self.max_pending
            forced = seg.sport in self.tls_ports or seg.dport in self.tls_ports
            app = conn.app = TLSStream(conn, self.keylog, self._cache, self.diagnostics, forced=forced)
        pieces = track_segment(conn, side, seg)
        if seg.flags & TCP_RST and not conn.closed:
            # the sender is gone: nothing it sent will fill a hole any more, so what waits behind one goes now
            pieces = pieces + conn.streams[side].flush()
        if pieces:
            records = app.feed(side, pieces, frame, time)
            if records is NOT_TLS:
                conn.app = NOT_TLS
                return out
            if app.summary is not None and conn.id not in self.connections:
                self.connections[conn.id] = app.summary
            out = out + records if out else records
        if conn.closed:
            finished = self._finish(conn, frame, time)
            if finished:
                out = out + finished
        return out

    def finish(self) -> list[DecodedRecord]:
        """End of the capture: every open connection is finished; returns the records that completes."""
        if self._finished:
            return []
        self._finished = True
        out, self._held = self._held, []
        for conn in self._table.open_connections():
            out.extend(self._finish(conn, self.frames, self._last_time))
        return out

    def _taken_over(self, conn: TCPConnection) -> None:
        # called while the frame that reuses the 4-tuple is looked up: that frame ends the old connection
        self._held.extend(self._finish(conn, self.frames, self._last_time))

    def _finish(self, conn: TCPConnection, frame: int, time: float) -> list[DecodedRecord]:
        """A connection is over (closed, its 4-tuple reused, or the capture ended): data held behind holes that
        never filled is decoded after a gap, then its state is released."""
        app = conn.app
        records: list[DecodedRecord] = []
        if isinstance(app, TLSStream):
            for side in (0, 1):
                pieces = conn.streams[side].flush()
                if pieces:
                    out = app.feed(side, pieces, frame, time)
                    if out is not NOT_TLS:
                        records.extend(out)
            app.finish(frame)
            if app.summary is not None:
                self.connections.setdefault(conn.id, app.summary)
        conn.app = NOT_TLS
        self._table.retire(conn)
        return records


class Replay:
    """An iterator of DecodedRecord over one capture file, with `diagnostics` and `connections` filled as it
    goes. Iterate it once."""

    def __init__(self, path, keylog=None, *, progress: bool = False, tls_ports: Iterable[int] = (),
                 max_pending: int = 4 << 20):
        self.path = os.fspath(path)
        self.progress = progress
        self.pipeline = RecordPipeline(keylog, tls_ports=tls_ports, max_pending=max_pending)
        self.keylog: KeyLog = self.pipeline.keylog
        self.diagnostics: DiagnosticLog = self.pipeline.diagnostics
        self.connections: dict[int, ConnectionSummary] = self.pipeline.connections
        self.secrets_blocks = 0
        self._reader: CaptureReader | None = None
        self._iterator: Iterator[DecodedRecord] | None = None

    def __iter__(self) -> Iterator[DecodedRecord]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def __next__(self) -> DecodedRecord:
        return next(iter(self))

    @property
    def frames(self) -> int:
        """Frames read so far (all of them once iteration ended)."""
        return self._reader.frames if self._reader is not None else 0

    def run(self) -> "Replay":
        """Decode everything, dropping the records (for the summaries and diagnostics)."""
        for _ in self:
            pass
        return self

    def _on_secrets(self, block: SecretsBlock) -> None:
        self.secrets_blocks += 1
        if block.secrets_type == SECRETS_TYPE_TLS:
            self.keylog.add_text(block.data)

    def _run(self) -> Iterator[DecodedRecord]:
        reader = self._reader = CaptureReader(self.path, on_secrets=self._on_secrets, diagnostics=self.diagnostics)
        feed = self.pipeline.feed
        bar = self._progress_bar()
        last_offset = 0
        try:
            for frame, time, linktype, data, file_offset in reader:
                if bar is not None and not frame & 0x3FF:
                    bar.update(file_offset - last_offset)
                    last_offset = file_offset
                records = feed(time, linktype, data, frame)
                if records:
                    yield from records
        except CaptureFormatError as exc:
            self.diagnostics.add(Diagnostic("capture", str(exc)))
        finally:
            if bar is not None:
                bar.close()
        yield from self.pipeline.finish()

    def _progress_bar(self):
        if not self.progress:
            return None
        from tqdm import tqdm
        total = os.path.getsize(self.path) if not self.path.endswith(".gz") else None
        return tqdm(total=total, unit="B", unit_scale=True, desc=os.path.basename(self.path))


def replay(path, keylog=None, *, progress: bool = False, **options) -> Replay:
    """Decode a pcap/pcapng capture (gzip allowed) with an optional key log (path, text, or KeyLog); pcapng
    Decryption Secrets Blocks are used too. Returns a Replay: iterate it for DecodedRecords; its `diagnostics`
    and `connections` fill as it goes. Options: tls_ports (ports decoded as TLS without detection),
    max_pending (bytes held behind a hole per direction before the hole is declared lost)."""
    return Replay(path, keylog, progress=progress, **options)
