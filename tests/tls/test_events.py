"""Events: every type appears in a session, renders to JSON, is frozen, and comes in a sensible order."""
from __future__ import annotations

import dataclasses
import json

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.enums import AlertDescription, KeyUpdateType, NamedGroup, SessionFlag
from workbench.tls.messages import ClientHello, EncryptedExtensions, Finished

from .pair import connected_pair, drain, make_client_config, make_server_config, pump


def rich_session():
    """HelloRetryRequest + compatibility mode + data + close_notify: every event type of a full TLS 1.3
    handshake, on each side (the server's tickets included)."""
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


def resumed_session_with_early_data():
    """A ticket from a first handshake resumes a second one that carries 0-RTT data the server accepts."""
    server_config = make_server_config(max_early_data=16384)
    first_client, _ = connected_pair(make_client_config(), server_config)
    client = Connection(make_client_config())
    client.set_session_data(first_client.session_data())
    client.send_early_data(b"early")
    client.start_handshake()
    server = Connection(server_config)
    pump(client, server)
    assert SessionFlag.RESUMED in client.session_flags() and SessionFlag.EARLY_DATA in server.session_flags()
    return drain(client), drain(server)


def refused_session_with_early_data():
    """The same offer to a server whose ticket keys differ: resumption refused, the early data rejected."""
    first_client, _ = connected_pair(make_client_config(), make_server_config(max_early_data=16384))
    client = Connection(make_client_config())
    client.set_session_data(first_client.session_data())
    client.send_early_data(b"early")
    client.start_handshake()
    server = Connection(make_server_config(max_early_data=16384))
    pump(client, server)
    assert client.handshake_complete and SessionFlag.RESUMED not in client.session_flags()
    return drain(client), drain(server)


def key_update_session():
    """TLS 1.3: after the handshake the client asks for a KeyUpdate and the server answers with its own."""
    client, server = connected_pair()
    drain(client), drain(server)
    client.key_update(KeyUpdateType.REQUESTED)
    client.do_handshake()
    pump(client, server)
    return drain(client), drain(server)


def tls12_pair():
    client, server = connected_pair(make_client_config(versions=(0x0303,)), make_server_config(versions=(0x0303,)))
    drain(client), drain(server)
    return client, server


def refused_client_renegotiation():
    """TLS 1.2: the client renegotiates; the server refuses client-initiated ones (its default)."""
    client, server = tls12_pair()
    client.renegotiate()
    client.do_handshake()
    pump(client, server)
    return drain(client), drain(server)


def server_renegotiation():
    """TLS 1.2: the server sends a HelloRequest and the client renegotiates."""
    client, server = tls12_pair()
    server.renegotiate()
    server.do_handshake()
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


HANDSHAKE_EVENTS = {events.HandshakeMessageSent, events.HandshakeMessageReceived, events.HandshakeComplete,
                    events.SecretDerived, events.KeysInstalled, events.RecordSent, events.RecordReceived}
RECORDS_AND_MESSAGES = {events.HandshakeMessageSent, events.HandshakeMessageReceived, events.RecordSent,
                        events.RecordReceived}
RICH_BOTH = HANDSHAKE_EVENTS | {events.HelloRetryRequested, events.ChangeCipherSpecSent,
                                events.ChangeCipherSpecReceived, events.ApplicationData, events.AlertSent,
                                events.AlertReceived, events.ConnectionClosed}
RENEGOTIATED = (RECORDS_AND_MESSAGES | {events.SecretDerived, events.KeysInstalled, events.ChangeCipherSpecSent,
                                        events.ChangeCipherSpecReceived, events.RenegotiationStarted,
                                        events.RenegotiationFinished})

