"""TLS 1.2 renegotiation with real programs, both ways: openssl s_client / s_server typing R and r,
gnutls-cli's ^renegotiate^, gnutls-serv; refusals; data checked before, between and after; and
tshark decrypting a captured session with a client- and a server-initiated renegotiation from our
key log."""
from __future__ import annotations

import pytest

from tests.loopback_capture import LoopbackCapture, tshark_session
from workbench.peers import GnuTLSClient, OpenSSLClient, OpenSSLServer, free_port
from workbench.tls import KeyLogWriter, events
from workbench.tls.enums import AlertDescription, AlertLevel, ContentType, HandshakeType
from workbench.tls.extensions import SessionTicket
from workbench.tls.messages import Certificate12, CertificateRequest12, ClientHello, ServerHello

from ._keyupdate_helpers import (accept_engine, command, command_until_event, connect_engine, data_events,
                                 engine_listener)

pytestmark = pytest.mark.interop

TLS12 = 0x0303
BOTH = (0x0304, TLS12)
S_CLIENT_DID = r"RENEGOTIATING"
GNUTLS_DID = r"ReHandshake was completed"


def finished(end) -> list[tuple[str, bool]]:
    return [(e.initiator, e.abbreviated) for e in end.of_type(events.RenegotiationFinished)]


def server_requests(server, ours, line: str) -> None:
    """s_server's r / R send a HelloRequest at once: wait until our client has renegotiated."""
    command_until_event(server, line, ours, events.RenegotiationFinished)


def test_our_client_and_openssl_s_server(interop_pki, launch):
    leaf = interop_pki.server()
    server = launch(OpenSSLServer(leaf.cert, leaf.key, args=["-tls1_2", "-client_renegotiation"]))
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH))
    try:
        ours.send(b"c0 before\n")
        server.wait_for_output("c0 before")
        ours.call("renegotiate")                   # R: a full handshake, no session offered
        assert not ours.connection.renegotiate_pending()
        ours.send(b"c1 held until it ends\n")
        ours.finish_renegotiation()
        server.wait_for_output("c1 held until it ends")
        ours.call("renegotiate_abbreviated")       # r: resumes the session
        ours.finish_renegotiation()
        ours.send(b"c2 after the abbreviated one\n")
        server.wait_for_output("c2 after the abbreviated one")
        server_requests(server, ours, "r")         # HelloRequest: we answer by resuming
        server.send_line("s1 after its request")
        ours.read_until(b"s1 after its request\n")
        server_requests(server, ours, "R")         # HelloRequest (s_server also wants a certificate from now on)
        ours.send(b"c3 after R\n")
        server.wait_for_output("c3 after R")
        server.send_line("s2 last")
        ours.read_until(b"s2 last\n")
    finally:
        ours.close()
    results = finished(ours)
    assert results[:3] == [("client", False), ("client", True), ("server", True)]
    assert results[3][0] == "server"
    hellos = [e.message for e in ours.of_type(events.HandshakeMessageSent) if isinstance(e.message, ClientHello)]
    assert [bool(h.legacy_session_id) for h in hellos[1:]] == [False, True, True, True]
    assert [epoch for _, epoch in data_events(ours)] == ["application-3", "application-4"]
    assert len(ours.connection.key_log_lines()) == 5


def test_our_client_offers_its_ticket_to_openssl_s_server(interop_pki, launch):
    """With TLS 1.2 tickets, our abbreviated renegotiations (ours and the answer to s_server's r) offer the
    session's latest ticket, as OpenSSL's client does, and s_server resumes from it."""
    leaf = interop_pki.server()
    server = launch(OpenSSLServer(leaf.cert, leaf.key, args=["-tls1_2", "-client_renegotiation"]))
    ours = connect_engine(server.port, interop_pki.client_config(versions=(TLS12,), session_ticket_extension=True))
    try:
        ours.call("renegotiate_abbreviated")
        ours.finish_renegotiation()
        ours.send(b"c1 after ours\n")
        server.wait_for_output("c1 after ours")
        server_requests(server, ours, "r")
        server.send_line("s1 after its request")
        ours.read_until(b"s1 after its request\n")
    finally:
        ours.close()
    assert finished(ours) == [("client", True), ("server", True)]
    received = [e.ticket for e in ours.of_type(events.TicketReceived)]
    hellos = [e.message for e in ours.of_type(events.HandshakeMessageSent) if isinstance(e.message, ClientHello)]
    offered = [hello.get_extension(SessionTicket).ticket for hello in hellos]
    # s_server gives a ticket and no session ID in the full handshake, and no new ticket when it resumes
    # from one: both renegotiations offer that ticket, under a session ID made from it.
    assert len(received) == 1 and offered == [b"", received[0], received[0]]
    assert hellos[1].legacy_session_id == hellos[2].legacy_session_id != b""
    assert ours.connection.negotiated.session_id == hellos[2].legacy_session_id


