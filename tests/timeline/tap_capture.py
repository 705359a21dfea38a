"""Turn what a traffic tap saw into a pcapng with its key log, the way a capture of the wire would look.

The capture package reads and writes pcapng but has no writer for tapped chunks yet, so the tests frame
the chunks themselves: Ethernet + IPv4 + TCP with a three-way handshake, sequence numbers that follow the
bytes, segments of at most `mss` bytes, and FINs at the end. The pcapng goes through workbench.capture's
writer, with the key log in a Decryption Secrets Block.
"""
from __future__ import annotations

import socket
import struct
from typing import Iterable

from workbench.capture import write_pcapng

_SYN, _FIN, _ACK, _PSH = 0x02, 0x01, 0x10, 0x08


def _endpoint(text: str) -> tuple[bytes, int]:
    host, _, port = text.rpartition(":")
    return socket.inet_aton(host), int(port)


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total & 0xFFFF) + (total >> 16)
    return ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF


class _Flow:
    def __init__(self, client: str, server: str):
        self.addr = {client: _endpoint(client), server: _endpoint(server)}
        self.seq = {client: 1_000, server: 700_000}
        self.peer = {client: server, server: client}
        self.frames: list[tuple[float, bytes]] = []
        self.ident = 0

    def packet(self, time: float, src: str, flags: int, payload: bytes = b"") -> None:
        dst = self.peer[src]
        (saddr, sport), (daddr, dport) = self.addr[src], self.addr[dst]
        ack = self.seq[dst] if flags & _ACK else 0
        tcp = struct.pack("!HHIIBBHHH", sport, dport, self.seq[src], ack, 5 << 4, flags, 65535, 0, 0)
        self.ident = (self.ident + 1) & 0xFFFF
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self.ident, 0x4000, 64, 6, 0,
                         saddr, daddr)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        ether = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
        self.frames.append((time, ether + ip + tcp + payload))
        self.seq[src] = (self.seq[src] + len(payload) + (1 if flags & (_SYN | _FIN) else 0)) & 0xFFFFFFFF


def tap_frames(chunks: Iterable, *, mss: int = 1460) -> list[tuple[float, bytes]]:
    """(time, Ethernet frame) pairs for one connection's tapped chunks; the first chunk's sender is the client."""
    chunks = list(chunks)
    if not chunks:
        return []
    client, server = chunks[0].src, chunks[0].dst
    flow = _Flow(client, server)
    start = chunks[0].timestamp - 0.001
    flow.packet(start, client, _SYN)
    flow.packet(start, server, _SYN | _ACK)
    flow.packet(start, client, _ACK)
    for chunk in chunks:
        for offset in range(0, len(chunk.data), mss):
            flow.packet(chunk.timestamp, chunk.src, _PSH | _ACK, chunk.data[offset:offset + mss])
    end = chunks[-1].timestamp + 0.001
    flow.packet(end, client, _FIN | _ACK)
    flow.packet(end, server, _FIN | _ACK)
    flow.packet(end, client, _ACK)
    return flow.frames


def write_tap_pcapng(path, chunks: Iterable, keylog_lines: Iterable[str], *, mss: int = 1460) -> None:
    keylog = "".join(line.rstrip("\n") + "\n" for line in keylog_lines)
    write_pcapng(path, tap_frames(chunks, mss=mss), keylog=keylog)
