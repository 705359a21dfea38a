"""The in-process tap: chunks of our own transports become TCP/IP packets (handshake, sequence numbers,
checksums), go through the same decode pipeline and pcapng writer as sniffed packets, and tshark reads the
result decrypted from its Decryption Secrets Block alone. Needs no privilege."""
from __future__ import annotations

import itertools
import threading

import pytest

from workbench.capture import read_secrets, replay
from workbench.capture.capture_file import save_capture
from workbench.capture.linklayer import TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, parse_segment
from workbench.capture.live import LiveCapture
from workbench.capture.tap_packets import TapPacketizer, frames_from_chunks, internet_checksum, parse_endpoint
from workbench.tls import ClientConfig, ServerConfig
from workbench.tls.enums import KeyUpdateType
from workbench.transport.blocking import connect, listen, serve_one
from workbench.transport.inprocess import InProcessPair
from workbench.transport.tap import RecordingTap

from .compare import differences
from .conftest import requires_tshark
from .tshark_oracle import our_view, tshark_view

CLIENT, SERVER = "127.0.0.1:50000", "127.0.0.1:443"


# -- the packetizer ---------------------------------------------------------------------------------------

def test_a_connection_opens_carries_bytes_in_order_and_closes():
    p = TapPacketizer(mss=100, seed=1)
    frames = p.chunk(10.0, CLIENT, SERVER, b"a" * 250)
    frames += p.chunk(10.5, SERVER, CLIENT, b"reply")
    frames += p.close(CLIENT, SERVER, 11.0)
    segs = [parse_segment(f.linktype, f.data) for f in frames]
    flags = [s.flags for s in segs]
    assert flags[:3] == [TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK]
    assert flags[3:6] == [TCP_PSH | TCP_ACK] * 3 and [len(s.payload) for s in segs[3:6]] == [100, 100, 50]
    assert flags[6] == TCP_ACK and flags[-3:] == [TCP_FIN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_ACK]
    client_isn, server_isn = segs[0].seq, segs[1].seq
    assert [s.seq for s in segs[3:6]] == [client_isn + 1, client_isn + 101, client_isn + 201]
    reply = segs[7]
    assert reply.payload == b"reply" and reply.seq == server_isn + 1 and reply.sport == 443
    assert [f.time for f in frames[:7]] == [10.0] * 7 and frames[-1].time == 11.0
    assert p.open_connections == []


def _acknowledgement(frame) -> int:
    return int.from_bytes(frame.data[14 + 20 + 8:14 + 20 + 12], "big")


def test_acknowledgements_follow_the_other_direction():
    p = TapPacketizer(seed=2)
    frames = p.chunk(1.0, CLIENT, SERVER, b"x" * 10) + p.chunk(2.0, SERVER, CLIENT, b"y" * 7)
    syn, syn_ack = (parse_segment(f.linktype, f.data) for f in frames[:2])
    client_data, server_ack = frames[3], frames[4]
    assert _acknowledgement(client_data) == syn_ack.seq + 1
    assert _acknowledgement(server_ack) == syn.seq + 1 + 10
    assert _acknowledgement(frames[-1]) == syn_ack.seq + 1 + 7


@pytest.mark.parametrize("client,server", [(CLIENT, SERVER), ("[::1]:50000", "[::1]:8443")])
def test_checksums_are_what_scapy_computes(client, server):
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    frames = TapPacketizer(seed=3).chunk(1.0, client, server, bytes(range(256)) * 3 + b"odd")
    assert frames
    for frame in frames:
        packet = Ether(frame.data)
        network = packet[IP] if IP in packet else packet[IPv6]
        sent = (packet[TCP].chksum, getattr(network, "chksum", None))
        del packet[TCP].chksum
        if IP in packet:
            del packet[IP].chksum
        rebuilt = Ether(bytes(packet))
        assert (rebuilt[TCP].chksum, getattr(rebuilt[IP] if IP in rebuilt else rebuilt[IPv6], "chksum", None)) \
            == sent


def test_internet_checksum_of_rfc1071_example():
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == (~0xDDF2) & 0xFFFF


