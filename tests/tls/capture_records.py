"""Just enough capture reading for crypto tests: TCP payloads of a pcap/pcapng, records, handshake
messages, key log.

Deliberately minimal (loopback captures of one host, no IP fragments): the real reader lives in
workbench/capture. Segments are placed by TCP sequence number, so a retransmission is harmless.
"""
from __future__ import annotations

from pathlib import Path

from cryptography import x509
from scapy.utils import RawPcapNgReader, RawPcapReader

from workbench.tls.record import Record
from tests.shared import CAPTURES as SHARED_CAPTURES

CAPTURES = SHARED_CAPTURES

_LINK_HEADER = {0: 4, 1: 14, 113: 16, 276: 20}      # null/loopback, Ethernet, Linux SLL, SLL2


def _tcp_segment(frame: bytes, linktype: int):
    ip = frame[_LINK_HEADER[linktype]:]
    if ip[0] >> 4 == 6:
        if ip[6] != 6:
            return None
        tcp = ip[40:40 + int.from_bytes(ip[4:6], "big")]
    else:
        if ip[9] != 6:
            return None
        tcp = ip[(ip[0] & 0x0F) * 4:int.from_bytes(ip[2:4], "big")]
    src, dst = int.from_bytes(tcp[0:2], "big"), int.from_bytes(tcp[2:4], "big")
    seq = int.from_bytes(tcp[4:8], "big")
    return (src, dst), seq, tcp[(tcp[12] >> 4) * 4:]


def tcp_streams(path: Path) -> dict[tuple[int, int], bytes]:
    """(source port, destination port) -> the bytes sent that way, in sequence order."""
    if path.suffix == ".pcapng":
        reader, fixed_linktype = RawPcapNgReader(str(path)), None
    else:
        reader = RawPcapReader(str(path))
        fixed_linktype = reader.linktype
    segments: dict[tuple[int, int], dict[int, bytes]] = {}
    with reader:
        for frame, meta in reader:
            linktype = fixed_linktype if fixed_linktype is not None else meta.linktype
            parsed = _tcp_segment(frame, linktype)
            if parsed and parsed[2]:
                direction, seq, payload = parsed
                segments.setdefault(direction, {})[seq] = payload
    return {direction: b"".join(parts[seq] for seq in sorted(parts)) for direction, parts in segments.items()}


def split_records(stream: bytes) -> list[Record]:
    records, pos = [], 0
    while pos < len(stream):
        length = int.from_bytes(stream[pos + 3:pos + 5], "big")
        records.append(Record(stream[pos], int.from_bytes(stream[pos + 1:pos + 3], "big"),
                              stream[pos + 5:pos + 5 + length]))
        pos += 5 + length
    return records


def split_handshake(data: bytes) -> list[bytes]:
    """Raw handshake messages (header included) of concatenated handshake record payloads."""
    messages, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 1:pos + 4], "big")
        messages.append(data[pos:pos + 4 + length])
        pos += 4 + length
    return messages


def read_keylog(path: Path) -> dict[tuple[str, bytes], bytes]:
    """(label, client random) -> secret, from an NSS key log."""
    entries = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            entries[parts[0], bytes.fromhex(parts[1])] = bytes.fromhex(parts[2])
    return entries


def first_certificate_of(certificate_message: bytes) -> x509.Certificate:
    """The leaf of a TLS 1.3 Certificate message:
    header(4) context<1> certificate_list<3> { cert_data<3> extensions<2> }."""
    body = certificate_message[4:]
    pos = 1 + body[0] + 3
    length = int.from_bytes(body[pos:pos + 3], "big")
    return x509.load_der_x509_certificate(body[pos + 3:pos + 3 + length])
