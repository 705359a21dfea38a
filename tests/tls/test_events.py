"""Events: every type appears in a session, renders to JSON, is frozen, and comes in a sensible order."""
from __future__ import annotations

import dataclasses
import json

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, NamedGroup
from workbench.tls.messages import ClientHello, EncryptedExtensions, Finished

from .pair import drain, make_client_config, make_server_config, pump


def rich_session():
    """HelloRetryRequest + compatibility mode + data + close_notify: every event type on each side."""
    client = Connection(make_client_config(compatibility_mode=True))
    server = Connection(make_server_config(supported_groups=(NamedGroup.SECP256R1, NamedGroup.X25519)))
    client.start_handshake()
    pump(client, server)
    client.send(b"hello")
    server.send(b"world")
    pump(client, server)
    client.close()
    pump(client, server)
    return drain(client), drain(server)


def failed_session():
    """A session that ends with our own fatal alert."""
    client = Connection(make_client_config(server_name="wrong.example"))
    server = Connection(make_server_config())
    client.start_handshake()
    with pytest.raises(errors.ProtocolError):
        pump(client, server)
    return drain(client)


def test_every_event_type_appears_on_both_sides():
    client_events, server_events = rich_session()
    for evs in (client_events, server_events):
        seen = {type(e) for e in evs}
        assert seen == set(events.ALL_EVENT_TYPES), set(events.ALL_EVENT_TYPES) - seen


def test_every_event_renders_to_json():
    client_events, server_events = rich_session()
    for event in client_events + server_events + failed_session():
        rendered = event.to_dict()
        assert rendered["kind"] == event.kind and rendered["event"] == type(event).__name__
        json.dumps(rendered)


def test_to_dict_shows_bytes_as_hex_and_code_points_as_names():
    client_events, _ = rich_session()
    installed = next(e for e in client_events if isinstance(e, events.KeysInstalled))
    assert installed.to_dict()["cipher_suite"] == "TLS_AES_128_GCM_SHA256"
    complete = next(e for e in client_events if isinstance(e, events.HandshakeComplete))
    as_dict = complete.to_dict()
    assert as_dict["group"] == "SECP256R1" and as_dict["version"] == "TLS13"
    assert as_dict["signature_scheme"] == "ECDSA_SECP256R1_SHA256"
    assert isinstance(as_dict["peer_certificates"][0], str) and as_dict["peer_certificates"][0].startswith("30")
    secret = next(e for e in client_events if isinstance(e, events.SecretDerived))
    assert secret.to_dict()["value"] == secret.value.hex()
    hello = next(e for e in client_events if isinstance(e, events.HandshakeMessageSent))
    rendered = hello.to_dict()
    assert rendered["raw"] == hello.raw.hex()
    assert rendered["message"]["type"] == "ClientHello"
    assert rendered["message"]["handshake_type"] == "CLIENT_HELLO"
    assert rendered["message"]["cipher_suites"][0] == "TLS_AES_128_GCM_SHA256"
    alert = next(e for e in client_events if isinstance(e, events.AlertSent))
    assert alert.to_dict()["description"] == "close_notify" and alert.to_dict()["level"] == "WARNING"


def test_unknown_code_points_render_as_hex():
    event = events.KeysInstalled("read", "handshake", 0x9999, 0)
    assert event.to_dict()["cipher_suite"] == "0x9999"


def test_the_error_of_a_failed_session_renders():
    closed = [e for e in failed_session() if isinstance(e, events.ConnectionClosed)]
    rendered = closed[-1].to_dict()
    assert rendered["error"]["alert"] == "bad_certificate"
    assert "wrong.example" in rendered["error"]["message"]


