"""Test helper: rewrite a capture's TCP payloads into tiny segments (1-7 bytes), shuffled within each burst of
one direction, some sent twice or overlapping their neighbours, and write it with scapy as pcap.

A decoder must decode the result exactly as the original (same records, types, decryption), since the byte
streams are the same; only the frame numbers change.
"""
from __future__ import annotations

import random

from scapy.all import IP, TCP, IPv6, Raw, RawPcapWriter, conf, raw

from workbench.capture.pcap_io import read_packets


def _dissect(linktype: int, data: bytes):
    """scapy packet for a frame. BSD loopback headers are kept as raw bytes: scapy's Loopback layer does not
    know every platform's AF_INET6 value (Windows writes 24)."""
    if linktype in (0, 108):
        return Raw(data[:4]) / (IP if data[4] >> 4 == 4 else IPv6)(data[4:])
    return conf.l2types.num2layer[linktype](data)


def _tcp_and_ip(pkt):
    tcp = pkt.getlayer(TCP)
    ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
    return tcp, ip


def _resized(pkt, seq: int, payload: bytes) -> bytes:
    """The bytes of pkt with another TCP seq and payload, lengths and checksums recomputed by scapy.
    (pkt is changed in place: cheaper than copying a layered packet for every tiny segment.)"""
    tcp, ip = _tcp_and_ip(pkt)
    tcp.seq = seq
    tcp.remove_payload()
    if payload:
        tcp.add_payload(Raw(payload))
    del tcp.chksum
    if isinstance(ip, IP):
        del ip.len
        del ip.chksum
    else:
        del ip.plen
    return raw(pkt)


def rewrite_capture(src: str, dst: str, *, seed: int = 1, min_size: int = 1, max_size: int = 7,
                    shuffle_window: int = 6, duplicate_rate: float = 0.1, overlap_rate: float = 0.1) -> int:
    """Rewrite `src` into `dst` (pcap); returns the number of packets written."""
    rng = random.Random(seed)
    linktype = None
    out = []
    burst: list = []           # segments of the current run of packets in one direction
    burst_key = None
    started: set = set()       # directions whose first data segment was written (no-SYN captures keep it first)

    def flush():
        if not burst:
            return
        # shuffle inside small windows: segments arrive out of order, never before the burst began
        items = burst[:]
        for start in range(0, len(items), shuffle_window):
            window = items[start:start + shuffle_window]
            rng.shuffle(window)
            items[start:start + shuffle_window] = window
        out.extend(items)
        burst.clear()

    start_usec = None
    for packet in read_packets(src):
        if linktype is None:
            linktype = packet.linktype
            start_usec = int(packet.time * 1e6)
        pkt = _dissect(packet.linktype, packet.data)
        tcp, ip = _tcp_and_ip(pkt)
        payload = bytes(tcp.payload) if tcp is not None else b""
        if tcp is None or not payload:
            flush()
            burst_key = None
            out.append(packet.data)
            continue
        key = (ip.src, tcp.sport, ip.dst, tcp.dport)
        if key != burst_key:
            flush()
            burst_key = key
        pieces = []
        pos = 0
        while pos < len(payload):
            n = rng.randint(min_size, max_size)
            pieces.append((tcp.seq + pos, payload[pos:pos + n]))
            pos += n
        segments = []
        for i, (seq, chunk) in enumerate(pieces):
            seg = _resized(pkt, seq, chunk)
            segments.append(seg)
            if rng.random() < duplicate_rate:
                segments.append(_resized(pkt, seq, chunk))             # a retransmission
            if i + 1 < len(pieces) and rng.random() < overlap_rate:
                nxt = pieces[i + 1][1]
                # an overlapping retransmission: the end of this piece and the start of the next
                segments.append(_resized(pkt, seq + len(chunk) // 2, chunk[len(chunk) // 2:] + nxt[:2]))
        if key not in started:
            started.add(key)
            out.append(segments.pop(0))       # the stream's first bytes stay first (matters without a SYN)
        burst.extend(segments)
    flush()
    writer = RawPcapWriter(dst, sync=False)
    writer.linktype = linktype        # scapy treats linktype=0 (BSD loopback) as "not given"
    writer.write_header(None)
    try:
        for i, data in enumerate(out):
            usec = start_usec + i
            writer.write_packet(data, sec=usec // 1_000_000, usec=usec % 1_000_000)
    finally:
        writer.close()
    return len(out)


