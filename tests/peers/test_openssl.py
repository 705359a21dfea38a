"""openssl s_server and s_client against each other, with test-CA certificates."""
import socket

import pytest

from workbench.peers import OpenSSLClient, OpenSSLServer, PeerError
from workbench.pki import TestCA

from .pids import gone

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("requires_openssl")]


def secrets(keylog):
    """{(label, client_random): secret} of an NSS key log."""
    entries = {}
    for line in keylog.read_text().splitlines():
        if line and not line.startswith("#"):
            label, client_random, secret = line.split()
            entries[label, client_random] = secret
    return entries


def test_a_line_each_way_then_both_stop_by_pid(pem_files):
    with OpenSSLServer(pem_files.cert, pem_files.key) as server:
        assert server.port > 0
        with OpenSSLClient(server.port, ca=pem_files.ca) as client:
            handshake = client.wait_for_handshake()
            assert handshake.version == "1.3" and not handshake.resumed
            assert "Verify return code: 0 (ok)" in client.output
            client.send_line("hello from s_client")
            server.wait_for_output("^hello from s_client$")
            server.send_line("hello from s_server")
            client.wait_for_output("^hello from s_server$")
        server_pid, client_pid = server.pid, client.pid
        assert gone(client_pid) and server.running
    assert gone(server_pid)


def test_the_server_listens_on_127_0_0_1_only(pem_files):
    with OpenSSLServer(pem_files.cert, pem_files.key) as server:
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", server.port), timeout=5)


def test_an_explicit_port_is_used(pem_files, free_port):
    with OpenSSLServer(pem_files.cert, pem_files.key, port=free_port) as server:
        assert server.port == free_port


def test_both_sides_write_the_same_secrets_to_their_key_logs(pem_files, tmp_path):
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    with OpenSSLServer(pem_files.cert, pem_files.key, keylog=server_log) as server:
        with OpenSSLClient(server.port, ca=pem_files.ca, keylog=client_log) as client:
            client.wait_for_handshake()
            client.send_line("ping")
            server.wait_for_output("ping")
    client_secrets = secrets(client_log)
    labels = {label for label, _ in client_secrets}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"} <= labels
    assert secrets(server_log) == client_secrets


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "ed25519"])
def test_each_key_type_passes_verification_in_a_real_handshake(tmp_path, test_ca, key_type):
    ca = test_ca.write_pem(tmp_path / "ca.pem")
    cert, key = test_ca.issue(key_type=key_type).write_pem(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    with OpenSSLServer(cert, key) as server:
        for servername in ("localhost", "127.0.0.1"):
            with OpenSSLClient(server.port, ca=ca, servername=servername, args=["-verify_return_error"]) as client:
                assert client.wait_for_handshake().version == "1.3"
                assert "Verify return code: 0 (ok)" in client.output


def test_intermediates_are_sent_from_the_chain_file(tmp_path):
    root = TestCA.create(key_type="rsa-2048")
    identity = root.intermediate().issue()
    ca = root.write_pem(tmp_path / "ca.pem")
    cert, key = identity.write_pem(tmp_path / "leaf.pem", tmp_path / "leaf.key", chain_path=tmp_path / "chain.pem")
    with OpenSSLServer(cert, key, chain=tmp_path / "chain.pem") as server:
        with OpenSSLClient(server.port, ca=ca) as client:
            client.wait_for_handshake()
    with OpenSSLServer(cert, key) as server:  # s_server reads only the leaf of its -cert file
        with OpenSSLClient(server.port, ca=ca) as client:
            with pytest.raises(PeerError):
                client.wait_for_handshake()


def test_a_wrong_name_or_another_ca_fails_the_handshake(pem_files, tmp_path):
    stranger = TestCA.create().write_pem(tmp_path / "stranger.pem")
    with OpenSSLServer(pem_files.cert, pem_files.key) as server:
        for client in (OpenSSLClient(server.port, ca=pem_files.ca, servername="example.com"),
                       OpenSSLClient(server.port, ca=stranger)):
            with client:
                with pytest.raises(PeerError):
                    client.wait_for_handshake()


def test_tls12_and_a_key_update_command(pem_files):
    with OpenSSLServer(pem_files.cert, pem_files.key) as server:
        with OpenSSLClient(server.port, ca=pem_files.ca, args=["-tls1_2"]) as client:
            assert client.wait_for_handshake().version == "1.2"
        with OpenSSLClient(server.port, ca=pem_files.ca) as client:
            client.wait_for_handshake()
            mark = client.mark()
            client.send_line("K")  # KeyUpdate, update_requested
            client.wait_for_output("^KEYUPDATE$", since=mark)
            client.send_line("still talking")
            server.wait_for_output("still talking")


def test_resumption_with_a_saved_session(pem_files, tmp_path):
    session = tmp_path / "session.pem"
    with OpenSSLServer(pem_files.cert, pem_files.key) as server:
        with OpenSSLClient(server.port, ca=pem_files.ca, args=["-sess_out", str(session)]) as client:
            client.wait_for_handshake()
            server.send_line("after the tickets")  # TLS 1.3 tickets come after the handshake, before this
            client.wait_for_output("^after the tickets$")
            assert session.read_text().startswith("-----BEGIN SSL SESSION PARAMETERS-----")
        with OpenSSLClient(server.port, ca=pem_files.ca, args=["-sess_in", str(session)]) as client:
            assert client.wait_for_handshake().resumed


def test_the_server_refuses_to_listen_beyond_loopback(pem_files):
    with pytest.raises(ValueError, match="loopback"):
        OpenSSLServer(pem_files.cert, pem_files.key, host="0.0.0.0")


def test_a_server_that_cannot_start_says_why(pem_files, tmp_path):
    server = OpenSSLServer(tmp_path / "missing.pem", pem_files.key)
    with pytest.raises(PeerError, match="missing.pem"):
        server.start()
    assert not server.running
