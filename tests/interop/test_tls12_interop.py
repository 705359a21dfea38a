"""TLS 1.2 with real programs, both ways: our client against openssl s_server and gnutls-serv, our
server against openssl s_client and gnutls-cli; every suite; version negotiation between 1.2 and 1.3;
the same CLIENT_RANDOM key log line as OpenSSL's own."""
from __future__ import annotations

import pytest

from workbench.peers import GnuTLSClient, OpenSSLClient, OpenSSLServer
from workbench.tls import KeyLogWriter, events
from workbench.tls.messages import ServerHello

from ._keyupdate_helpers import accept_engine, connect_engine, data_events, engine_listener

pytestmark = pytest.mark.interop

TLS12, TLS13 = 0x0303, 0x0304
BOTH = (TLS13, TLS12)
OPENSSL_SUITES = [
    (0xC02B, "ecdsa-p256", "ECDHE-ECDSA-AES128-GCM-SHA256"), (0xC02C, "ecdsa-p384", "ECDHE-ECDSA-AES256-GCM-SHA384"),
    (0xCCA9, "ecdsa-p256", "ECDHE-ECDSA-CHACHA20-POLY1305"), (0xC02F, "rsa-2048", "ECDHE-RSA-AES128-GCM-SHA256"),
    (0xC030, "rsa-2048", "ECDHE-RSA-AES256-GCM-SHA384"), (0xCCA8, "rsa-2048", "ECDHE-RSA-CHACHA20-POLY1305"),
]
GNUTLS_TLS12 = "NORMAL:-VERS-TLS1.3"


@pytest.mark.parametrize("suite,key_type,name", OPENSSL_SUITES, ids=[s[2] for s in OPENSSL_SUITES])
def test_our_client_and_openssl_s_server_for_every_suite(interop_pki, launch, tmp_path, suite, key_type, name):
    leaf = interop_pki.server(key_type)
    their_keys = tmp_path / "openssl.keys"
    server = launch(OpenSSLServer(leaf.cert, leaf.key, keylog=their_keys, args=["-tls1_2", "-cipher", name]))
    lines: list[str] = []
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH), on_event=KeyLogWriter(lines.append))
    try:
        assert ours.connection.version == TLS12 and ours.connection.cipher_suite == suite
        assert ours.connection.negotiated.extended_master_secret
        ours.send(b"to s_server\n")
        server.wait_for_output("to s_server")
        server.send_line("to our client")
        ours.read_until(b"to our client\n")
    finally:
        ours.close()
    ours_line = lines[0].split()
    theirs = [line.split() for line in their_keys.read_text().splitlines() if line.startswith("CLIENT_RANDOM")]
    assert theirs == [ours_line]


@pytest.mark.parametrize("suite,key_type,name", OPENSSL_SUITES[::2], ids=[s[2] for s in OPENSSL_SUITES[::2]])
def test_openssl_s_client_and_our_server(interop_pki, launch, suite, key_type, name):
    listener, port = engine_listener()
    with listener:
        client = launch(OpenSSLClient(port, ca=interop_pki.ca_pem, args=["-tls1_2", "-cipher", name]))
        ours = accept_engine(listener, interop_pki.server_config(key_type, versions=(TLS12,)))
    try:
        handshake = client.wait_for_handshake()
        assert handshake.version == "1.2" and handshake.cipher == name
        client.wait_for_output("Extended master secret: yes")
        client.send_line("to our server")
        ours.read_until(b"to our server\n")
        ours.send(b"to s_client\n")
        client.wait_for_output("to s_client")
    finally:
        ours.close()
    assert ours.connection.cipher_suite == suite


def test_gnutls_cli_and_our_server(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(GnuTLSClient(port, ca=interop_pki.ca_pem, args=["--priority", GNUTLS_TLS12]))
        ours = accept_engine(listener, interop_pki.server_config("rsa-2048", versions=BOTH))
    try:
        handshake = client.wait_for_handshake()
        assert handshake.version == "1.2"
        client.wait_for_output("extended master secret, safe renegotiation")
        client.send_line("from gnutls")
        ours.read_until(b"from gnutls\n")
        ours.send(b"from our server\n")
        client.wait_for_output("from our server")
    finally:
        ours.close()
    assert ours.connection.version == TLS12


def test_our_client_and_gnutls_serv(interop_pki, peer_servers):
    server = peer_servers.gnutls("ecdsa-p256", "--priority", GNUTLS_TLS12)
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH), netns=peer_servers.netns)
    try:
        assert ours.connection.version == TLS12
        ours.send(b"echo me\n")
        ours.read_until(b"echo me\n")
    finally:
        ours.close()
    assert data_events(ours) == [(b"echo me\n", "application-0")]


# --- version negotiation ----------------------------------------------------------------------------

@pytest.mark.parametrize("their_flag,expected", [([], TLS13), (["-tls1_2"], TLS12), (["-tls1_3"], TLS13)])
def test_our_client_offering_both_against_openssl(interop_pki, launch, their_flag, expected):
    leaf = interop_pki.server()
    server = launch(OpenSSLServer(leaf.cert, leaf.key, args=their_flag))
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH))
    try:
        assert ours.connection.version == expected
        ours.send(b"negotiated\n")
        server.wait_for_output("negotiated")
    finally:
        ours.close()


@pytest.mark.parametrize("our_versions,expected", [(BOTH, "1.3"), ((TLS12,), "1.2"), ((TLS13,), "1.3")])
def test_openssl_client_offering_both_against_our_server(interop_pki, launch, our_versions, expected):
    listener, port = engine_listener()
    with listener:
        client = launch(OpenSSLClient(port, ca=interop_pki.ca_pem))
        ours = accept_engine(listener, interop_pki.server_config(versions=our_versions))
    try:
        # s_client checks the downgrade sentinel itself: a 1.2-only server must not set it, and does not.
        assert client.wait_for_handshake().version == expected
        client.send_line("hello")
        ours.read_until(b"hello\n")
    finally:
        ours.close()


def test_a_tls13_server_that_negotiates_tls12_sets_the_sentinel_and_openssl_accepts(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(OpenSSLClient(port, ca=interop_pki.ca_pem, args=["-tls1_2"]))
        ours = accept_engine(listener, interop_pki.server_config(versions=BOTH))
    try:
        assert client.wait_for_handshake().version == "1.2"   # it offered 1.2 only: no downgrade to see
        hello = next(e.message for e in ours.of_type(events.HandshakeMessageSent)
                     if isinstance(e.message, ServerHello))
        assert hello.random.endswith(b"DOWNGRD\x01")
    finally:
        ours.close()
