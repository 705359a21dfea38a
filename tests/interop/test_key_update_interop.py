"""TLS 1.3 KeyUpdate with real programs, both ways: openssl s_client / s_server typing k and K,
gnutls-cli's ^rekey1^ / ^rekey^, gnutls-serv; several updates in a row, both sides requesting at
once, data checked before, between and after; and tshark following every update of a captured
session from our key log alone."""
from __future__ import annotations

import pytest

from tests.loopback_capture import LoopbackCapture, tshark_session
from workbench.peers import GnuTLSClient, OpenSSLClient, OpenSSLServer, free_port
from workbench.tls import KeyLogWriter, events
from workbench.tls.enums import ContentType, KeyUpdateType

from ._keyupdate_helpers import (accept_engine, command, command_until_event, connect_engine, data_events,
                                 engine_listener)

pytestmark = pytest.mark.interop

K = KeyUpdateType
# What each program prints once it has acted on a typed command (s_server prints nothing unbuffered:
# its KeyUpdate arriving on our side says it acted).
S_CLIENT_DID = r"KEYUPDATE"
GNUTLS_DID = r"Rekey was completed"


def sent_updates(end) -> list[tuple[KeyUpdateType, bool]]:
    return [(e.request_update, e.answer) for e in end.of_type(events.KeyUpdateSent)]


def received_updates(end) -> list[KeyUpdateType]:
    return [e.request_update for e in end.of_type(events.KeyUpdateReceived)]


def server_types(server, ours, line: str) -> None:
    """s_server performs k / K at once (SSL_do_handshake): wait until its KeyUpdate has reached us."""
    command_until_event(server, line, ours, events.KeyUpdateReceived)


def test_our_client_and_openssl_s_server(interop_pki, launch):
    leaf = interop_pki.server()
    server = launch(OpenSSLServer(leaf.cert, leaf.key, args=["-tls1_3"]))
    ours = connect_engine(server.port, interop_pki.client_config())
    try:
        ours.send(b"c1 before\n")
        server.wait_for_output("c1 before")
        server.send_line("s1 before")
        ours.read_until(b"s1 before\n")
        for _ in range(3):                                   # several in a row
            ours.call("key_update", K.NOT_REQUESTED)
        ours.send(b"c2 after three updates\n")
        server.wait_for_output("c2 after three updates")
        ours.call("key_update", K.REQUESTED)                 # s_server answers before its next data
        ours.send(b"c3\n")
        server.wait_for_output("c3")
        server.send_line("s2 after its answer")
        ours.read_until(b"s2 after its answer\n")
        server_types(server, ours, "k")
        server.send_line("s3 after k")
        ours.read_until(b"s3 after k\n")
        server_types(server, ours, "K")                      # we answer within the read that sees it
        server.send_line("s4 after K")
        ours.read_until(b"s4 after K\n")
        ours.send(b"c4 under our answered keys\n")
        server.wait_for_output("c4 under our answered keys")
        # Both at the same time: s_server's request is on its way when ours goes out.
        count = len(ours.of_type(events.KeyUpdateReceived))
        ours.tls.call("key_update", K.REQUESTED)            # scheduled, not sent yet
        server.send_line("K")
        ours.send(b"c5 both requested\n")                   # our request goes out first, with it
        ours.read_until_event(events.KeyUpdateReceived, count + 1)      # s_server has acted on its K
        server.wait_for_output("c5 both requested")
        server.send_line("s5 after both")
        ours.read_until(b"s5 after both\n")
        ours.send(b"c6 last\n")
        server.wait_for_output("c6 last")
    finally:
        ours.close()
    assert sent_updates(ours) == [(K.NOT_REQUESTED, False)] * 3 + [(K.REQUESTED, False), (K.NOT_REQUESTED, True),
                                                                   (K.REQUESTED, False), (K.NOT_REQUESTED, True)]
    # s_server's own updates (typed k, K, K) always arrive. Its answers to our two requests usually
    # come as two more not-requested updates, but OpenSSL keeps one pending update per connection
    # (the `key_update` field that SSL_key_update() and tls_process_key_update() both set): when our
    # request of the last exchange is processed before s_server acts on its typed K, the K overwrites
    # the pending answer and one update_requested KeyUpdate goes out for both. It depends on which
    # arrives first on a loaded machine: one or two answers.
    received = received_updates(ours)
    assert received.count(K.REQUESTED) == 2 and received.count(K.NOT_REQUESTED) in (2, 3), received
    generations = [int(epoch.rsplit("-", 1)[1]) for _, epoch in data_events(ours)]
    assert len(generations) == 5 and generations == sorted(set(generations)), generations
    assert generations[0] == 0 and generations[-1] == len(received)     # each update moved the read keys on
    assert ours.connection.write_epoch == "application-7"


