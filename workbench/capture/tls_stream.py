"""One TCP connection's reassembled bytes -> decoded TLS records: decide whether it is TLS (and which side is
the client), frame records per direction, hand them to the connection's decoder."""
from __future__ import annotations

from .decrypt import CLIENT, SERVER, TLSConnectionDecoder
from .detect import Verdict, classify_stream, looks_like_client_hello
from .diagnostics import Diagnostic
from .framing import StreamFramer
from .linklayer import endpoint_text
from .model import ConnectionSummary
from .tcp_reassembly import Gap, TCPConnection

_DETECT_LIMIT = 64 * 1024      # bytes buffered before giving up on recognising TLS


class NotTLS:
    """Marker hung on connections that are not TLS: their bytes are dropped."""

    __slots__ = ()


NOT_TLS = NotTLS()


class TLSStream:
    def __init__(self, conn: TCPConnection, keylog, cache, diagnostics, *, forced: bool = False):
        self.conn = conn
        self.keylog = keylog
        self.cache = cache
        self.diagnostics = diagnostics
        self.forced = forced
        self.decided = forced
        self.client_side: int | None = None      # TCP side (0/1) that is the TLS client
        self._early: list[list] = [[], []]       # pieces held until the verdict
        self._head = (bytearray(), bytearray())  # the same bytes since the last hole, for the verdict
        self._after_gap = [False, False]
        self.framers = (StreamFramer(), StreamFramer())
        self.decoder: TLSConnectionDecoder | None = None
        self.summary: ConnectionSummary | None = None

    # -- detection ------------------------------------------------------------------------------------------
    def feed(self, side: int, pieces: list, frame: int, time: float):
        """Pieces (bytes / Gap) of one side; returns the decoded records they complete (a list), or NOT_TLS."""
        if self.decoder is None and self.forced:
            # TLS by configuration: the roles are decided on the first bytes (a ClientHello names the client)
            self._early[side].extend(pieces)
            self._start(side)
            pieces, self._early[side] = self._early[side], []
        elif not self.decided:
            self._early[side].extend(pieces)
            head = self._head[side]
            for piece in pieces:
                if isinstance(piece, Gap):
                    head.clear()
                    self._after_gap[side] = True
                else:
                    head += piece
            # bytes were lost: what follows the last hole is judged as a stream seen from its middle
            verdict = classify_stream(head, from_start=self.conn.syn_seen and not self._after_gap[side])
            if verdict is Verdict.NEED_MORE:
                if len(head) < _DETECT_LIMIT:
                    return []
                verdict = Verdict.NOT_TLS
            if verdict is Verdict.NOT_TLS:
                self._early = [[], []]
                self._head = (bytearray(), bytearray())
                return NOT_TLS
            self.decided = True
            self._start(side)
            self._head = (bytearray(), bytearray())
            out = []
            for s in (side, 1 - side):
                held, self._early[s] = self._early[s], []
                out.extend(self._pieces(s, held, frame, time))
            return out
        return self._pieces(side, pieces, frame, time)

    def _start(self, side: int | None) -> None:
        conn = self.conn
        client = None
        if side is not None:
            head = b"".join(p for p in self._early[side] if not isinstance(p, Gap))[:16]
            if looks_like_client_hello(head) is Verdict.TLS:
                client = side
        if client is None:
            if conn.syn_seen and conn.isn[0] is not None and conn.isn[1] is None:
                client = 0
            elif conn.syn_seen and conn.isn[1] is not None and conn.isn[0] is None:
                client = 1
            elif conn.syn_seen:
                client = 0        # the table makes the first SYN's sender side 0
            else:
                # mid-connection capture: the server is the side on the lower (usually well-known) port
                (_, p0), (_, p1) = conn.endpoints
                client = 1 if p0 < p1 else 0
        self.client_side = client
        (a0, p0), (a1, p1) = conn.endpoints
        ends = (endpoint_text(a0, p0), endpoint_text(a1, p1))
        self.summary = ConnectionSummary(conn.id, ends[client], ends[1 - client], conn.first_frame)
        self.decoder = TLSConnectionDecoder(self.summary, (ends[client], ends[1 - client]), self.keylog,
                                            self.cache, self.diagnostics)

    # -- records ------------------------------------------------------------------------------------------
    def _pieces(self, side: int, pieces: list, frame: int, time: float) -> list:
        framer = self.framers[side]
        role = CLIENT if side == self.client_side else SERVER
        decode = self.decoder.record
        out = []
        for piece in pieces:
            if isinstance(piece, Gap):
                self._diag("tcp", f"{int(piece)} bytes missing from the {'client' if role == CLIENT else 'server'} "
                           f"stream (lost segment)", frame, framer.offset)
                framer.gap(int(piece))
                self.decoder.stream_gap(role)
                continue
            for ctype, version, raw, offset in framer.feed(piece):
                out.append(decode(role, ctype, version, raw, offset, frame, time))
            if framer.skipped:
                for off, n, why in framer.drain_skipped():
                    self._diag("tls", f"skipped {n} bytes that are not TLS records: {why}", frame, off)
        self.summary.last_frame = frame
        return out

    def finish(self, frame: int) -> None:
        """The connection is over (or the capture is): report partial records and release key material."""
        if self.decoder is None:
            return
        for side, framer in enumerate(self.framers):
            if framer.buffered:
                role = "client" if side == self.client_side else "server"
                self._diag("tls", f"the {role} stream ends inside a record ({framer.buffered} bytes of it present)",
                           frame, framer.offset - framer.buffered)
        self.decoder.close()

    def _diag(self, stage: str, message: str, frame: int, offset: int | None) -> None:
        self.diagnostics.add(Diagnostic(stage, message, frame=frame, offset=offset, connection=self.conn.id))