def test_openssl_s_client_and_our_server(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(OpenSSLClient(port, ca=interop_pki.ca_pem, args=["-tls1_2"]))
        # Tickets on (the default): s_client answers our HelloRequest by offering the session's ticket.
        ours = accept_engine(listener, interop_pki.server_config(versions=(TLS12,), allow_client_renegotiation=True))
    try:
        client.wait_for_handshake()
        client.send_line("c0 before")
        ours.read_until(b"c0 before\n")
        command(client, "R", S_CLIENT_DID)          # starts with s_client's next I/O
        client.send_line("c1 after R")
        ours.read_until(b"c1 after R\n")
        ours.call("renegotiate")                    # HelloRequest
        assert ours.connection.renegotiate_pending()
        ours.read_until_event(events.RenegotiationFinished, 2)
        assert not ours.connection.renegotiate_pending()
        ours.send(b"s1 after ours\n")
        client.wait_for_output("s1 after ours")
        client.send_line("c2 last")
        ours.read_until(b"c2 last\n")
    finally:
        ours.close()
    # The seed: a client answering a HelloRequest tries to resume the current session.
    assert finished(ours) == [("client", False), ("server", True)]
    assert data_events(ours) == [(b"c0 before\n", "application-0"), (b"c1 after R\n", "application-1"),
                                 (b"c2 last\n", "application-2")]
    # s_client resumed by the ticket of its session (RFC 5077), under a session ID of its own making that our
    # ServerHello echoed, and got a fresh ticket before our change_cipher_spec.
    hellos = [e.message for e in ours.of_type(events.HandshakeMessageReceived) if isinstance(e.message, ClientHello)]
    issued = [e.ticket for e in ours.of_type(events.TicketIssued)]
    assert len(hellos) == 3 and len(issued) == 3
    assert hellos[2].get_extension(SessionTicket).ticket == issued[1]        # the ticket of the R handshake
    server_hellos = [e.message for e in ours.of_type(events.HandshakeMessageSent) if isinstance(e.message, ServerHello)]
    echoed = [hello.legacy_session_id_echo for hello in server_hellos]
    assert echoed[2] == hellos[2].legacy_session_id != echoed[1]
    assert not ours.of_type(events.ResumptionRefused)


def test_gnutls_cli_and_our_server(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(GnuTLSClient(port, ca=interop_pki.ca_pem, args=["--priority", "NORMAL:-VERS-TLS1.3"]))
        ours = accept_engine(listener, interop_pki.server_config(versions=BOTH, allow_client_renegotiation=True))
    try:
        client.wait_for_handshake()
        client.send_line("c0")
        ours.read_until(b"c0\n")
        mark = client.mark()
        client.send_line("^renegotiate^")
        ours.read_until_event(events.RenegotiationFinished)     # our side must read for it to happen
        assert client.wait_for_handshake(since=mark).version == "1.2"      # "- ReHandshake was completed"
        assert GNUTLS_DID in client.output[mark:]
        client.send_line("c1")
        ours.read_until(b"c1\n")
        mark = client.mark()
        ours.call("renegotiate")
        # gnutls-cli takes data in the middle of its rehandshake for an error: send after it.
        ours.read_until_event(events.RenegotiationFinished, 2)
        assert client.wait_for_handshake(since=mark).version == "1.2"      # "*** Rehandshake was performed."
        ours.send(b"s1\n")
        client.wait_for_output("s1")
        client.send_line("c2")
        ours.read_until(b"c2\n")
    finally:
        ours.close()
    assert finished(ours) == [("client", False), ("server", False)]           # GnuTLS does not resume here
    assert [epoch for _, epoch in data_events(ours)] == ["application-0", "application-1", "application-2"]


def test_our_client_and_gnutls_serv(interop_pki, peer_servers):
    server = peer_servers.gnutls("ecdsa-p256", "--priority", "NORMAL:-VERS-TLS1.3")
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH), netns=peer_servers.netns)
    try:
        ours.send(b"one\n")
        ours.read_until(b"one\n")
        ours.call("renegotiate")
        ours.finish_renegotiation()
        ours.send(b"two\n")
        ours.read_until(b"two\n")
        ours.call("renegotiate_abbreviated")
        ours.finish_renegotiation()
        ours.send(b"three\n")
        ours.read_until(b"three\n")
    finally:
        ours.close()
    assert finished(ours) == [("client", False), ("client", True)]
    assert data_events(ours) == [(b"one\n", "application-0"), (b"two\n", "application-1"),
                                 (b"three\n", "application-2")]


