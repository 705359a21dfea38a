"""Reading and writing capture files: pcap (micro/nanosecond, either byte order), pcapng, gzip-compressed either.

The reader streams: it holds one chunk of the file at a time and yields packets as plain tuples, so memory does
not grow with the capture. It keeps every pcapng Decryption Secrets Block (not only the last one) and reports
damage (a cut file, a nonsense length) as a `Diagnostic` with the byte offset, then resynchronises where it can.

The writers produce what Wireshark opens decrypted: a pcapng with a Decryption Secrets Block holding the TLS key
log right after the section header (the layout `editcap --inject-secrets tls,KEYS` writes), or a pcap plus a
key log file next to it.
"""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Iterator, NamedTuple

from .diagnostics import Diagnostic, add_diagnostic

# Link types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

SECRETS_TYPE_TLS = 0x544C534B          # "TLSK": the Secrets Data is an NSS key log
SECRETS_TYPE_SSH = 0x5353484B

_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = 0x0A0D0D0A
_BOM = 0x1A2B3C4D
_BT_IDB, _BT_PB, _BT_SPB, _BT_EPB, _BT_DSB = 1, 2, 3, 6, 10
_KNOWN_BLOCKS = {_BT_IDB, _BT_PB, _BT_SPB, 4, 5, _BT_EPB, _BT_DSB, _PCAPNG_SHB, 0xBAD, 0x40000BAD}

_CHUNK = 1 << 20
MAX_PACKET = 1 << 18                   # 256 KiB: larger lengths in a record header mean damage, not a packet
_RESYNC_WINDOW = 4 << 20               # how far we look for the next sane header after damage


class Packet(NamedTuple):
    frame: int              # 1-based, counted as tshark counts frames
    time: float             # seconds since the epoch
    linktype: int
    data: bytes
    offset: int             # byte offset of the packet's record/block in the (uncompressed) file


@dataclass(frozen=True, slots=True)
class SecretsBlock:
    secrets_type: int
    data: bytes
    offset: int             # byte offset of the block
    before_frame: int       # the frame number of the next packet (secrets apply from there on)


class CaptureFormatError(Exception):
    """The file is not a pcap or pcapng capture at all."""


def open_binary(path) -> BinaryIO:
    """Open a capture, transparently uncompressing gzip."""
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    if head == b"\x1f\x8b":
        f.close()
        return gzip.open(path, "rb")
    return f


class _Chunks:
    """A sliding window over a binary stream: `need(n)` makes n bytes available at `pos` if the file has them."""

    __slots__ = ("f", "buf", "pos", "base", "eof")

    def __init__(self, f: BinaryIO):
        self.f = f
        self.buf = b""
        self.pos = 0
        self.base = 0          # file offset of buf[0]
        self.eof = False

    def need(self, n: int) -> bool:
        if len(self.buf) - self.pos >= n:
            return True
        if self.eof:
            return False
        rest = self.buf[self.pos:]
        self.base += self.pos
        self.pos = 0
        parts = [rest]
        have = len(rest)
        while have < n and not self.eof:
            try:
                data = self.f.read(max(_CHUNK, n - have))
            except (EOFError, OSError):          # a cut gzip stream
                data = b""
            if not data:
                self.eof = True
                break
            parts.append(data)
            have += len(data)
        self.buf = b"".join(parts)
        return have >= n

    @property
    def offset(self) -> int:
        return self.base + self.pos


