"""TLS record framing over one direction of a reassembled TCP stream.

Bytes go in as TCP delivers them (a record header may be cut anywhere, even after 1 byte); whole records come
out with their offset in the stream, so the caller can stamp each with the frame that completed it. After a gap
in the stream (lost segment) or a header that cannot be TLS, the framer resynchronises on the next run of valid
record headers and says how many bytes it skipped.
"""
from __future__ import annotations

from .detect import CONTENT_TYPES, MAX_RECORD_LENGTH, RECORD_HEADER, valid_header


class StreamFramer:
    """Feed bytes with `feed()`, then drain `records()`: (content_type, version, record_bytes, stream_offset)."""

    __slots__ = ("_buf", "_parts", "_have", "_need", "_offset", "_lost", "skipped", "max_length")

    def __init__(self, max_length: int = MAX_RECORD_LENGTH):
        self._buf = b""           # bytes not yet framed
        self._parts: list[bytes] = []   # bytes fed while a known-length record is still incomplete (joined once)
        self._have = 0            # len(_buf) + bytes in _parts
        self._need = 0            # bytes the record at _buf[0] needs in all (0: header not complete yet)
        self._offset = 0          # stream offset of _buf[0]
        self._lost = False        # a gap or garbage: look for the next record header
        self.skipped: list[tuple[int, int, str]] = []   # (stream offset, bytes skipped, why) since last drained
        self.max_length = max_length

    @property
    def buffered(self) -> int:
        return self._have

    @property
    def offset(self) -> int:
        """Stream offset just past the bytes fed so far."""
        return self._offset + self._have

    def gap(self, length: int) -> None:
        """`length` bytes of the stream are missing: drop the partial record and resynchronise after them."""
        if self._have:
            self.skipped.append((self._offset, self._have, "partial record before a gap in the stream"))
        self._offset += self._have + length
        self._buf, self._parts, self._have, self._need = b"", [], 0, 0
        self._lost = True

    def feed(self, data: bytes) -> list[tuple[int, int, bytes, int]]:
        """Add stream bytes; return the records they complete, in order."""
        if self._need and self._have + len(data) < self._need:
            # the record in progress is still incomplete: just keep the piece (no copying per segment)
            self._parts.append(data)
            self._have += len(data)
            return []
        if self._parts:
            self._parts.append(data)
            buf = self._buf + b"".join(self._parts)
            self._parts = []
        else:
            buf = self._buf + data if self._buf else data
        self._need = 0
        out = []
        pos = 0
        n = len(buf)
        if self._lost:
            pos = self._resync(buf, 0)
            if pos < 0:
                # keep the last 4 bytes: they may be the start of a header
                keep = max(0, n - (RECORD_HEADER - 1))
                if keep:
                    self.skipped.append((self._offset, keep, "no record header found"))
                self._offset += keep
                self._buf = buf[keep:]
                self._have = len(self._buf)
                return out
            self._lost = False
        max_length = self.max_length
        while n - pos >= RECORD_HEADER:
            ctype = buf[pos]
            length = (buf[pos + 3] << 8) | buf[pos + 4]
            if ctype not in CONTENT_TYPES or buf[pos + 1] != 3 or length > max_length:
                why = (f"record length {length} exceeds {max_length}"
                       if ctype in CONTENT_TYPES and buf[pos + 1] == 3
                       else f"record header {buf[pos:pos + 5].hex()} is not TLS")
                nxt = self._resync(buf, pos + 1)
                if nxt < 0:
                    keep = max(pos + 1, n - (RECORD_HEADER - 1))
                    self.skipped.append((self._offset + pos, keep - pos, why))
                    pos = keep
                    self._lost = True
                    break
                self.skipped.append((self._offset + pos, nxt - pos, why))
                pos = nxt
                continue
            end = pos + RECORD_HEADER + length
            if end > n:
                self._need = end - pos
                break
            out.append((ctype, (buf[pos + 1] << 8) | buf[pos + 2], buf[pos:end], self._offset + pos))
            pos = end
        if pos:
            self._offset += pos
            self._buf = buf[pos:]
        else:
            self._buf = buf
        self._have = len(self._buf)
        return out

    def _resync(self, buf: bytes, start: int) -> int:
        """Position of the first header from `start` that is followed by another valid header (or that runs
        exactly to the end of the buffer); -1 if none can be confirmed yet."""
        n = len(buf)
        for i in range(start, n - RECORD_HEADER + 1):
            if buf[i] not in CONTENT_TYPES or buf[i + 1] != 3 or not valid_header(buf, i):
                continue
            nxt = i + RECORD_HEADER + ((buf[i + 3] << 8) | buf[i + 4])
            if nxt == n or (nxt + RECORD_HEADER <= n and valid_header(buf, nxt)):
                return i
        return -1

    def drain_skipped(self) -> list[tuple[int, int, str]]:
        skipped, self.skipped = self.skipped, []
        return skipped
