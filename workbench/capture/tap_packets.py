"""From tapped chunks to the packets a capture of the wire would hold.

Our transports report each chunk of TCP payload to a tap as (timestamp, src, dst, bytes) and say nothing about
TCP itself. `TapPacketizer` makes up the rest, the way Linux loopback shows a connection: Ethernet with zero
addresses, IPv4 or IPv6, a three-way handshake, sequence and acknowledgement numbers that follow the bytes,
segments of at most `mss` bytes, an ACK from the receiver after each chunk, FINs when the connection is closed.
Checksums are correct, so the result passes any checker. The decode pipeline and the pcap(ng) writers then
treat tapped traffic exactly like sniffed traffic.

A connection is the unordered pair of endpoints; the endpoint that sends first is the client (a TLS client
always speaks first).
"""
from __future__ import annotations

import ipaddress
import random
import struct
import sys
from array import array
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from .pcap_io import LINKTYPE_ETHERNET

_FIN, _SYN, _PSH, _ACK = 0x01, 0x02, 0x08, 0x10
_ETHER_ZEROS = b"\x00" * 12                 # loopback frames carry all-zero MAC addresses
_ETH_IPV4, _ETH_IPV6 = b"\x08\x00", b"\x86\xdd"
LOOPBACK_MSS = 65483                        # what Linux uses on lo (MTU 65536 minus IP/TCP headers and options)
_WINDOW = 65535


class Frame(NamedTuple):
    time: float
    linktype: int
    data: bytes


def parse_endpoint(text: str) -> tuple[bytes, int]:
    """ "ip:port" or "[ip6]:port" -> (packed address, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"endpoint {text!r} is not ip:port")
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"endpoint {text!r} does not start with an IP address") from None
    number = int(port)
    if not 0 <= number <= 0xFFFF:
        raise ValueError(f"endpoint {text!r}: port out of range")
    return address.packed, number


def internet_checksum(data: bytes) -> int:
    """RFC 1071 ones' complement sum, as a big-endian 16-bit value."""
    if len(data) % 2:
        data += b"\x00"
    words = array("H", data)
    if sys.byteorder == "little":
        words.byteswap()
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass
class _Flow:
    client: str
    server: str
    addresses: dict[str, tuple[bytes, int]]
    next_seq: dict[str, int]
    reporter: object
    ip_id: int = 0
    closed: bool = False


