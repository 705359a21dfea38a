"""The loopback sniffer: each packet once (scapy's default socket sees loopback packets twice), nothing cut
short, only the ports asked for (with the kernel filter, and without one), and the permission check. That it
keeps every packet dumpcap keeps, full 64 KiB segments included, is in test_live.py."""
from __future__ import annotations

import socket
import threading

import pytest

from workbench.capture import sniffer as sniffer_module
from workbench.capture.linklayer import TCP_SYN, parse_segment
from workbench.capture.sniffer import LoopbackSniffer, capture_permission, port_filter
from workbench.capture.tcp_reassembly import StreamReassembler

ALLOWED, WHY = capture_permission()
needs_capture = pytest.mark.skipif(not ALLOWED, reason=f"live capture needs root or CAP_NET_RAW: {WHY}")


def test_port_filters():
    assert port_filter(None) == "tcp"
    assert port_filter([443]) == "tcp and (port 443)"
    assert port_filter([8443, 443, 443]) == "tcp and (port 443 or port 8443)"


def test_the_permission_check_gives_its_reason():
    allowed, why = capture_permission()
    assert isinstance(allowed, bool) and why
    if allowed:
        assert why in ("running as root", "the process has CAP_NET_RAW", "the process may open packet sockets")
    else:
        assert "CAP_NET_RAW" in why or "AF_PACKET" in why or "packet socket" in why


def _servers(count: int):
    """Listening sockets on 127.0.0.1 and their ports."""
    servers = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    return servers, [s.getsockname()[1] for s in servers]


def _talk(server, port: int, big: int) -> None:
    """One plain TCP connection: the client sends `big` bytes and gets 'ok' back."""
    def serve():
        conn, _ = server.accept()
        with conn:
            got = 0
            while got < big:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
            conn.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"x" * big)
        assert client.recv(2) == b"ok"
    thread.join(10)


def _streams(frames):
    """Payload bytes per (sport, dport), reassembled (loopback TCP retransmits now and then), and the
    segments' flags."""
    streams, reassemblers, flags = {}, {}, []
    for _time, linktype, data in frames:
        seg = parse_segment(linktype, data)
        assert seg.missing == 0                          # nothing cut short
        flags.append(seg.flags)
        key = (seg.sport, seg.dport)
        stream = reassemblers.setdefault(key, StreamReassembler())
        if seg.flags & TCP_SYN:
            stream.syn(seg.seq)
            continue
        for piece in stream.add(seg.seq, seg.payload):
            streams.setdefault(key, bytearray()).extend(piece)
    return streams, flags


@pytest.mark.capture
@needs_capture
@pytest.mark.parametrize("kernel_filter", [True, False], ids=["bpf", "python"])
def test_each_packet_once_whole_and_only_the_port_asked_for(kernel_filter, monkeypatch):
    if not kernel_filter:
        monkeypatch.setattr(sniffer_module, "_attach_filter", lambda *args: False)   # as without libpcap
    servers, (wanted, other) = _servers(2)
    frames = []
    sniffer = LoopbackSniffer(lambda *packet: frames.append(packet), ports=[wanted]).start()
    try:
        assert sniffer.kernel_filter is kernel_filter
        _talk(servers[1], other, 1000)
        _talk(servers[0], wanted, 300_000)
    finally:
        sniffer.stop()
        for s in servers:
            s.close()
    assert not sniffer.running and sniffer.exception is None
    streams, flags = _streams(frames)
    assert {p for pair in streams for p in pair} >= {wanted} and other not in {p for pair in streams for p in pair}
    client_to_server = next(data for (sport, dport), data in streams.items() if dport == wanted)
    assert bytes(client_to_server) == b"x" * 300_000
    # no packet twice: two real packets always differ (IP id, acknowledgement, TCP timestamps)
    assert len({data for _t, _l, data in frames}) == len(frames)
    assert sum(1 for f in flags if f & TCP_SYN) == 2        # SYN and SYN/ACK
    assert sniffer.packets == len(frames)


@pytest.mark.capture
@needs_capture
def test_a_sniffer_is_started_once():
    sniffer = LoopbackSniffer(lambda *packet: None, ports=[9]).start()
    try:
        with pytest.raises(RuntimeError):
            sniffer.start()
    finally:
        sniffer.stop()
    sniffer.stop()                                         # stopping twice is harmless
