"""The NSS key log: lines, writer, and that the logged secrets really decrypt the session."""
from __future__ import annotations

import io

import pytest

from workbench.tls import KeyLogWriter, events, events_to_keylog, key_log_line
from workbench.tls.cipher_suites import suite_info
from workbench.tls.messages import ClientHello
from workbench.tls.record import RecordFramer
from workbench.tls.record_protection import TLS13Protection

from .pair import connected_pair, drain, make_client_config

LABELS_13 = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
             "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def test_key_log_line_format():
    assert key_log_line("CLIENT_TRAFFIC_SECRET_0", b"\x01\x02", b"\xab\xcd") == "CLIENT_TRAFFIC_SECRET_0 0102 abcd\n"


@pytest.mark.parametrize("suite", [0x1301, 0x1302])
def test_client_and_server_log_the_same_secrets_for_the_same_client_random(suite):
    client, server = connected_pair(make_client_config(cipher_suites=(suite,)))
    client_lines, server_lines = client.key_log_lines(), server.key_log_lines()
    assert client_lines == server_lines
    assert {line.split()[0] for line in client_lines} == LABELS_13
    hello = next(e.message for e in drain(client) if isinstance(e, events.HandshakeMessageSent)
                 and isinstance(e.message, ClientHello))
    assert {line.split()[1] for line in client_lines} == {hello.random.hex()}
    secret_length = suite_info(suite).hash_length
    assert all(len(bytes.fromhex(line.split()[2])) == secret_length for line in client_lines)


def test_writer_with_a_callable_and_with_a_file():
    client, server = connected_pair()
    lines: list[str] = []
    to_callable = KeyLogWriter(lines.append)
    text = io.StringIO()
    to_file = KeyLogWriter(text)
    evs = drain(client)
    for event in evs:
        to_callable.on_event(event)
        to_file(event)
    assert [line.rstrip("\n") for line in lines] == client.key_log_lines()
    assert text.getvalue() == "".join(lines) == events_to_keylog(evs)
    assert text.getvalue().count("\n") == 5


def test_writer_ignores_secrets_without_a_label_and_other_events():
    lines: list[str] = []
    writer = KeyLogWriter(lines.append)
    writer.on_event(events.SecretDerived("master secret", b"\x00" * 32, None, b"\x01" * 32))
    writer.on_event(events.ApplicationData(b"data", "application-0"))
    assert lines == []


def test_writer_needs_a_sink():
    with pytest.raises(TypeError):
        KeyLogWriter(42)


def test_logged_secrets_decrypt_the_recorded_traffic():
    """What Wireshark would do with the key log: open each direction's records with the logged secrets."""
    client, server = connected_pair()
    drain(client), drain(server)
    secrets = {line.split()[0]: bytes.fromhex(line.split()[2]) for line in client.key_log_lines()}
    suite = suite_info(client.cipher_suite)
    client.send(b"to the server")
    server.send(b"to the client")
    for wire, label, expected in ((client.data_to_send(), "CLIENT_TRAFFIC_SECRET_0", b"to the server"),
                                  (server.data_to_send(), "SERVER_TRAFFIC_SECRET_0", b"to the client")):
        framer = RecordFramer()
        framer.feed(wire)
        protection = TLS13Protection(suite, secrets[label], "application-0")
        assert protection.open(framer.pop()) == (23, expected)