def test_two_reporters_of_one_connection_are_recorded_once():
    """Both ends tapped in one process: the client's copy is kept, the server's copies are dropped."""
    p = TapPacketizer(seed=4)
    client_tap, server_tap = object(), object()
    frames = p.chunk(1.0, CLIENT, SERVER, b"hello", reporter=client_tap)
    assert p.chunk(1.0, CLIENT, SERVER, b"hello", reporter=server_tap) == []      # received by the server
    assert p.chunk(2.0, SERVER, CLIENT, b"hi", reporter=server_tap) == []         # sent by the server
    frames += p.chunk(2.0, SERVER, CLIENT, b"hi", reporter=client_tap)
    payloads = [parse_segment(f.linktype, f.data).payload for f in frames]
    assert [x for x in payloads if x] == [b"hello", b"hi"]


def test_a_closed_pair_of_endpoints_starts_a_new_connection():
    p = TapPacketizer(seed=5)
    first = p.chunk(1.0, CLIENT, SERVER, b"one") + p.close(CLIENT, SERVER, 2.0)
    second = p.chunk(3.0, CLIENT, SERVER, b"two")
    isn = [parse_segment(f.linktype, f.data).seq for f in (first[0], second[0])]
    assert parse_segment(second[0].linktype, second[0].data).flags == TCP_SYN and isn[0] != isn[1]


@pytest.mark.parametrize("bad", ["localhost:443", "127.0.0.1", "127.0.0.1:99999", "[::1]"])
def test_endpoints_must_be_ip_and_port(bad):
    with pytest.raises(ValueError):
        parse_endpoint(bad)


def test_mixed_ip_versions_are_refused():
    with pytest.raises(ValueError):
        TapPacketizer().chunk(1.0, CLIENT, "[::1]:443", b"x")


# -- our transports through the tap ------------------------------------------------------------------------

def _blocking_session(capture, client_config, server_config, *, messages=(b"ping", b"pong")):
    """Our blocking client and server on 127.0.0.1, each end with its own tap of `capture`."""
    listener = listen()
    port = listener.getsockname()[1]
    received = []

    def serve():
        with serve_one(listener, server_config, tap=capture.new_tap(), on_event=capture.on_event) as tls:
            received.append(tls.recv(100))
            tls.send(messages[1])

    server = threading.Thread(target=serve)
    server.start()
    try:
        with connect("127.0.0.1", port, client_config, tap=capture.tap, on_event=capture.on_event) as tls:
            tls.send(messages[0])
            assert tls.recv(100) == messages[1]
    finally:
        server.join(10)
        listener.close()
    assert received == [messages[0]]
    return port


def test_tap_capture_of_our_transports_decodes_live_once_per_record(client_config, server_config):
    with LiveCapture(method="tap") as capture:
        assert capture.method == "tap" and "asked for" in capture.reason
        _blocking_session(capture, client_config, server_config)
    records = capture.records
    assert [r.handshake for r in records if r.handshake][:2] == [[1], [2]]     # each record once, not twice
    assert sum(1 for r in records if 1 in r.handshake) == 1
    assert all(r.decrypted for r in records if r.protected)
    payloads = [(r.direction, r.plaintext) for r in records if r.inner_type == 23]
    assert payloads == [("client", b"ping"), ("server", b"pong")]
    assert capture.connections[0].version == 0x0304
    capture.close()


def test_tap_records_only_the_ports_asked_for(client_config, server_config):
    with LiveCapture(1, method="tap") as capture:
        _blocking_session(capture, client_config, server_config)
    assert capture.frames == 0 and capture.records == []
    capture.close()


@requires_tshark
def test_saved_tap_capture_is_decrypted_by_tshark_from_its_secrets_block(client_config, server_config, tmp_path):
    with LiveCapture(method="tap") as capture:
        port = _blocking_session(capture, client_config, server_config)
    saved = capture.save("tapped", directory=tmp_path)
    capture.close()
    assert saved.capture == tmp_path / "tapped.pcapng" and saved.secrets >= 5
    assert len(read_secrets(saved.capture)) == 1
    theirs = tshark_view(str(saved.capture), decode_as_port=port)
    records = list(replay(saved.capture))
    assert any(any(v.decrypted) for v in theirs.values())
    assert differences(theirs, our_view(records)) == []
    assert differences(theirs, our_view(capture.records)) == []


def _wired_pair(capture, client_config, server_config):
    """An InProcessPair whose records go to the capture's tap and whose secrets go to its key log as they are
    derived (the pair keeps its events in its history; they are handed over after every call and step)."""
    clock = itertools.count(1_700_000_000.0, 0.001).__next__
    pair = InProcessPair(client_config, server_config, tap=capture.tap, clock=clock)
    seen = [0]

    def hand_over():
        history = pair.history
        for entry in history[seen[0]:]:
            for event in entry.client_events + entry.server_events:
                capture.on_event(event)
        seen[0] = len(history)

    def call(side, method, *args):
        getattr(pair, method)(side, *args) if method in ("send", "close") else pair.call(side, method, *args)
        hand_over()
        while pair.step() is not None:
            hand_over()

    pair.start_handshake()
    hand_over()
    while pair.step() is not None:
        hand_over()
    return pair, call