class CaptureReader:
    """Iterate the packets of a pcap or pcapng file.

    Attributes filled while iterating: `secrets` (every Decryption Secrets Block, in file order), `diagnostics`
    (damage found; pass your own list to collect them elsewhere), `format` ("pcap" / "pcapng"), `frames`
    (packets yielded so far). `on_secrets`, if given, is
    called with each SecretsBlock as soon as it is read, before the packets that follow it.
    """

    def __init__(self, path, *, on_secrets: Callable[[SecretsBlock], None] | None = None, diagnostics=None):
        self.path = str(path)
        self.on_secrets = on_secrets
        self.secrets: list[SecretsBlock] = []
        self.diagnostics = diagnostics if diagnostics is not None else []   # a list, or a DiagnosticLog
        self.format: str | None = None
        self.frames = 0
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Packet]:
        with open_binary(self.path) as f:
            src = _Chunks(f)
            if not src.need(4):
                raise CaptureFormatError(f"{self.path}: too short to be a capture")
            magic = src.buf[:4]
            if magic in _PCAP_MAGIC:
                self.format = "pcap"
                yield from self._read_pcap(src)
            elif struct.unpack("<I", magic)[0] == _PCAPNG_SHB:
                self.format = "pcapng"
                yield from self._read_pcapng(src)
            else:
                raise CaptureFormatError(f"{self.path}: not a pcap or pcapng file (magic {magic.hex()})")

    def _damage(self, offset: int, what: str) -> None:
        add_diagnostic(self.diagnostics, Diagnostic("capture", what, frame=self.frames or None, offset=offset))

    # -- pcap ---------------------------------------------------------------------------------------------------
    def _read_pcap(self, src: _Chunks) -> Iterator[Packet]:
        if not src.need(24):
            self._damage(0, "pcap global header cut short")
            return
        endian, unit = _PCAP_MAGIC[src.buf[:4]]
        _vmaj, _vmin, _zone, _sig, snaplen, linktype = struct.unpack_from(endian + "HHiIII", src.buf, 4)
        linktype &= 0x0FFFFFFF                   # upper bits carry FCS information
        limit = max(snaplen, MAX_PACKET) if snaplen else MAX_PACKET
        src.pos = 24
        header = struct.Struct(endian + "IIII")
        unpack_from = header.unpack_from
        frame = 0
        last_ts = None
        while True:
            if not src.need(16):
                if len(src.buf) - src.pos:
                    self._damage(src.offset, f"file cut short inside a packet header after frame {frame}")
                break
            ts_sec, ts_frac, caplen, origlen = unpack_from(src.buf, src.pos)
            if caplen > limit or (origlen and caplen > origlen):
                self._damage(src.offset, f"implausible packet length {caplen} after frame {frame}")
                if not self._resync_pcap(src, unpack_from, limit, last_ts):
                    break
                continue
            if not src.need(16 + caplen):
                self._damage(src.offset, f"file cut short inside packet {frame + 1} "
                                         f"({len(src.buf) - src.pos - 16} of {caplen} bytes present)")
                break
            start = src.pos + 16
            offset = src.base + src.pos
            src.pos = start + caplen
            frame += 1
            self.frames = frame
            last_ts = ts_sec
            yield Packet(frame, ts_sec + ts_frac * unit, linktype, src.buf[start:start + caplen], offset)
        self.bytes_read = src.offset

    def _resync_pcap(self, src: _Chunks, unpack_from, limit: int, last_ts: int | None) -> bool:
        """Look for the next pair of sane packet headers after damage; position src there."""
        src.need(_RESYNC_WINDOW)
        buf, start = src.buf, src.pos + 1
        end = len(buf) - 16
        for i in range(start, end):
            ts, _frac, cap, orig = unpack_from(buf, i)
            if cap == 0 or cap > limit or cap > orig or (last_ts is not None and abs(ts - last_ts) > 86400):
                continue
            j = i + 16 + cap
            if j == len(buf) and src.eof:
                src.pos = i
                self._damage(src.base + i, "resynchronised on the next packet header")
                return True
            if j + 16 <= len(buf):
                ts2, _f2, cap2, orig2 = unpack_from(buf, j)
                if 0 < cap2 <= limit and cap2 <= orig2 and abs(ts2 - ts) <= 86400:
                    src.pos = i
                    self._damage(src.base + i, "resynchronised on the next packet header")
                    return True
        return False

    # -- pcapng -------------------------------------------------------------------------------------------------
    def _read_pcapng(self, src: _Chunks) -> Iterator[Packet]:
        endian = "<"
        interfaces: list[tuple[int, float]] = []     # (linktype, seconds per timestamp unit)
        frame = 0
        while True:
            if not src.need(12):
                if len(src.buf) - src.pos:
                    self._damage(src.offset, f"file cut short inside a block header after frame {frame}")
                break
            buf, pos = src.buf, src.pos
            btype = struct.unpack_from(endian + "I", buf, pos)[0]
            if btype == _PCAPNG_SHB:
                bom = buf[pos + 8:pos + 12]
                endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else endian
                interfaces = []
            blen = struct.unpack_from(endian + "I", buf, pos + 4)[0]
            if blen < 12 or blen % 4 or blen > MAX_PACKET + 4096:
                self._damage(src.offset, f"block with impossible length {blen} after frame {frame}")
                if not self._resync_pcapng(src, endian):
                    break
                continue
            if not src.need(blen):
                self._damage(src.offset, f"file cut short inside a block of {blen} bytes after frame {frame}")
                break
            buf, pos = src.buf, src.pos
            if struct.unpack_from(endian + "I", buf, pos + blen - 4)[0] != blen:
                self._damage(src.offset, f"block trailer does not repeat its length {blen} after frame {frame}")
                if not self._resync_pcapng(src, endian):
                    break
                continue
            offset = src.base + pos
            src.pos = pos + blen
            body = pos + 8
            if btype == _BT_EPB or btype == _BT_PB:
                # one 20-byte header for both: interface (the obsolete Packet Block: 16 bits and a drop count),
                # timestamp high and low, captured and original length
                layout = "IIIII" if btype == _BT_EPB else "HxxIIII"
                iface, ts_hi, ts_lo, caplen, _orig = struct.unpack_from(endian + layout, buf, body)
                if caplen > blen - 32 or iface >= len(interfaces):
                    kind = "enhanced packet block" if btype == _BT_EPB else "packet block"
                    self._damage(offset, f"{kind} inconsistent (interface {iface}, length {caplen})")
                    continue
                linktype, unit = interfaces[iface]
                frame += 1
                self.frames = frame
                yield Packet(frame, ((ts_hi << 32) | ts_lo) * unit, linktype,
                             buf[body + 20:body + 20 + caplen], offset)
            elif btype == _BT_SPB:
                if not interfaces:
                    self._damage(offset, "simple packet block before any interface description")
                    continue
                linktype, _unit = interfaces[0]
                origlen = struct.unpack_from(endian + "I", buf, body)[0]
                caplen = min(origlen, blen - 16)
                frame += 1
                self.frames = frame
                yield Packet(frame, 0.0, linktype, buf[body + 4:body + 4 + caplen], offset)
            elif btype == _BT_IDB:
                linktype = struct.unpack_from(endian + "H", buf, body)[0]
                interfaces.append((linktype, _idb_time_unit(buf, body + 8, pos + blen - 4, endian)))
            elif btype == _BT_DSB:
                stype, slen = struct.unpack_from(endian + "II", buf, body)
                block = SecretsBlock(stype, bytes(buf[body + 8:body + 8 + min(slen, blen - 20)]), offset, frame + 1)
                self.secrets.append(block)
                if self.on_secrets is not None:
                    self.on_secrets(block)
        self.bytes_read = src.offset

    def _resync_pcapng(self, src: _Chunks, endian: str) -> bool:
        """After a damaged block, find the next block whose length is repeated in its trailer."""
        src.need(_RESYNC_WINDOW)
        buf = src.buf
        for i in range(src.pos + 4, len(buf) - 12, 4):
            btype, blen = struct.unpack_from(endian + "II", buf, i)
            if btype not in _KNOWN_BLOCKS or blen < 12 or blen % 4 or i + blen > len(buf):
                continue
            if struct.unpack_from(endian + "I", buf, i + blen - 4)[0] == blen:
                src.pos = i
                self._damage(src.base + i, "resynchronised on the next block")
                return True
        return False


