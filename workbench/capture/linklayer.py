"""From a captured frame to a TCP segment: link layers (Ethernet with VLAN tags, Linux cooked SLL/SLL2, BSD
loopback/NULL, raw IP), IPv4 and IPv6 (extension headers skipped), TCP.

Hot path: plain struct/int work, addresses kept as bytes (text only when a connection is first seen).
"""
from __future__ import annotations

import ipaddress
from typing import NamedTuple

from . import pcap_io as _p

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
_BSD_AF_INET6 = (10, 24, 28, 30)       # AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS
_IPV6_EXTENSIONS = (0, 43, 60, 51, 135, 139, 140)   # hop-by-hop, routing, destination, AH, mobility, HIP, shim6
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Segment(NamedTuple):
    src: bytes            # address bytes (4 or 16)
    dst: bytes
    sport: int
    dport: int
    seq: int
    flags: int
    payload: bytes
    missing: int          # payload bytes the IP/TCP headers announce but the capture did not keep (snaplen)


class NotTCP(Exception):
    """Raised for frames we cannot follow: a reason worth a diagnostic (IP fragment, unknown link type)."""


def _network_offset(linktype: int, data: bytes) -> tuple[int, int]:
    """(offset of the IP header, ether type or 0 when the version nibble decides)."""
    if linktype == _p.LINKTYPE_ETHERNET:
        etype = (data[12] << 8) | data[13]
        off = 14
        while etype in (ETH_VLAN, ETH_QINQ):
            etype = (data[off + 2] << 8) | data[off + 3]
            off += 4
        return off, etype
    if linktype in (_p.LINKTYPE_NULL, _p.LINKTYPE_LOOP):
        family = int.from_bytes(data[:4], "big" if linktype == _p.LINKTYPE_LOOP else "little")
        if family > 0xFFFF:                      # written on a host of the other byte order
            family = int.from_bytes(data[:4], "big")
        if family == 2:
            return 4, ETH_IPV4
        if family in _BSD_AF_INET6:
            return 4, ETH_IPV6
        return 4, -1
    if linktype in (_p.LINKTYPE_RAW, _p.LINKTYPE_IPV4, _p.LINKTYPE_IPV6):
        return 0, 0
    if linktype == _p.LINKTYPE_LINUX_SLL:
        return 16, (data[14] << 8) | data[15]
    if linktype == _p.LINKTYPE_LINUX_SLL2:
        return 20, (data[0] << 8) | data[1]
    raise NotTCP(f"link type {linktype} is not supported")


def parse_segment(linktype: int, data: bytes) -> Segment | None:
    """The TCP segment in a frame, None when the frame carries no TCP (ARP, UDP, ...).

    Raises NotTCP for frames that carry TCP we cannot follow (IP fragments, unsupported link type)."""
    try:
        off, etype = _network_offset(linktype, data)
        version = data[off] >> 4
        if etype == ETH_IPV4 or (etype == 0 and version == 4):
            ihl = (data[off] & 0x0F) * 4
            if data[off + 9] != 6:
                return None
            total = (data[off + 2] << 8) | data[off + 3]
            frag = ((data[off + 6] << 8) | data[off + 7])
            if frag & 0x3FFF:                    # MF set or a non-zero fragment offset
                raise NotTCP("IPv4 fragment (IP reassembly is not supported)")
            src = data[off + 12:off + 16]
            dst = data[off + 16:off + 20]
            tcp = off + ihl
            end = off + total if total else len(data)   # total 0: TSO-captured packet, trust the frame
        elif etype == ETH_IPV6 or (etype == 0 and version == 6):
            nxt = data[off + 6]
            plen = (data[off + 4] << 8) | data[off + 5]
            src = data[off + 8:off + 24]
            dst = data[off + 24:off + 40]
            tcp = off + 40
            end = tcp + plen if plen else len(data)
            while nxt != 6:
                if nxt == 44:
                    raise NotTCP("IPv6 fragment (IP reassembly is not supported)")
                if nxt not in _IPV6_EXTENSIONS:
                    return None
                hdr_len = (data[tcp + 1] + 2) * 4 if nxt == 51 else (data[tcp + 1] + 1) * 8
                nxt = data[tcp]
                tcp += hdr_len
        else:
            return None
        sport = (data[tcp] << 8) | data[tcp + 1]
        dport = (data[tcp + 2] << 8) | data[tcp + 3]
        seq = int.from_bytes(data[tcp + 4:tcp + 8], "big")
        doff = (data[tcp + 12] >> 4) * 4
        flags = data[tcp + 13]
    except IndexError:
        raise NotTCP("frame too short for its headers") from None
    start = tcp + doff
    payload = data[start:end]
    claimed = end - start
    return Segment(src, dst, sport, dport, seq, flags, payload, max(0, claimed - len(payload)))


def address_text(addr: bytes) -> str:
    return str(ipaddress.ip_address(addr))


def endpoint_text(addr: bytes, port: int) -> str:
    """ "ip:port", IPv6 in brackets."""
    text = address_text(addr)
    return f"[{text}]:{port}" if len(addr) == 16 else f"{text}:{port}"
