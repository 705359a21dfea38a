"""The NSS key log: lines, writer, and that the logged secrets really decrypt the session."""
from __future__ import annotations

import io

import pytest

from workbench.tls import Connection, KeyLogWriter, events, events_to_keylog, key_log_line
from workbench.tls.cipher_suites import suite_info
from workbench.tls.enums import ContentType
from workbench.tls.messages import (Certificate, CertificateVerify, ClientHello, EncryptedExtensions, Finished,
                                    HandshakeReassembler, NewSessionTicket, decode_handshake)
from workbench.tls.record import RecordFramer
from workbench.tls.record_protection import TLS13Protection

from .pair import connected_pair, drain, make_client_config, make_server_config

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


def recorded_session(client: Connection, server: Connection) -> dict[str, bytearray]:
    """Handshake and exchange data like pump(), keeping every byte each side put on the wire."""
    wire = {"client": bytearray(), "server": bytearray()}
    client.start_handshake()
    exchanged = False
    while True:
        moved = False
        for name, sender, receiver in (("client", client, server), ("server", server, client)):
            data = sender.data_to_send()
            if data:
                wire[name] += data
                receiver.receive_data(data)
                moved = True
        if not moved:
            if exchanged:
                return wire
            client.send(b"to the server")
            server.send(b"to the client")
            exchanged = True


def open_with_key_log(wire: bytes, suite, handshake_secret: bytes, application_secret: bytes):
    """What Wireshark does with a key log: the protected records of one direction opened with the handshake
    secret up to this side's Finished, with the application secret after it. Returns (epoch, handshake
    messages or None, application data or None) per protected record."""
    framer = RecordFramer()
    framer.feed(bytes(wire))
    protection = TLS13Protection(suite, handshake_secret, "handshake")
    opened = []
    while (record := framer.pop()) is not None:
        if record.content_type != ContentType.APPLICATION_DATA:
            continue                                     # the hellos and change_cipher_spec travel in clear
        inner_type, plaintext = protection.open(record)
        if inner_type == ContentType.HANDSHAKE:
            reassembler = HandshakeReassembler()         # our engine never splits a message across records
            reassembler.feed(plaintext)
            messages = list(iter(reassembler.pop, None))
            assert not reassembler.has_partial
            opened.append((protection.epoch, [decode_handshake(raw) for raw in messages], None))
            if any(isinstance(message, Finished) for message in opened[-1][1]):
                protection = TLS13Protection(suite, application_secret, "application-0")
        else:
            assert inner_type == ContentType.APPLICATION_DATA
            opened.append((protection.epoch, None, plaintext))
    return opened


def test_logged_secrets_decrypt_the_recorded_traffic():
    """Every protected record of both directions opens with the logged secrets, in the order it was sent.

    The server sends its NewSessionTickets (2 by default) after the client's Finished, in the application
    epoch: they take its first application sequence numbers, so its data comes after them."""
    client, server = Connection(make_client_config()), Connection(make_server_config())
    wire = recorded_session(client, server)
    secrets = {line.split()[0]: bytes.fromhex(line.split()[2]) for line in client.key_log_lines()}
    suite = suite_info(client.cipher_suite)

    from_client = open_with_key_log(wire["client"], suite, secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"],
                                    secrets["CLIENT_TRAFFIC_SECRET_0"])
    assert [(epoch, [type(m) for m in messages or ()], data) for epoch, messages, data in from_client] == [
        ("handshake", [Finished], None), ("application-0", [], b"to the server")]

    from_server = open_with_key_log(wire["server"], suite, secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"],
                                    secrets["SERVER_TRAFFIC_SECRET_0"])
    handshake = [type(m) for epoch, messages, _ in from_server if epoch == "handshake" for m in messages]
    assert handshake == [EncryptedExtensions, Certificate, CertificateVerify, Finished]
    application = [(messages, data) for epoch, messages, data in from_server if epoch == "application-0"]
    assert application[-1] == (None, b"to the client")
    assert all(data is None for _, data in application[:-1])              # before it: handshake records only
    tickets = [m for messages, _ in application[:-1] for m in messages]
    assert [type(m) for m in tickets] == [NewSessionTicket, NewSessionTicket]
    assert [m.ticket for m in tickets] == [e.ticket for e in drain(client) if isinstance(e, events.TicketReceived)]
