"""LiveCapture: it says which method it uses and why; without CAP_NET_RAW it falls back to the tap and still
decodes our own traffic; with the sniffer, records arrive while the connection is still open, each once; the
sniffer loses nothing dumpcap sees; a failing view does not stop a capture."""
from __future__ import annotations

import ctypes
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.loopback_capture import interrupt
from workbench.capture.capture_file import CAPTURES_ENV
from workbench.capture.live import LiveCapture, choose_method
from workbench.capture.linklayer import parse_segment
from workbench.capture.pcap_io import LINKTYPE_ETHERNET, read_packets
from workbench.capture.sniffer import CapturePermissionError, capture_permission
from workbench.peers import PeerProcess, free_port, missing_reason
from workbench.transport.blocking import connect, listen, serve_one


ALLOWED, WHY = capture_permission()
needs_capture = pytest.mark.skipif(not ALLOWED, reason=f"live capture needs root or CAP_NET_RAW: {WHY}")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_method_and_the_reason_are_stated():
    method, reason = choose_method()
    if ALLOWED:
        assert method == "sniffer" and "AsyncSniffer" in reason
        assert "root" in reason or "CAP_NET_RAW" in reason or "packet sockets" in reason
    else:
        assert method == "tap" and "CAP_NET_RAW" in reason and "tap" in reason
        with pytest.raises(CapturePermissionError):
            choose_method("sniffer")
    assert choose_method("tap")[0] == "tap" and "asked for" in choose_method("tap")[1]
    with pytest.raises(ValueError):
        choose_method("promiscuous")


_UNPRIVILEGED = textwrap.dedent("""
    import json, sys, threading
    from workbench.capture import replay
    from workbench.capture.live import LiveCapture
    from workbench.capture.sniffer import CapturePermissionError
    from workbench.pki import TestCA
    from workbench.tls import ClientConfig, ServerConfig
    from workbench.transport.blocking import connect, listen, serve_one

    out = {}
    try:
        LiveCapture(method="sniffer")
        out["forced"] = "allowed"
    except CapturePermissionError as exc:
        out["forced"] = str(exc)
    ca = TestCA.create()
    identity = ca.issue(hostnames=("localhost",))
    listener = listen()
    port = listener.getsockname()[1]
    capture = LiveCapture(port).start()
    out["method"], out["reason"] = capture.method, capture.reason

    def serve():
        config = ServerConfig(certificate_chain=identity.certificate_chain, private_key=identity.private_key)
        with serve_one(listener, config) as tls:
            tls.send(tls.recv(100).upper())

    thread = threading.Thread(target=serve)
    thread.start()
    config = ClientConfig(server_name="localhost", trust_anchors=(ca.certificate,))
    with connect("127.0.0.1", port, config, tap=capture.tap, on_event=capture.on_event) as tls:
        tls.send(b"quiet please")
        out["echo"] = tls.recv(100).decode()
    thread.join(10)
    capture.stop()
    saved = capture.save("unprivileged", directory=sys.argv[1])
    view = lambda records: [[r.direction, r.content_type, r.handshake, r.decrypted] for r in records]
    out["live"] = view(capture.records)
    out["replayed"] = view(replay(saved.capture))
    out["plaintext"] = [r.plaintext.decode() for r in capture.records if r.inner_type == 23]
    capture.close()
    print(json.dumps(out))
""")