class TapPacketizer:
    """Feed it chunks with `chunk()`; it returns the frames (time, linktype, bytes) they become.

    reporter: taps handed to both ends of one connection in the same process report every chunk twice (once as
    sent, once as received). Pass a distinct `reporter` per tap: a connection is then recorded from the first
    reporter that mentions it, and the other's copies are dropped."""

    linktype = LINKTYPE_ETHERNET

    def __init__(self, *, mss: int = LOOPBACK_MSS, seed: int | None = None, acks: bool = True):
        if not 1 <= mss <= 65495:
            raise ValueError("mss must be between 1 and 65495")
        self.mss = mss
        self.acks = acks
        self._rng = random.Random(seed)
        self._flows: dict[frozenset, _Flow] = {}

    # -- input ----------------------------------------------------------------------------------------------
    def chunk(self, timestamp: float, src: str, dst: str, data: bytes, *, reporter: object = None) -> list[Frame]:
        key = frozenset((src, dst))
        flow = self._flows.get(key)
        frames: list[Frame] = []
        if flow is not None and reporter is not None and flow.reporter is not None and reporter is not flow.reporter:
            return []                      # the other end's copy of a chunk already recorded
        if flow is None or flow.closed:
            flow = self._open(src, dst, reporter)
            self._flows[key] = flow
            frames += self._handshake(flow, timestamp)
        if not data:
            return frames
        view = memoryview(bytes(data))
        for start in range(0, len(view), self.mss):
            frames.append(self._segment(flow, timestamp, src, _PSH | _ACK, bytes(view[start:start + self.mss])))
        if self.acks:
            frames.append(self._segment(flow, timestamp, dst, _ACK))
        return frames

    def close(self, src: str, dst: str, timestamp: float) -> list[Frame]:
        """The connection between src and dst ended (src closed first): FIN, FIN, ACK."""
        flow = self._flows.get(frozenset((src, dst)))
        if flow is None or flow.closed:
            return []
        flow.closed = True
        return [self._segment(flow, timestamp, src, _FIN | _ACK),
                self._segment(flow, timestamp, dst, _FIN | _ACK),
                self._segment(flow, timestamp, src, _ACK)]

    def close_all(self, timestamp: float) -> list[Frame]:
        """End of the capture: every open connection is closed by its client."""
        frames: list[Frame] = []
        for flow in list(self._flows.values()):
            if not flow.closed:
                frames += self.close(flow.client, flow.server, timestamp)
        return frames

    @property
    def open_connections(self) -> list[tuple[str, str]]:
        """(client, server) of each connection not closed yet."""
        return [(f.client, f.server) for f in self._flows.values() if not f.closed]

    # -- packets --------------------------------------------------------------------------------------------
    def _open(self, client: str, server: str, reporter: object) -> _Flow:
        addresses = {client: parse_endpoint(client), server: parse_endpoint(server)}
        if len(addresses[client][0]) != len(addresses[server][0]):
            raise ValueError(f"{client} and {server} are not of one IP version")
        isn = {client: self._rng.getrandbits(32), server: self._rng.getrandbits(32)}
        return _Flow(client, server, addresses, isn, reporter, ip_id=self._rng.getrandbits(16))

    def _handshake(self, flow: _Flow, timestamp: float) -> list[Frame]:
        return [self._segment(flow, timestamp, flow.client, _SYN),
                self._segment(flow, timestamp, flow.server, _SYN | _ACK),
                self._segment(flow, timestamp, flow.client, _ACK)]

    def _segment(self, flow: _Flow, timestamp: float, sender: str, flags: int, payload: bytes = b"") -> Frame:
        receiver = flow.server if sender == flow.client else flow.client
        (saddr, sport), (daddr, dport) = flow.addresses[sender], flow.addresses[receiver]
        seq = flow.next_seq[sender]
        ack = flow.next_seq[receiver] if flags & _ACK else 0
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, _WINDOW, 0, 0)
        tcp_length = len(tcp) + len(payload)
        if len(saddr) == 4:
            pseudo = saddr + daddr + struct.pack("!BBH", 0, 6, tcp_length)
        else:
            pseudo = saddr + daddr + struct.pack("!IxxxB", tcp_length, 6)
        checksum = internet_checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", checksum) + tcp[18:]
        if len(saddr) == 4:
            flow.ip_id = (flow.ip_id + 1) & 0xFFFF
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_length, flow.ip_id, 0x4000, 64, 6, 0, saddr, daddr)
            ip = ip[:10] + struct.pack("!H", internet_checksum(ip)) + ip[12:]
            ether = _ETHER_ZEROS + _ETH_IPV4
        else:
            ip = struct.pack("!IHBB16s16s", 6 << 28, tcp_length, 6, 64, saddr, daddr)
            ether = _ETHER_ZEROS + _ETH_IPV6
        used = len(payload) + (1 if flags & (_SYN | _FIN) else 0)
        flow.next_seq[sender] = (seq + used) & 0xFFFFFFFF
        return Frame(timestamp, LINKTYPE_ETHERNET, ether + ip + tcp + payload)


def frames_from_chunks(chunks: Iterable, *, mss: int = LOOPBACK_MSS, seed: int | None = None,
                       close: bool = True) -> list[Frame]:
    """The frames of recorded chunks (anything with timestamp, src, dst, data, such as a RecordingTap's
    TappedChunk), in order; with close=True every connection ends with FINs after its last chunk."""
    packetizer = TapPacketizer(mss=mss, seed=seed)
    frames: list[Frame] = []
    last = 0.0
    for chunk in chunks:
        frames += packetizer.chunk(chunk.timestamp, chunk.src, chunk.dst, chunk.data)
        last = max(last, chunk.timestamp)
    if close:
        frames += packetizer.close_all(last)
    return frames