@requires_tshark
def test_engine_key_updates_and_padding_through_the_tap_agree_with_tshark(test_ca, localhost_identity, tmp_path):
    client_config = ClientConfig(server_name="localhost", trust_anchors=(test_ca.certificate,), padding=100)
    server_config = ServerConfig(certificate_chain=localhost_identity.certificate_chain,
                                 private_key=localhost_identity.private_key)
    with LiveCapture(method="tap") as capture:
        _pair, call = _wired_pair(capture, client_config, server_config)
        call("client", "send", b"before")
        call("client", "key_update", KeyUpdateType.REQUESTED)
        call("server", "send", b"after the server's update")
        call("server", "key_update", KeyUpdateType.NOT_REQUESTED)
        call("server", "send", b"again")
        call("client", "send", b"client again")
        call("client", "close")
    saved = capture.save("engine", directory=tmp_path)
    capture.close()
    records = list(replay(saved.capture))
    assert differences(tshark_view(str(saved.capture), decode_as_port=443), our_view(records)) == []
    assert differences(tshark_view(str(saved.capture), decode_as_port=443), our_view(capture.records)) == []
    updates = [(u.direction, u.request_update, u.generation) for u in capture.connections[0].key_updates]
    assert updates == [("client", True, 1), ("server", False, 1), ("server", False, 2)]
    client_app = [r for r in records if r.direction == "client" and r.inner_type == 23]
    assert client_app and all(r.length - 16 - 1 - r.plaintext_length == 100 for r in client_app)


@requires_tshark
def test_engine_tls12_renegotiation_both_ways_through_the_tap(test_ca, localhost_identity, tmp_path):
    client_config = ClientConfig(server_name="localhost", trust_anchors=(test_ca.certificate,), versions=(0x0303,))
    server_config = ServerConfig(certificate_chain=localhost_identity.certificate_chain,
                                 private_key=localhost_identity.private_key, versions=(0x0303,),
                                 allow_client_renegotiation=True)
    with LiveCapture(method="tap") as capture:
        _pair, call = _wired_pair(capture, client_config, server_config)
        call("client", "send", b"before")
        call("client", "renegotiate")
        call("client", "send", b"after the client's")
        call("server", "renegotiate")
        call("server", "send", b"after the server's")
    saved = capture.save("engine12", directory=tmp_path)
    capture.close()
    records = list(replay(saved.capture))
    assert differences(tshark_view(str(saved.capture), decode_as_port=443), our_view(records)) == []
    renegotiations = [(x.initiator, x.outcome) for x in capture.connections[0].renegotiations]
    assert renegotiations == [("client", "completed"), ("server", "completed")]
    assert all(r.decrypted for r in records if r.protected)
    assert [r.plaintext for r in records if r.inner_type == 23] == [
        b"before", b"after the client's", b"after the server's"]


def test_recorded_chunks_become_a_capture_that_replays_the_same(client_config, server_config, tmp_path):
    """A RecordingTap's chunks (no LiveCapture) -> frames -> pcapng -> the records the live capture saw."""
    recording = RecordingTap()
    with LiveCapture(method="tap") as capture:
        listener = listen()
        port = listener.getsockname()[1]

        def serve():
            with serve_one(listener, server_config) as tls:
                tls.send(tls.recv(100))

        thread = threading.Thread(target=serve)
        thread.start()

        def both(*chunk):
            recording(*chunk)
            capture.tap(*chunk)

        with connect("127.0.0.1", port, client_config, tap=both, on_event=capture.on_event) as tls:
            tls.send(b"echo me")
            assert tls.recv(100) == b"echo me"
        thread.join(10)
        listener.close()
    frames = frames_from_chunks(recording.chunks, seed=9)
    saved = save_capture(frames, capture.keylog.to_text(), name="chunks", directory=tmp_path)
    capture.close()

    def signature(records):
        return [(r.direction, r.outer_type, r.inner_type, r.handshake, r.decrypted, r.plaintext) for r in records]

    assert signature(replay(saved.capture)) == signature(capture.records)
    assert saved.packets == len(frames)