def test_openssl_s_client_and_our_server(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(OpenSSLClient(port, ca=interop_pki.ca_pem, args=["-tls1_3"]))
        ours = accept_engine(listener, interop_pki.server_config())
    try:
        client.wait_for_handshake()
        client.send_line("c1 before")
        ours.read_until(b"c1 before\n")
        command(client, "k", S_CLIENT_DID)                  # goes out with s_client's next write
        client.send_line("c2 after k")
        ours.read_until(b"c2 after k\n")
        command(client, "K", S_CLIENT_DID)
        client.send_line("c3 after K")
        ours.read_until(b"c3 after K\n")                    # our answer went out within that read
        ours.send(b"s1 after our answer\n")
        client.wait_for_output("s1 after our answer")
        ours.call("key_update", K.REQUESTED)
        ours.send(b"s2 after our request\n")
        client.wait_for_output("s2 after our request")
        client.send_line("c4 after its answer")
        ours.read_until(b"c4 after its answer\n")
    finally:
        ours.close()
    assert received_updates(ours) == [K.NOT_REQUESTED, K.REQUESTED, K.NOT_REQUESTED]
    assert sent_updates(ours) == [(K.NOT_REQUESTED, True), (K.REQUESTED, False)]
    assert data_events(ours) == [(b"c1 before\n", "application-0"), (b"c2 after k\n", "application-1"),
                                 (b"c3 after K\n", "application-2"), (b"c4 after its answer\n", "application-3")]


def test_gnutls_cli_rekey_and_our_server(interop_pki, launch):
    listener, port = engine_listener()
    with listener:
        client = launch(GnuTLSClient(port, ca=interop_pki.ca_pem))
        ours = accept_engine(listener, interop_pki.server_config())
    try:
        client.wait_for_handshake()
        client.send_line("c1")
        ours.read_until(b"c1\n")
        command(client, "^rekey1^", GNUTLS_DID)             # local only
        client.send_line("c2")
        ours.read_until(b"c2\n")
        command(client, "^rekey^", GNUTLS_DID)              # asks for ours too
        ours.read_until_event(events.KeyUpdateSent)
        ours.send(b"s1\n")
        client.wait_for_output("s1")
        client.send_line("c3")
        ours.read_until(b"c3\n")
    finally:
        ours.close()
    assert received_updates(ours) == [K.NOT_REQUESTED, K.REQUESTED]
    assert sent_updates(ours) == [(K.NOT_REQUESTED, True)]
    assert [epoch for _, epoch in data_events(ours)] == ["application-0", "application-1", "application-2"]


def test_our_client_and_gnutls_serv(interop_pki, peer_servers):
    server = peer_servers.gnutls()
    ours = connect_engine(server.port, interop_pki.client_config(), netns=peer_servers.netns)
    try:
        ours.send(b"one\n")
        ours.read_until(b"one\n")
        ours.call("key_update", K.REQUESTED)
        ours.send(b"two\n")
        ours.read_until(b"two\n")
        for _ in range(4):
            ours.call("key_update", K.NOT_REQUESTED)
        ours.send(b"three\n")
        ours.read_until(b"three\n")
    finally:
        ours.close()
    assert received_updates(ours) == [K.NOT_REQUESTED]                 # gnutls-serv's answer
    assert ours.connection.write_epoch == "application-5" and ours.connection.read_epoch == "application-1"
    assert data_events(ours) == [(b"one\n", "application-0"), (b"two\n", "application-1"),
                                 (b"three\n", "application-1")]


@pytest.mark.usefixtures("requires_capture")
def test_tshark_follows_every_update_from_our_key_log(interop_pki, launch, tmp_path):
    port = free_port()
    capture_file, keylog = tmp_path / "updates.pcapng", tmp_path / "client.keys"
    leaf = interop_pki.server()
    client_lines, server_lines = [], []
    with LoopbackCapture(port, capture_file) as capture:
        server = launch(OpenSSLServer(leaf.cert, leaf.key, port=port, args=["-tls1_3"]))
        keylog_file = keylog.open("w")
        ours = connect_engine(port, interop_pki.client_config(), on_event=KeyLogWriter(keylog_file))
        try:
            for n in range(4):
                line = f"client line {n}\n".encode()
                client_lines.append(line)
                ours.send(line)
                server.wait_for_output(f"client line {n}")
                ours.call("key_update", K.REQUESTED if n % 2 else K.NOT_REQUESTED)
                server_types(server, ours, "k")
                server_lines.append(f"server line {n}\n".encode())
                server.send_line(f"server line {n}")
                ours.read_until(server_lines[-1])
            ours.send(b"the end\n")
            client_lines.append(b"the end\n")
            server.wait_for_output("the end")
        finally:
            ours.close()
            keylog_file.close()
        server.stop()                       # its last packets go out before the capture's end marker
        capture.flush()
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert "CLIENT_TRAFFIC_SECRET_0" in labels and not any(label.endswith("_1") for label in labels)
    seen = tshark_session(capture_file, port, keylog)
    assert seen["client"].application_data == b"".join(client_lines)
    assert seen["server"].application_data == b"".join(server_lines)
    # tshark shows each KeyUpdate it decrypted as a handshake message of type 24.
    # Ours: four updates; s_server's: one per k (an answer to our request may ride on it).
    assert seen["client"].handshake_types.count(24) == len(ours.of_type(events.KeyUpdateSent)) == 4
    assert seen["server"].handshake_types.count(24) == len(ours.of_type(events.KeyUpdateReceived)) >= 4
    assert seen["client"].content_types[-1] == ContentType.ALERT            # close_notify, decrypted