def _idb_time_unit(buf: bytes, start: int, end: int, endian: str) -> float:
    """Seconds per timestamp tick from the if_tsresol option (default microseconds)."""
    pos = start
    while pos + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", buf, pos)
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = buf[pos + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        pos += 4 + ((length + 3) & ~3)
    return 1e-6


def read_packets(path, **kw) -> Iterator[Packet]:
    """Shorthand: iterate the packets of a capture file."""
    return iter(CaptureReader(path, **kw))


def read_secrets(path) -> list[SecretsBlock]:
    """Every Decryption Secrets Block of a pcapng file (an empty list for pcap)."""
    reader = CaptureReader(path)
    for _ in reader:
        pass
    return reader.secrets


# -- writing ----------------------------------------------------------------------------------------------------

def _pad4(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


class PcapNgWriter:
    """Stream packets into a pcapng file; secrets blocks may be added at any point (before the packets they
    decrypt). Timestamps are written with nanosecond resolution."""

    def __init__(self, f: BinaryIO, linktype: int = LINKTYPE_ETHERNET, *, application: str = "TLS Workbench",
                 secrets: bytes | str | None = None, snaplen: int = 262144):
        self.f = f
        shb_options = _option(4, application.encode()) + _option(0, b"")
        f.write(_block(_PCAPNG_SHB, struct.pack("<IHHq", _BOM, 1, 0, -1) + shb_options))
        if secrets:
            self.add_secrets(secrets)
        idb_options = _option(9, b"\x09") + _option(0, b"")           # if_tsresol = 10^-9
        f.write(_block(_BT_IDB, struct.pack("<HHI", linktype, 0, snaplen) + idb_options))

    def add_secrets(self, secrets: bytes | str, secrets_type: int = SECRETS_TYPE_TLS) -> None:
        data = secrets.encode() if isinstance(secrets, str) else bytes(secrets)
        self.f.write(_block(_BT_DSB, struct.pack("<II", secrets_type, len(data)) + _pad4(data)))

    def write(self, data: bytes, time: float, origlen: int | None = None) -> None:
        ticks = int(round(time * 1e9))
        self.f.write(_block(_BT_EPB, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                                                 origlen if origlen is not None else len(data)) + _pad4(data)))


class PcapWriter:
    """Stream packets into a classic pcap file (microsecond timestamps, little-endian)."""

    def __init__(self, f: BinaryIO, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144):
        self.f = f
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        self._header = struct.Struct("<IIII")

    def write(self, data: bytes, time: float, origlen: int | None = None) -> None:
        usec = int(round(time * 1e6))
        self.f.write(self._header.pack(usec // 1_000_000, usec % 1_000_000, len(data),
                                       origlen if origlen is not None else len(data)))
        self.f.write(data)


def write_pcapng(path, packets: Iterable[tuple[float, bytes]], *, linktype: int = LINKTYPE_ETHERNET,
                 keylog: bytes | str | None = None) -> None:
    """Write (time, frame bytes) pairs as pcapng; `keylog` (NSS key log text) goes into a Decryption Secrets Block."""
    with open(path, "wb") as f:
        w = PcapNgWriter(f, linktype, secrets=keylog)
        for time, data in packets:
            w.write(data, time)


def write_pcap(path, packets: Iterable[tuple[float, bytes]], *, linktype: int = LINKTYPE_ETHERNET,
               keylog: bytes | str | None = None, keylog_path=None) -> None:
    """Write (time, frame bytes) pairs as pcap; a key log, if given, goes to `keylog_path` (default PATH.keys)."""
    with open(path, "wb") as f:
        w = PcapWriter(f, linktype)
        for time, data in packets:
            w.write(data, time)
    if keylog:
        data = keylog.encode() if isinstance(keylog, str) else keylog
        with open(keylog_path or f"{path}.keys", "wb") as kf:
            kf.write(data)


def inject_secrets(capture_path, keylog: bytes | str, out_path) -> int:
    """Copy a capture into a pcapng whose Decryption Secrets Block holds `keylog`, as `editcap --inject-secrets`
    does. Returns the number of packets copied. Every packet must share one link type (true of any pcap)."""
    reader = CaptureReader(capture_path)
    it = iter(reader)
    first = next(it, None)
    with open(out_path, "wb") as f:
        w = PcapNgWriter(f, first.linktype if first else LINKTYPE_ETHERNET, secrets=keylog)
        if first is None:
            return 0
        w.write(first.data, first.time)
        n = 1
        for pkt in it:
            if pkt.linktype != first.linktype:
                raise ValueError(f"frame {pkt.frame}: link type {pkt.linktype} differs from {first.linktype}")
            w.write(pkt.data, pkt.time)
            n += 1
    return n
