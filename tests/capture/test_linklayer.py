import struct

import pytest
from scapy.all import IP, TCP, UDP, CookedLinux, CookedLinuxV2, Dot1Q, Ether, IPv6, IPv6ExtHdrHopByHop, raw

from workbench.capture.linklayer import NotTCP, endpoint_text, parse_segment

PAYLOAD = b"\x16\x03\x01\x00\x05hello"


def _tcp4(payload=PAYLOAD, **kw):
    return IP(src="10.0.0.1", dst="10.0.0.2", **kw) / TCP(sport=1234, dport=443, seq=77, flags="PA") / payload


def _tcp6(payload=PAYLOAD):
    return IPv6(src="::1", dst="fe80::2") / TCP(sport=1234, dport=443, seq=77, flags="PA") / payload


def _check(seg, v6=False):
    assert seg is not None
    assert (seg.sport, seg.dport, seg.seq, seg.payload, seg.missing) == (1234, 443, 77, PAYLOAD, 0)
    assert seg.flags & 0x18 == 0x18
    assert len(seg.src) == (16 if v6 else 4)


@pytest.mark.parametrize("frame, linktype, v6", [
    (Ether() / _tcp4(), 1, False),
    (Ether() / _tcp6(), 1, True),
    (Ether() / Dot1Q(vlan=5) / Dot1Q(vlan=6) / _tcp4(), 1, False),
    (CookedLinux() / _tcp4(), 113, False),
    (CookedLinuxV2(proto=0x86DD) / _tcp6(), 276, True),
    (_tcp4(), 101, False),
    (_tcp6(), 101, True),
    (_tcp4(), 228, False),
    (_tcp6(), 229, True),
    (IPv6(src="::1", dst="::2") / IPv6ExtHdrHopByHop() / TCP(sport=1234, dport=443, seq=77, flags="PA") / PAYLOAD,
     101, True),
])
def test_link_layers(frame, linktype, v6):
    _check(parse_segment(linktype, raw(frame)), v6)


@pytest.mark.parametrize("family, endian, v6", [(2, "<", False), (2, ">", False), (24, "<", True), (30, "<", True),
                                                (10, ">", True)])
def test_bsd_loopback_both_byte_orders(family, endian, v6):
    ip = _tcp6() if v6 else _tcp4()
    _check(parse_segment(0, struct.pack(endian + "I", family) + raw(ip)), v6)
    if endian == ">":
        _check(parse_segment(108, struct.pack(">I", family) + raw(ip)), v6)


def test_ethernet_padding_is_not_payload():
    frame = raw(Ether() / _tcp4(payload=b"")) + b"\x00" * 6
    seg = parse_segment(1, frame)
    assert seg.payload == b"" and seg.missing == 0


def test_snaplen_cut_payload_counts_the_missing_bytes():
    frame = raw(Ether() / _tcp4())
    seg = parse_segment(1, frame[:-4])
    assert seg.payload == PAYLOAD[:-4] and seg.missing == 4


def test_not_tcp_and_fragments():
    assert parse_segment(1, raw(Ether() / IP() / UDP() / b"x")) is None
    with pytest.raises(NotTCP):
        parse_segment(1, raw(Ether() / _tcp4(flags="MF")))
    with pytest.raises(NotTCP):
        parse_segment(147, b"\x00" * 40)
    with pytest.raises(NotTCP):
        parse_segment(1, raw(Ether() / _tcp4())[:30])


def test_endpoint_text():
    assert endpoint_text(bytes([10, 0, 0, 1]), 443) == "10.0.0.1:443"
    assert endpoint_text(bytes(15) + b"\x01", 9000) == "[::1]:9000"
