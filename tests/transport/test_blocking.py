import socket
import threading
import time

import pytest

from workbench.tls import ClientConfig, errors, events
from workbench.tls.enums import AlertDescription
from workbench.transport.blocking import connect, listen, serve_one
from workbench.transport.common import HandshakeEOFError
from workbench.transport.tap import RecordingTap


class ServerThread:
    """Runs `handler(tls_socket)` for one connection accepted on 127.0.0.1 in a thread."""

    def __init__(self, config, handler, **kwargs):
        self.listener = listen("127.0.0.1", 0)
        self.port = self.listener.getsockname()[1]
        self.error = None
        self.result = None
        self.events = []
        self.thread = threading.Thread(target=self._run, args=(config, handler, kwargs), daemon=True)
        self.thread.start()

    def _run(self, config, handler, kwargs):
        try:
            tls = serve_one(self.listener, config, timeout=5, on_event=self.events.append, **kwargs)
            tls.settimeout(5)
            with tls:
                self.result = handler(tls)
        except BaseException as exc:     # reported to the test
            self.error = exc
        finally:
            self.listener.close()

    def join(self):
        self.thread.join(10)
        assert not self.thread.is_alive()


def echo_until_closed(tls):
    received = []
    while data := tls.recv():
        received.append(data)
        tls.sendall(data)
    return b"".join(received), tls.peer_sent_close_notify


def test_client_and_server_exchange_data_and_close_cleanly(client_config, server_config):
    server = ServerThread(server_config, echo_until_closed)
    client_events = []
    with connect("127.0.0.1", server.port, client_config, timeout=5, on_event=client_events.append) as tls:
        assert tls.handshake.version == 0x0304 and tls.handshake.server_name == "localhost"
        tls.sendall(b"first line\n")
        assert tls.recv() == b"first line\n"
        big = bytes(range(256)) * 300                  # several records each way
        tls.sendall(big)
        echoed = b""
        while len(echoed) < len(big):
            echoed += tls.recv()
        assert echoed == big
    server.join()
    assert server.error is None
    received, clean = server.result
    assert received == b"first line\n" + big and clean
    assert any(isinstance(e, events.HandshakeComplete) for e in client_events)
    assert any(isinstance(e, events.HandshakeComplete) for e in server.events)


def test_sni_and_alpn_reach_the_server(test_ca, localhost_identity):
    from workbench.tls import ServerConfig
    server_config = ServerConfig(certificate_chain=localhost_identity.certificate_chain,
                                 private_key=localhost_identity.private_key, alpn_protocols=("h2", "http/1.1"))
    server = ServerThread(server_config, lambda tls: tls.handshake)
    config = ClientConfig(server_name="localhost", trust_anchors=(test_ca.certificate,),
                          alpn_protocols=("http/1.1",))
    with connect("127.0.0.1", server.port, config, timeout=5) as tls:
        assert tls.handshake.alpn == b"http/1.1"
    server.join()
    assert server.result.server_name == "localhost" and server.result.alpn == b"http/1.1"


def test_taps_on_both_sides_see_the_same_bytes(client_config, server_config):
    client_tap, server_tap = RecordingTap(), RecordingTap()
    server = ServerThread(server_config, echo_until_closed, tap=server_tap)
    with connect("127.0.0.1", server.port, client_config, timeout=5, tap=client_tap) as tls:
        tls.sendall(b"tapped")
        tls.recv()
        tls.call("close")
        assert tls.recv() == b""                    # read the server's close_notify too
        client_end, server_end = tls.local_endpoint, tls.remote_endpoint
    server.join()
    upstream = client_tap.stream(client_end, server_end)
    downstream = client_tap.stream(server_end, client_end)
    assert upstream and downstream
    assert server_tap.stream(client_end, server_end) == upstream
    assert server_tap.stream(server_end, client_end) == downstream
    assert upstream[:1] == b"\x16"                  # starts with the ClientHello record
    assert all(c.timestamp > 1e9 for c in client_tap.chunks)