def _drop_cap_net_raw():
    """In the child, before exec: CAP_NET_RAW leaves the bounding set, so even root cannot get it back."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(24, 13, 0, 0, 0) != 0:             # PR_CAPBSET_DROP, CAP_NET_RAW
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_NET_RAW)")


def test_without_cap_net_raw_our_transports_are_recorded_through_the_tap(tmp_path):
    script = tmp_path / "unprivileged.py"
    script.write_text(_UNPRIVILEGED)
    if os.geteuid() == 0:
        preexec = _drop_cap_net_raw
    elif ALLOWED:
        pytest.skip("this process has CAP_NET_RAW without being root: a child cannot be made to lack it")
    else:
        preexec = None
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          timeout=60, preexec_fn=preexec, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["method"] == "tap"
    assert "CAP_NET_RAW" in out["reason"] and "tap" in out["reason"]
    assert "CAP_NET_RAW" in out["forced"]
    assert out["echo"] == "QUIET PLEASE"
    assert out["plaintext"] == ["quiet please", "QUIET PLEASE"]
    assert out["live"] == out["replayed"]
    assert all(decrypted for _d, _t, _h, decrypted in out["live"][2:])


@pytest.mark.capture
@needs_capture
def test_records_arrive_while_the_connection_is_open(client_config, server_config):
    listener = listen()
    port = listener.getsockname()[1]
    release = threading.Event()
    arrived = []
    with LiveCapture(port, method="sniffer", on_record=arrived.append) as capture:
        assert capture.method == "sniffer"
        streamed = []
        consumer = threading.Thread(target=lambda: streamed.extend(capture))   # iterates until the capture ends
        consumer.start()

        def serve():
            with serve_one(listener, server_config, tap=capture.new_tap(), on_event=capture.on_event) as tls:
                tls.send(tls.recv(100))
                release.wait(10)

        server = threading.Thread(target=serve)
        server.start()
        with connect("127.0.0.1", port, client_config, tap=capture.tap, on_event=capture.on_event) as tls:
            assert capture.wait_for(lambda recs: any(r.direction == "client" and 20 in r.handshake and r.decrypted
                                                     for r in recs))
            tls.send(b"ping")
            assert tls.recv(100) == b"ping"
            assert capture.wait_for(lambda recs: any(r.direction == "server" and r.plaintext == b"ping"
                                                     for r in recs))
            assert not [r for r in capture.records if r.content_type == 21]     # nobody closed yet
            release.set()
        server.join(10)
        listener.close()
    consumer.join(10)
    records = capture.records
    assert streamed == records and arrived == records
    assert sum(1 for r in records if 1 in r.handshake) == 1        # the tap stays quiet while sniffing
    assert all(r.decrypted for r in records if r.protected)
    assert {r.content_type for r in records} == {21, 22, 23}
    assert "sniffer" in capture.describe() and f"{capture.frames} packets" in capture.describe()
    capture.close()


@pytest.mark.capture
@needs_capture
@pytest.mark.skipif(missing_reason("dumpcap") is not None, reason=str(missing_reason("dumpcap")))
def test_the_sniffer_sees_every_packet_dumpcap_sees(private_netns, tmp_path):
    """Thousands of small segments and a few MB in one burst: our sniffer keeps the same packets as dumpcap."""
    with private_netns.entered():
        port, warm_up = free_port(), free_port()
    reference = tmp_path / "dumpcap.pcapng"
    dumpcap = PeerProcess(["dumpcap", "-i", "lo", "-B", "64", "-f", f"tcp port {port} or tcp port {warm_up}",
                           "-w", str(reference)], netns=private_netns, lifetime=60)
    dumpcap.start()
    capture = LiveCapture(port, method="sniffer", netns=private_netns, settle=0)
    try:
        _wait_until_dumpcap_captures(dumpcap, private_netns, warm_up)
        capture.start()
        with private_netns.entered():
            server = socket.create_server(("127.0.0.1", port))
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
        peer, _ = server.accept()
        peer.settimeout(10)
        for sock in (client, peer):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        echo = threading.Thread(target=_echo, args=(peer, ROUNDS * 100))
        echo.start()
        for i in range(ROUNDS):                  # one segment each way per round, as fast as Python goes
            client.sendall(i.to_bytes(2, "big") * 50)
            _read_exactly(client, 100)
        echo.join(30)
        returned = threading.Thread(target=_read_exactly, args=(client, 4 << 20))
        returned.start()
        peer.sendall(os.urandom(4 << 20))        # then 4 MiB in 64 KiB segments
        returned.join(30)
        for sock in (client, peer, server):
            sock.close()
        time.sleep(0.3)
    finally:
        capture.stop()
        interrupt(dumpcap)
    assert re.search(r"received/dropped on interface '[^']*': \d+/0 ", dumpcap.output), dumpcap.output
    theirs = [p.data for p in read_packets(reference) if port in _ports(p.data)]
    saved = capture.save("burst", directory=tmp_path)
    ours = [p.data for p in read_packets(saved.capture)]
    capture.close()
    assert len(theirs) > 2 * ROUNDS
    assert max(map(len, theirs)) == 65535 + 14          # full 64 KiB segments, not cut at scapy's 65535 bytes
    assert len(ours) == len(theirs) and ours == theirs


ROUNDS = 3000


def _ports(frame: bytes) -> set[int]:
    seg = parse_segment(LINKTYPE_ETHERNET, frame)
    return {seg.sport, seg.dport}


def _wait_until_dumpcap_captures(dumpcap, netns, port: int, timeout: float = 15.0) -> None:
    """dumpcap says "Capturing on" a moment before it captures: connect to `port` until it counts packets."""
    dumpcap.wait_for_output("Capturing on", timeout=timeout)
    deadline = time.monotonic() + timeout
    with netns.entered():
        server = socket.create_server(("127.0.0.1", port))
    with server:
        while not re.search(r"Packets: [1-9]", dumpcap.output):
            if time.monotonic() > deadline:
                raise AssertionError(f"dumpcap captured nothing in {timeout} s:\n{dumpcap.output}")
            with netns.entered():
                client = socket.create_connection(("127.0.0.1", port), timeout=5)
            peer, _ = server.accept()
            client.close()
            peer.close()
            time.sleep(0.05)


def _read_exactly(sock, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError(f"the stream ended after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def _echo(sock, size: int) -> None:
    done = 0
    while done < size:
        chunk = sock.recv(65536)
        if not chunk:
            return
        sock.sendall(chunk)
        done += len(chunk)


def test_a_failing_view_is_reported_and_the_capture_goes_on(client_config, server_config):
    def broken_view(record):
        raise RuntimeError("view broke")

    with LiveCapture(method="tap", on_record=broken_view) as capture:
        listener = listen()
        port = listener.getsockname()[1]
        server = threading.Thread(target=lambda: serve_one(listener, server_config).close())
        server.start()
        connect("127.0.0.1", port, client_config, tap=capture.tap, on_event=capture.on_event).close()
        server.join(10)
        listener.close()
    assert len(capture.records) >= 4
    failures = [d for d in capture.diagnostics if "view broke" in d.message]
    assert len(failures) == len(capture.records)
    capture.close()


def test_saving_goes_to_the_captures_folder_under_a_fresh_name(monkeypatch, tmp_path):
    monkeypatch.setenv(CAPTURES_ENV, str(tmp_path / "mine"))
    capture = LiveCapture(method="tap").start()
    capture.tap(1.0, "127.0.0.1:40000", "127.0.0.1:443", b"\x16\x03\x01\x00\x04\x01\x00\x00\x00")
    capture.stop()
    first, second = capture.save(), capture.save()
    assert first.capture.parent == tmp_path / "mine" and first.capture.name.startswith("live-")
    assert second.capture != first.capture and second.capture.suffix == ".pcapng"
    assert first.packets == 3 + 2 + 3                      # handshake, the chunk and its ACK, the FINs
    capture.close()
    assert capture.stop() is capture                      # idempotent


def test_without_a_checkout_or_setting_captures_go_under_the_current_folder(monkeypatch, tmp_path):
    from workbench.capture import capture_file
    monkeypatch.delenv(CAPTURES_ENV, raising=False)
    assert str(capture_file.captures_directory()) == os.path.join(REPO, "captures")     # the source checkout
    monkeypatch.setattr(capture_file, "__file__", str(tmp_path / "site-packages" / "workbench" / "capture" / "x.py"))
    monkeypatch.chdir(tmp_path)
    assert capture_file.captures_directory() == tmp_path / "captures"