# (scenario, the event types the client sees, those the server sees). Tickets, resumption, 0-RTT, KeyUpdate
# and renegotiation happen on one side only or need their own session, so each role has its own set.
SCENARIOS = [
    (rich_session, RICH_BOTH | {events.TicketReceived}, RICH_BOTH | {events.TicketIssued}),
    (resumed_session_with_early_data,
     HANDSHAKE_EVENTS | {events.TicketReceived, events.ResumptionOffered, events.ResumptionAccepted,
                         events.EarlyDataAccepted},
     # only the server reads the early data: the client's ApplicationData events are for what it receives
     HANDSHAKE_EVENTS | {events.TicketIssued, events.ResumptionOffered, events.ResumptionAccepted,
                         events.EarlyDataAccepted, events.ApplicationData}),
    (refused_session_with_early_data,
     HANDSHAKE_EVENTS | {events.TicketReceived, events.ResumptionOffered, events.ResumptionRefused,
                         events.EarlyDataRejected},
     HANDSHAKE_EVENTS | {events.TicketIssued, events.ResumptionOffered, events.ResumptionRefused,
                         events.EarlyDataRejected}),
    (key_update_session,
     RECORDS_AND_MESSAGES | {events.SecretDerived, events.KeysInstalled, events.KeyUpdateSent,
                             events.KeyUpdateReceived},
     RECORDS_AND_MESSAGES | {events.SecretDerived, events.KeysInstalled, events.KeyUpdateSent,
                             events.KeyUpdateReceived}),
    (refused_client_renegotiation,
     {events.HandshakeMessageSent, events.RecordSent, events.RecordReceived, events.RenegotiationStarted,
      events.AlertReceived, events.RenegotiationRefused},
     {events.HandshakeMessageReceived, events.RecordSent, events.RecordReceived, events.AlertSent,
      events.RenegotiationRefused}),
    (server_renegotiation, RENEGOTIATED | {events.HelloRequestReceived}, RENEGOTIATED),
]


@pytest.mark.parametrize("scenario, client_expected, server_expected", SCENARIOS,
                         ids=[scenario.__name__ for scenario, _, _ in SCENARIOS])
def test_each_scenario_gives_each_side_its_event_types(scenario, client_expected, server_expected):
    client_events, server_events = scenario()
    for evs, expected in ((client_events, client_expected), (server_events, server_expected)):
        seen = {type(e) for e in evs}
        assert seen == expected, expected ^ seen


def test_every_event_type_appears_in_some_scenario():
    # the scenarios above together produce every class events.py defines, each on the side(s) that make it
    produced = set()
    for scenario, _, _ in SCENARIOS:
        client_events, server_events = scenario()
        produced |= {type(e) for e in client_events + server_events}
    assert produced == set(events.ALL_EVENT_TYPES), set(events.ALL_EVENT_TYPES) ^ produced
    defined = {obj for obj in vars(events).values()
               if isinstance(obj, type) and issubclass(obj, events.Event) and obj is not events.Event
               and not obj.__name__.startswith("_")}         # private bases such as _TupleEvent
    assert defined == set(events.ALL_EVENT_TYPES)


def test_the_server_issues_two_tickets_after_a_full_handshake_by_default():
    client_events, server_events = rich_session()
    issued = [e for e in server_events if isinstance(e, events.TicketIssued)]
    received = [e for e in client_events if isinstance(e, events.TicketReceived)]
    assert len(issued) == 2 and [e.ticket for e in received] == [e.ticket for e in issued]


def test_every_event_renders_to_json():
    every = failed_session()
    for scenario, _, _ in SCENARIOS:
        client_events, server_events = scenario()
        every += client_events + server_events
    for event in every:
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


def test_record_path_events_behave_like_the_others():
    # RecordSent, RecordReceived and ApplicationData are tuples underneath (built in C on the record path)
    sent = events.RecordSent(23, 23, 100, "application-0", 4)
    received = events.RecordReceived(*sent)
    assert sent.length == 100 and sent.sequence == 4 and isinstance(sent, events.Event)
    assert sent != received and sent != tuple(sent) and sent == events.RecordSent(23, 23, 100, "application-0", 4)
    assert repr(sent) == "RecordSent(content_type=23, inner_type=23, length=100, epoch='application-0', sequence=4)"
    assert sent.to_dict() == {"kind": "record", "event": "RecordSent", "content_type": "APPLICATION_DATA",
                              "inner_type": "APPLICATION_DATA", "length": 100, "epoch": "application-0", "sequence": 4}
    assert events.to_jsonable([events.ApplicationData(b"\x01", "e")]) == \
           [{"kind": "application_data", "event": "ApplicationData", "data": "01", "epoch": "e"}]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sent.sequence = 5
    with pytest.raises(TypeError):
        events.ApplicationData(b"x")             # every field is required, as for the dataclass events
    match events.ApplicationData(b"x", "application-0"):
        case events.ApplicationData(data, epoch):
            assert (data, epoch) == (b"x", "application-0")
    secret = events.SecretDerived("c hs traffic", b"\x01", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", b"\x02")
    assert secret.derived_from == () and secret.to_dict()["value"] == "01"
    message = events.HandshakeMessageReceived(None, b"\x14\x00\x00\x00", "handshake")
    assert message.handshake_type == 20 and message != events.HandshakeMessageSent(*message)


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
