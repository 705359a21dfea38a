"""A run's records as a pcapng that Wireshark opens decrypted: the records framed as TCP over IPv4 over
Ethernet, one segment per record, and the key log in a Decryption Secrets Block.

In-process runs never touched a socket, so the frames are made here: a three-way handshake, sequence
and acknowledgement numbers that follow the bytes, a FIN each way at the end. Checksums are computed
(tshark warns about wrong ones).
"""
from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Iterable

from workbench.capture import write_pcapng

_SYN, _FIN, _ACK, _PSH = 0x02, 0x01, 0x10, 0x08
MSS = 1460


@dataclass(frozen=True, slots=True)
class WireRecord:
    from_client: bool
    data: bytes
    time: float


def _endpoint(text: str) -> tuple[bytes, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    address = ipaddress.ip_address(host)
    if address.version != 4:
        address = ipaddress.ip_address("127.0.0.1")      # the frames are IPv4; loopback stands in
    return address.packed, int(port)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _Flow:
    """One TCP connection's frames."""

    def __init__(self, client: str, server: str) -> None:
        self.ends = {True: _endpoint(client), False: _endpoint(server)}
        self.seq = {True: 10_000, False: 900_000}
        self.frames: list[tuple[float, bytes]] = []
        self.ident = 0

    def packet(self, time: float, from_client: bool, flags: int, payload: bytes = b"") -> None:
        (saddr, sport), (daddr, dport) = self.ends[from_client], self.ends[not from_client]
        ack = self.seq[not from_client] if flags & _ACK else 0
        tcp = struct.pack("!HHIIBBHHH", sport, dport, self.seq[from_client], ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = saddr + daddr + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
        self.ident = (self.ident + 1) & 0xFFFF
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), self.ident, 0x4000, 64, 6, 0,
                         saddr, daddr)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        macs = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" if from_client else \
            b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
        self.frames.append((time, macs + b"\x08\x00" + ip + tcp + payload))
        self.seq[from_client] = (self.seq[from_client] + len(payload) + (1 if flags & (_SYN | _FIN) else 0)) \
            & 0xFFFFFFFF


def connection_frames(client: str, server: str, records: Iterable[WireRecord], *, closed: bool = True
                      ) -> list[tuple[float, bytes]]:
    records = list(records)
    if not records:
        return []
    flow = _Flow(client, server)
    start = records[0].time - 0.0005
    flow.packet(start, True, _SYN)
    flow.packet(start, False, _SYN | _ACK)
    flow.packet(start, True, _ACK)
    for record in records:
        for offset in range(0, len(record.data), MSS):
            flow.packet(record.time, record.from_client, _PSH | _ACK, record.data[offset:offset + MSS])
    if closed:
        end = records[-1].time + 0.0005
        flow.packet(end, True, _FIN | _ACK)
        flow.packet(end, False, _FIN | _ACK)
        flow.packet(end, True, _ACK)
    return flow.frames


def write_run_pcapng(path, connections: Iterable[tuple[str, str, list[WireRecord]]], keylog_lines: Iterable[str]
                     ) -> int:
    """Write every connection (client endpoint, server endpoint, records) into one pcapng, frames in time
    order, with the key log lines in a Decryption Secrets Block. Returns the number of frames."""
    frames: list[tuple[float, bytes]] = []
    for client, server, records in connections:
        frames.extend(connection_frames(client, server, records))
    frames.sort(key=lambda frame: frame[0])
    lines = []
    for line in keylog_lines:
        line = line.rstrip("\n")
        if line and line not in lines:
            lines.append(line)
    write_pcapng(path, frames, keylog="".join(f"{line}\n" for line in lines) or None)
    return len(frames)
