"""Just enough capture reading for codec tests: the TCP payload of each direction of the first
connection to a port, from a pcap/pcapng made on loopback (BSD null link type) or Ethernet.

The real capture layer lives in workbench/capture; this stays independent of it on purpose,
so codec tests do not depend on it. Segments are ordered by sequence number and duplicates
dropped, which is all a loopback capture needs.
"""
from __future__ import annotations

from pathlib import Path

from scapy.utils import RawPcapReader
from tests.shared import CAPTURES as SHARED_CAPTURES

CAPTURES = SHARED_CAPTURES

_LINKTYPE_NULL = 0
_LINKTYPE_ETHERNET = 1
_TCP = 6


def _ip_payload(frame: bytes, linktype: int) -> bytes | None:
    if linktype == _LINKTYPE_NULL:
        return frame[4:]
    if linktype == _LINKTYPE_ETHERNET:
        return frame[14:] if frame[12:14] in (b"\x08\x00", b"\x86\xdd") else None
    raise ValueError(f"link type {linktype} not handled here")


def _tcp_segment(packet: bytes):
    """(src, dst, sport, dport, seq, payload) or None for anything but TCP without IPv6 extension headers."""
    version = packet[0] >> 4
    if version == 4:
        header_len = (packet[0] & 0x0F) * 4
        if packet[9] != _TCP:
            return None
        total = int.from_bytes(packet[2:4], "big")
        src, dst, tcp = packet[12:16], packet[16:20], packet[header_len:total]
    elif version == 6:
        if packet[6] != _TCP:
            return None
        total = 40 + int.from_bytes(packet[4:6], "big")
        src, dst, tcp = packet[8:24], packet[24:40], packet[40:total]
    else:
        return None
    sport, dport = int.from_bytes(tcp[0:2], "big"), int.from_bytes(tcp[2:4], "big")
    seq = int.from_bytes(tcp[4:8], "big")
    data_offset = (tcp[12] >> 4) * 4
    return src, dst, sport, dport, seq, tcp[data_offset:]


def tcp_streams(path: Path, server_port: int) -> tuple[bytes, bytes]:
    """(client-to-server bytes, server-to-client bytes) of the first connection to `server_port`."""
    segments: dict[str, dict[int, bytes]] = {"c2s": {}, "s2c": {}}
    endpoints = None
    reader = RawPcapReader(str(path))
    try:
        for frame, meta in reader:
            linktype = getattr(meta, "linktype", None)
            if linktype is None:
                linktype = reader.linktype
            ip = _ip_payload(frame, linktype)
            segment = ip and _tcp_segment(ip)
            if not segment:
                continue
            src, dst, sport, dport, seq, payload = segment
            if server_port not in (sport, dport):
                continue
            client = (src, sport) if dport == server_port else (dst, dport)
            if endpoints is None:
                endpoints = client
            elif client != endpoints:
                continue    # a later connection
            if payload:
                direction = "c2s" if dport == server_port else "s2c"
                segments[direction].setdefault(seq, payload)
    finally:
        reader.close()
    return tuple(_in_order(segments[d]) for d in ("c2s", "s2c"))


def _in_order(by_seq: dict[int, bytes]) -> bytes:
    out = bytearray()
    next_seq = None
    for seq in sorted(by_seq):
        payload = by_seq[seq]
        if next_seq is not None and seq < next_seq:     # retransmission overlapping what we have
            payload = payload[next_seq - seq:]
        out += payload
        next_seq = seq + len(by_seq[seq]) if next_seq is None else max(next_seq, seq + len(by_seq[seq]))
    return bytes(out)
