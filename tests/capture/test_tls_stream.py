"""Which TCP connections are TLS, and which side is the client: decided from the bytes, on any port."""
from scapy.all import IP, TCP, Ether, raw

from workbench.capture import replay
from workbench.capture.pcap_io import write_pcap
from workbench.capture.synthetic import write_tls13_capture


def _conversation(payloads, sport=40000, dport=8080, syn=True, start=0.0):
    """(time, frame) pairs: optional handshake, then (from_client, bytes) payloads in order."""
    seq = {True: 1000, False: 9000}
    frames = []
    t = start

    def add(from_client, flags, payload=b""):
        nonlocal t
        t += 0.001
        src, dst = ("10.0.0.1", "10.0.0.2") if from_client else ("10.0.0.2", "10.0.0.1")
        sp, dp = (sport, dport) if from_client else (dport, sport)
        pkt = Ether() / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq[from_client],
                                                     ack=seq[not from_client]) / payload
        seq[from_client] += len(payload) + (1 if "S" in flags or "F" in flags else 0)
        frames.append((t, raw(pkt)))

    if syn:
        add(True, "S")
        add(False, "SA")
    for from_client, payload in payloads:
        add(from_client, "PA", payload)
    return frames


def _handshake_record(msg_type: int, body: bytes, version: bytes = b"\x03\x03") -> bytes:
    msg = bytes([msg_type]) + len(body).to_bytes(3, "big") + body
    return b"\x16" + version + len(msg).to_bytes(2, "big") + msg


CH = _handshake_record(1, b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x00\x2f" + b"\x01\x00", b"\x03\x01")
SH = _handshake_record(2, b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x2f" + b"\x00")


def test_non_tls_connections_are_ignored_and_tls_on_any_port_found(tmp_path):
    http = _conversation([(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (False, b"HTTP/1.1 200 OK\r\n\r\n")],
                         sport=40001, dport=443)
    tls = _conversation([(True, CH), (False, SH)], sport=40002, dport=8080, start=1.0)
    ssh = _conversation([(False, b"SSH-2.0-x\r\n"), (True, CH)], sport=40003, dport=22, start=2.0)
    path = tmp_path / "mixed.pcap"
    write_pcap(path, http + tls + ssh)
    r = replay(str(path))
    records = list(r)
    assert [(rec.src, rec.handshake) for rec in records] == [("10.0.0.1:40002", [1]), ("10.0.0.2:8080", [2])]
    assert list(r.connections) == [1]
    assert r.connections[1].client == "10.0.0.1:40002" and r.connections[1].server == "10.0.0.2:8080"


def test_mid_connection_capture_without_syn(tmp_path):
    # the server's records only (like a capture started late): the side on the lower port is the server
    flight = bytes.fromhex("1603030004") + bytes.fromhex("0e000000") + bytes.fromhex("140303000101")
    frames = _conversation([(False, flight)], sport=50000, dport=443, syn=False)
    path = tmp_path / "late.pcap"
    write_pcap(path, frames)
    records = list(replay(str(path)))
    assert [(rec.direction, rec.outer_type, rec.handshake) for rec in records] == [("server", 22, [14]),
                                                                                   ("server", 20, [])]


def test_client_found_by_its_client_hello_even_when_the_server_sent_the_syn(tmp_path):
    frames = _conversation([(False, CH), (True, SH)], sport=443, dport=40000)
    path = tmp_path / "odd.pcap"
    write_pcap(path, frames)
    records = list(replay(str(path)))
    assert [(rec.direction, rec.handshake) for rec in records] == [("client", [1]), ("server", [2])]


def test_progress_bar_does_not_change_the_records(tmp_path, capsys):
    path = str(tmp_path / "s.pcap")
    keys = write_tls13_capture(path, records=50)
    plain = [(rec.frame, rec.decrypted) for rec in replay(path, keys)]
    assert [(rec.frame, rec.decrypted) for rec in replay(path, keys, progress=True)] == plain
    assert "s.pcap" in capsys.readouterr().err