def test_a_bad_certificate_is_reported_on_both_sides(test_ca, server_config):
    server = ServerThread(server_config, lambda tls: None)
    config = ClientConfig(server_name="other.example", trust_anchors=(test_ca.certificate,))
    with pytest.raises(errors.ProtocolError) as failure:
        connect("127.0.0.1", server.port, config, timeout=5)
    assert failure.value.alert == AlertDescription.bad_certificate
    server.join()
    assert isinstance(server.error, errors.AlertReceived)
    assert server.error.description == AlertDescription.bad_certificate


def test_a_peer_that_hangs_up_during_the_handshake(server_config):
    listener = listen("127.0.0.1", 0)
    port = listener.getsockname()[1]

    def hang_up():
        sock, _ = listener.accept()
        sock.recv(4096)
        sock.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    config = ClientConfig(server_name="localhost", verify_peer=False, check_hostname=False)
    with pytest.raises(HandshakeEOFError):
        connect("127.0.0.1", port, config, timeout=5)
    thread.join(5)
    listener.close()


def test_a_silent_peer_times_out(server_config):
    listener = listen("127.0.0.1", 0)
    config = ClientConfig(server_name="localhost", verify_peer=False, check_hostname=False)
    with pytest.raises(TimeoutError):
        connect("127.0.0.1", listener.getsockname()[1], config, timeout=0.3)
    listener.close()


def test_refused_connection_is_an_oserror(client_config):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]         # bound, never listening: connections are refused
        with pytest.raises(ConnectionRefusedError):
            connect("127.0.0.1", port, client_config, timeout=2)


def test_engine_calls_go_through_call(client_config, server_config):
    server = ServerThread(server_config, echo_until_closed)
    tls = connect("127.0.0.1", server.port, client_config, timeout=5)
    tls.call("close")                           # close_notify via the generic path
    assert tls.recv() == b"" and tls.at_eof and tls.peer_sent_close_notify
    tls.close()
    server.join()
    assert server.result == (b"", True)


def test_after_our_close_notify_we_still_read_until_the_peer_closes(client_config, server_config):
    import time

    def late_sender(tls):
        tls.sendall(b"late-1 ")
        time.sleep(0.2)                   # lands in a separate TCP segment, after our close_notify
        tls.sendall(b"late-2")
        return tls.recv()

    server = ServerThread(server_config, late_sender)
    tls = connect("127.0.0.1", server.port, client_config, timeout=5)
    tls.call("close")
    received = b""
    while data := tls.recv():
        received += data
    assert received == b"late-1 late-2" and tls.peer_sent_close_notify
    tls.close()
    server.join()
    assert server.result == b""


def test_a_damaged_record_is_answered_with_an_alert(client_config, server_config):
    def send_garbage(tls):
        tls.sock.sendall(b"\x17\x03\x03\x00\x15" + b"\x00" * 21)     # not sealed with any key
        return tls.recv()

    server = ServerThread(server_config, send_garbage)
    tls = connect("127.0.0.1", server.port, client_config, timeout=5)
    with pytest.raises(errors.ProtocolError) as failure:
        tls.recv()
    assert failure.value.alert == AlertDescription.bad_record_mac
    assert tls.at_eof
    tls.close()
    server.join()
    assert isinstance(server.error, errors.AlertReceived)
    assert server.error.description == AlertDescription.bad_record_mac


def test_close_with_unread_data_in_flight_ends_with_fin_not_reset(client_config, server_config):
    """Data the client never read (here: a late server record) must not turn its close into a
    TCP reset: the server has to see the client's close_notify and a clean end of stream."""
    ready = threading.Event()

    def send_late_then_read(tls):
        assert tls.recv() == b"ping"
        tls.sendall(b"late record the client never reads")
        ready.set()
        time.sleep(0.3)        # the client has closed by now; its close_notify waits in our buffer
        try:
            rest = tls.recv()
        except ConnectionResetError:
            return "reset"
        return ("clean" if tls.peer_sent_close_notify else "no close_notify", rest)

    server = ServerThread(server_config, send_late_then_read)
    tls = connect("127.0.0.1", server.port, client_config, timeout=5)
    tls.sendall(b"ping")
    assert ready.wait(5)
    time.sleep(0.05)           # the late record is now in the client's receive buffer, unread
    tls.close()
    server.join()
    assert server.error is None
    assert server.result == ("clean", b"")
