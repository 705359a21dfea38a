"""gnutls-serv and gnutls-cli in a private network namespace, and mixed with OpenSSL.

test_our_side_in_the_namespace_talks_to_gnutls_serv shows the recipe for an interop test of
our own client against gnutls-serv: make the socket inside `private_netns.entered()`, then use
it as usual (here with the standard library's ssl module standing in for our engine).
"""
import socket
import ssl

import pytest

from workbench.peers import GnuTLSClient, GnuTLSServer, OpenSSLServer, PeerError
from workbench.pki import TestCA

from .pids import gone

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("requires_gnutls")]


def test_a_line_is_echoed_then_both_stop_by_pid(private_netns, pem_files):
    with GnuTLSServer(pem_files.cert, pem_files.key, netns=private_netns) as server:
        with GnuTLSClient(server.port, ca=pem_files.ca, netns=private_netns) as client:
            handshake = client.wait_for_handshake()
            assert handshake.version == "1.3" and not handshake.resumed
            assert "The certificate is trusted" in client.output
            mark = client.mark()
            client.send_line("hello from gnutls-cli")
            server.wait_for_output("received cmd: hello from gnutls-cli")
            client.wait_for_output("^hello from gnutls-cli$", since=mark)
        server_pid, client_pid = server.pid, client.pid
        assert gone(client_pid) and server.running
    assert gone(server_pid)


def test_the_server_is_out_of_reach_from_the_host(private_netns, pem_files):
    with GnuTLSServer(pem_files.cert, pem_files.key, netns=private_netns) as server:
        with private_netns.entered():
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_our_side_in_the_namespace_talks_to_gnutls_serv(private_netns, pem_files):
    context = ssl.create_default_context(cafile=str(pem_files.ca))
    with GnuTLSServer(pem_files.cert, pem_files.key, netns=private_netns) as server:
        with private_netns.entered():
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
            tls.sendall(b"from python\n")
            assert tls.recv(100) == b"from python\n"


def test_key_logs_come_from_sslkeylogfile(private_netns, pem_files, tmp_path):
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    with GnuTLSServer(pem_files.cert, pem_files.key, netns=private_netns, keylog=server_log) as server:
        with GnuTLSClient(server.port, ca=pem_files.ca, netns=private_netns, keylog=client_log) as client:
            client.wait_for_handshake()
            client.send_line("x")
            server.wait_for_output("received cmd: x")
    client_lines = set(client_log.read_text().split("\n")) - {""}
    assert {line.split()[0] for line in client_lines} >= {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}
    assert set(server_log.read_text().split("\n")) - {""} == client_lines


def test_inline_rekey_and_resumption(private_netns, pem_files):
    with GnuTLSServer(pem_files.cert, pem_files.key, netns=private_netns) as server:
        with GnuTLSClient(server.port, ca=pem_files.ca, netns=private_netns) as client:
            client.wait_for_handshake()
            mark = client.mark()
            client.send_line("^rekey^")
            client.wait_for_output("^- Rekey was completed", since=mark)
        with GnuTLSClient(server.port, ca=pem_files.ca, netns=private_netns, args=["--resume"]) as client:
            first = client.wait_for_handshake()
            after_first = client.wait_for_output("Handshake was completed").end()
            second = client.wait_for_handshake(since=after_first)
            assert not first.resumed and second.resumed


def test_a_certificate_from_another_ca_fails_the_handshake(private_netns, pem_files, tmp_path):
    stranger = TestCA.create().write_pem(tmp_path / "stranger.pem")
    with GnuTLSServer(pem_files.cert, pem_files.key, netns=private_netns) as server:
        with GnuTLSClient(server.port, ca=stranger, netns=private_netns) as client:
            with pytest.raises(PeerError):
                client.wait_for_handshake()


def test_gnutls_cli_against_openssl_s_server_needs_no_namespace(requires_openssl, pem_files):
    with OpenSSLServer(pem_files.cert, pem_files.key) as server:
        with GnuTLSClient(server.port, ca=pem_files.ca, args=["--priority", "NORMAL:-VERS-TLS1.3"]) as client:
            handshake = client.wait_for_handshake()
            assert handshake.version == "1.2" and handshake.cipher == "AES-256-GCM"
            client.send_line("hello openssl")
            server.wait_for_output("^hello openssl$")


def test_rehandshakes_it_starts_or_is_asked_for_are_handshakes_too(requires_openssl, pem_files):
    # ^renegotiate^ ends with "- ReHandshake was completed", a HelloRequest with "*** Rehandshake was performed."
    with OpenSSLServer(pem_files.cert, pem_files.key, args=["-tls1_2", "-client_renegotiation"]) as server:
        with GnuTLSClient(server.port, ca=pem_files.ca, args=["--priority", "NORMAL:-VERS-TLS1.3"]) as client:
            client.wait_for_handshake()
            mark = client.mark()
            client.send_line("^renegotiate^")
            ours = client.wait_for_handshake(since=mark)
            assert (ours.version, ours.cipher, ours.resumed) == ("1.2", "AES-256-GCM", False)
            assert "- ReHandshake was completed" in client.output[mark:]
            mark = client.mark()
            server.send_line("R")                      # s_server sends a HelloRequest
            asked = client.wait_for_handshake(since=mark)
            assert asked.version == "1.2" and "*** Rehandshake was performed." in client.output[mark:]
            client.send_line("after both")
            server.wait_for_output("^after both$")


def test_a_refused_rehandshake_raises(requires_openssl, pem_files):
    with OpenSSLServer(pem_files.cert, pem_files.key, args=["-tls1_2", "-no_renegotiation"]) as server:
        with GnuTLSClient(server.port, ca=pem_files.ca, args=["--priority", "NORMAL:-VERS-TLS1.3"]) as client:
            client.wait_for_handshake()
            mark = client.mark()
            client.send_line("^renegotiate^")
            with pytest.raises(PeerError, match="failed handshake"):
                client.wait_for_handshake(since=mark)


def test_gnutls_serv_is_refused_outside_a_namespace(pem_files):
    with pytest.raises(ValueError, match="every interface"):
        GnuTLSServer(pem_files.cert, pem_files.key, netns=None)