def test_openssl_asks_for_our_certificate_in_a_renegotiation(interop_pki, launch):
    """s_server's R asks for a client certificate; -no_cache makes it a full handshake with CertificateRequest."""
    leaf = interop_pki.server()
    server = launch(OpenSSLServer(leaf.cert, leaf.key, ca=interop_pki.ca_pem, args=["-tls1_2", "-no_cache"]))
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH, client_key_type="ecdsa-p256"))
    try:
        server_requests(server, ours, "R")
        ours.send(b"authenticated now\n")
        server.wait_for_output("authenticated now")
    finally:
        ours.close()
    assert finished(ours) == [("server", False)]           # offered to resume; s_server had no session cached
    sent = [e.message for e in ours.of_type(events.HandshakeMessageSent)]
    assert [type(m).__name__ for m in sent[-5:]] == ["ClientHello", "Certificate12", "ClientKeyExchangeECDHE",
                                                      "CertificateVerify", "Finished"]
    assert sent[-4] == Certificate12((interop_pki.client().der,))
    assert any(isinstance(e.message, CertificateRequest12) for e in ours.of_type(events.HandshakeMessageReceived))
    assert ours.connection.negotiated.client_certificate_scheme is not None


# --- refusals -------------------------------------------------------------------------------------

def test_openssl_refusing_our_renegotiation(interop_pki, launch):
    leaf = interop_pki.server()
    server = launch(OpenSSLServer(leaf.cert, leaf.key, args=["-tls1_2", "-no_renegotiation"]))
    ours = connect_engine(server.port, interop_pki.client_config(versions=BOTH))
    try:
        ours.call("renegotiate")
        ours.send(b"held, then sent under the old keys\n")
        ours.read_until_event(events.RenegotiationRefused)
        server.wait_for_output("held, then sent under the old keys")
        server.send_line("still connected")
        ours.read_until(b"still connected\n")
    finally:
        ours.close()
    refused = ours.of_type(events.RenegotiationRefused)
    assert [(e.initiator, e.by_peer) for e in refused] == [("client", True)]
    assert not ours.connection.renegotiating and ours.connection.write_epoch == "application-0"


def test_our_server_refusing_openssl_s_client(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(OpenSSLClient(port, ca=interop_pki.ca_pem, args=["-tls1_2"]))
        ours = accept_engine(listener, interop_pki.server_config(versions=BOTH))    # client-initiated: refused
    try:
        client.wait_for_handshake()
        command(client, "R", S_CLIENT_DID)
        client.send_line("c1")
        ours.read_until_event(events.RenegotiationRefused)
    finally:
        ours.close()
    warning = [e for e in ours.of_type(events.AlertSent) if e.description == AlertDescription.no_renegotiation]
    assert warning and warning[0].level == AlertLevel.WARNING
    assert [(e.initiator, e.by_peer) for e in ours.of_type(events.RenegotiationRefused)] == [("client", False)]


# --- tshark ---------------------------------------------------------------------------------------

@pytest.mark.usefixtures("requires_capture")
def test_tshark_decrypts_both_renegotiations_from_our_key_log(interop_pki, launch, tmp_path):
    port = free_port()
    capture_file, keylog = tmp_path / "renegotiations.pcapng", tmp_path / "client.keys"
    leaf = interop_pki.server()
    with LoopbackCapture(port, capture_file) as capture:
        server = launch(OpenSSLServer(leaf.cert, leaf.key, port=port, args=["-tls1_2", "-client_renegotiation"]))
        keylog_file = keylog.open("w")
        ours = connect_engine(port, interop_pki.client_config(versions=BOTH), on_event=KeyLogWriter(keylog_file))
        try:
            ours.send(b"c0 first handshake\n")
            server.wait_for_output("c0 first handshake")
            ours.call("renegotiate")                             # client-initiated, full
            ours.finish_renegotiation()
            ours.send(b"c1 after ours\n")
            server.wait_for_output("c1 after ours")
            server_requests(server, ours, "r")                    # server-initiated, resumed
            server.send_line("s1 after the server's")
            ours.read_until(b"s1 after the server's\n")
            ours.send(b"c2 last\n")
            server.wait_for_output("c2 last")
        finally:
            ours.close()
            keylog_file.close()
        server.stop()
        capture.flush()
    assert [line.split()[0] for line in keylog.read_text().splitlines()] == ["CLIENT_RANDOM"] * 3
    seen = tshark_session(capture_file, port, keylog)
    client, server_side = seen["client"], seen["server"]
    assert client.application_data == b"c0 first handshake\nc1 after ours\nc2 last\n"
    assert server_side.application_data == b"s1 after the server's\n"
    HT = HandshakeType
    assert client.handshake_types.count(HT.CLIENT_HELLO) == 3 and client.handshake_types.count(HT.FINISHED) == 3
    assert server_side.handshake_types.count(HT.HELLO_REQUEST) == 1
    assert server_side.handshake_types.count(HT.SERVER_HELLO) == 3
    assert server_side.handshake_types.count(HT.CERTIFICATE) == 2            # the resumed one sends none
    assert client.content_types[-1] == ContentType.ALERT