def test_events_are_frozen():
    event = events.ApplicationData(b"x", "application-0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = b"y"
    assert event == events.ApplicationData(b"x", "application-0")
    assert events.ConnectionClosed("r", True).error is None
    assert events.SecretDerived("n", b"v", None, b"r").derived_from == ()


def test_handshake_message_events_carry_epochs_and_exact_bytes():
    client_events, server_events = rich_session()
    sent = [e for e in client_events if isinstance(e, events.HandshakeMessageSent)]
    assert [type(e.message).__name__ for e in sent] == ["ClientHello", "ClientHello", "Finished"]
    assert [e.epoch for e in sent] == ["plaintext", "plaintext", "handshake"]
    received = [e for e in server_events if isinstance(e, events.HandshakeMessageReceived)]
    assert [e.raw for e in received] == [e.raw for e in sent]
    assert received[0].handshake_type == 1
    server_sent = {type(e.message).__name__: e.epoch for e in server_events
                   if isinstance(e, events.HandshakeMessageSent)}
    assert server_sent["EncryptedExtensions"] == "handshake" and server_sent["Finished"] == "handshake"
    data = [e for e in server_events if isinstance(e, events.ApplicationData)]
    assert data == [events.ApplicationData(b"hello", "application-0")]


def test_records_are_reported_once_each_with_sequence_numbers():
    client_events, server_events = rich_session()
    sent = [e for e in client_events if isinstance(e, events.RecordSent)]
    received = [e for e in server_events if isinstance(e, events.RecordReceived)]
    assert [(e.content_type, e.inner_type, e.length, e.epoch, e.sequence) for e in sent] == \
           [(e.content_type, e.inner_type, e.length, e.epoch, e.sequence) for e in received]
    for epoch in {e.epoch for e in sent if e.sequence is not None}:
        numbers = [e.sequence for e in sent if e.epoch == epoch and e.sequence is not None]
        assert numbers == list(range(len(numbers)))
    ccs = [e for e in sent if e.content_type == 20]
    assert len(ccs) == 1 and ccs[0].sequence is None and ccs[0].length == 1


def test_secrets_come_before_the_keys_they_make():
    client_events, _ = rich_session()
    names = []
    for e in client_events:
        if isinstance(e, events.SecretDerived):
            names.append(e.name)
        if isinstance(e, events.KeysInstalled):
            names.append(f"{e.direction}:{e.epoch}")
    assert names.index("s hs traffic") < names.index("read:handshake")
    assert names.index("c hs traffic") < names.index("write:handshake")
    assert names.index("s ap traffic") < names.index("read:application-0") < names.index("write:application-0")
    assert names[-1] == "res master"
    installed = [e for e in client_events if isinstance(e, events.KeysInstalled)]
    assert all(e.cipher_suite == 0x1301 and e.generation == 0 for e in installed)


def test_hello_retry_and_handshake_complete_events():
    client_events, server_events = rich_session()
    for evs in (client_events, server_events):
        retry = [e for e in evs if isinstance(e, events.HelloRetryRequested)]
        assert retry == [events.HelloRetryRequested(NamedGroup.SECP256R1, True)]
        complete = [e for e in evs if isinstance(e, events.HandshakeComplete)]
        assert len(complete) == 1 and not complete[0].resumed and complete[0].server_name == "localhost"
    # The client's HandshakeComplete follows its Finished; the server's follows the client's Finished.
    order = [type(e).__name__ + (":" + type(e.message).__name__ if hasattr(e, "message") else "")
             for e in server_events]
    assert order.index("HandshakeMessageReceived:Finished") < order.index("HandshakeComplete")


def test_alerts_and_closing_events():
    client_events, server_events = rich_session()
    assert [(e.level, e.description) for e in client_events if isinstance(e, events.AlertSent)] == \
           [(1, AlertDescription.close_notify)]
    assert [(e.level, e.description) for e in server_events if isinstance(e, events.AlertReceived)] == \
           [(1, AlertDescription.close_notify)]
    closed = [e for e in server_events if isinstance(e, events.ConnectionClosed)]
    assert len(closed) == 1 and closed[0].by_peer
    client_closed = [e.by_peer for e in client_events if isinstance(e, events.ConnectionClosed)]
    assert client_closed == [False, True]


def test_events_generator_and_next_event_drain_the_same_queue():
    client = Connection(make_client_config())
    client.start_handshake()
    first = client.next_event()
    assert isinstance(first, events.HandshakeMessageSent) and isinstance(first.message, ClientHello)
    rest = list(client.events())
    assert rest and client.next_event() is None
    assert not any(isinstance(e.message, (EncryptedExtensions, Finished)) for e in rest
                   if isinstance(e, events.HandshakeMessageSent))
