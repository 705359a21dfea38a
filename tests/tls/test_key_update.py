"""TLS 1.3 KeyUpdate: the seed's SSL_key_update / SSL_get_key_update_type sentences, receiving the
peer's updates, epochs and sequence numbers, the alerts a broken KeyUpdate gets, the bound."""
from __future__ import annotations

import pytest

from workbench.tls import Connection, errors, events
from workbench.tls.cipher_suites import suite_info
from workbench.tls.enums import AlertDescription, ContentType, KeyUpdateType
from workbench.tls.key_schedule import next_traffic_secret
from workbench.tls.key_update import MAX_KEY_UPDATES_IN_A_ROW
from workbench.tls.messages import KeyUpdate, NewSessionTicket, encode_handshake
from workbench.tls.record import RecordFramer
from workbench.tls.record_protection import TLS13Protection

from .pair import connected_pair, deliver, drain, make_client_config, make_server_config, pump, split_records
from .tls12_pairs import app_data, app_data_epochs, of_type, pair12, record_epochs

K = KeyUpdateType
AD = AlertDescription


def pair13():
    client, server = connected_pair()
    pump(client, server)             # tickets, if the server sends any
    drain(client), drain(server)
    return client, server


def key_update_record(sender: Connection, body: bytes) -> bytes:
    """A handshake record holding `body` (raw handshake bytes), protected under the sender's write keys."""
    return sender._write.seal(ContentType.HANDSHAKE, body)


# --- SSL_key_update: what may be asked, and when --------------------------------------------------------

def test_none_is_an_error_and_nothing_is_sent():
    client, _ = pair13()
    with pytest.raises(errors.UsageError, match="NONE"):
        client.key_update(K.NONE)
    with pytest.raises(errors.UsageError, match="not a KeyUpdateType"):
        client.key_update(7)
    assert client.key_update_type() is K.NONE
    client.do_handshake()
    assert client.data_to_send() == b"" and drain(client) == []


def test_only_after_the_handshake():
    client = Connection(make_client_config())
    with pytest.raises(errors.UsageError, match="completed handshake"):
        client.key_update(K.REQUESTED)
    client.start_handshake()
    with pytest.raises(errors.UsageError, match="completed handshake"):
        client.key_update(K.NOT_REQUESTED)
    assert client.key_update_type() is K.NONE
    server = Connection(make_server_config())
    server.receive_data(client.data_to_send())
    assert not server.handshake_complete        # the server's flight is out, the client's Finished is not in
    with pytest.raises(errors.UsageError, match="completed handshake"):
        server.key_update(K.NOT_REQUESTED)


def test_only_on_tls13():
    client, server = pair12()
    for conn in (client, server):
        with pytest.raises(errors.UsageError, match="TLS 1.3 only"):
            conn.key_update(K.REQUESTED)
        assert conn.key_update_type() is K.NONE
        conn.do_handshake()
        assert conn.data_to_send() == b""


def test_not_after_close():
    client, _ = pair13()
    client.close()
    with pytest.raises(errors.UsageError, match="closed for sending"):
        client.key_update(K.NOT_REQUESTED)


@pytest.mark.parametrize("update_type", [K.NOT_REQUESTED, K.REQUESTED])
def test_the_update_is_scheduled_and_the_pending_type_reported(update_type):
    client, server = pair13()
    client.key_update(update_type)
    assert client.key_update_type() is update_type      # scheduled, not performed
    assert client.data_to_send() == b""                 # nothing goes out without I/O
    assert drain(client) == []
    client.do_handshake()                               # SSL_do_handshake forces it
    assert client.key_update_type() is K.NONE
    sent = drain(client)
    assert [e.request_update for e in of_type(sent, events.KeyUpdateSent)] == [update_type]
    assert of_type(sent, events.KeyUpdateSent)[0].generation == 1 and not of_type(sent, events.KeyUpdateSent)[0].answer
    server.receive_data(client.data_to_send())
    received = drain(server)
    assert [(e.generation, e.request_update) for e in of_type(received, events.KeyUpdateReceived)] == \
        [(1, update_type)]
    answered = of_type(received, events.KeyUpdateSent)
    if update_type is K.REQUESTED:
        # The peer answers within the same I/O call: its own update, never a request again.
        assert [(e.generation, e.request_update, e.answer) for e in answered] == [(1, K.NOT_REQUESTED, True)]
    else:
        assert answered == [] and server.data_to_send() == b""


def test_a_write_performs_the_update_before_its_data():
    client, server = pair13()
    client.key_update(K.NOT_REQUESTED)
    client.send(b"after the update")
    assert client.key_update_type() is K.NONE
    sent = drain(client)
    handshake_records = [(e.epoch, e.sequence) for e in of_type(sent, events.RecordSent)
                         if e.inner_type == ContentType.HANDSHAKE]
    assert handshake_records == [("application-0", 0)]       # the KeyUpdate, under the old keys
    assert record_epochs(sent) == [("application-1", 0)]     # the data, under the new ones, sequence from 0
    server.receive_data(client.data_to_send())
    assert app_data_epochs(drain(server)) == [(b"after the update", "application-1")]


def test_a_read_performs_the_scheduled_update():
    client, server = pair13()
    client.key_update(K.REQUESTED)
    server.send(b"something to read")
    client.receive_data(server.data_to_send())          # SSL_read is an I/O operation too
    assert client.key_update_type() is K.NONE
    assert of_type(drain(client), events.KeyUpdateSent)
    server.receive_data(client.data_to_send())
    assert of_type(drain(server), events.KeyUpdateReceived)


def test_a_second_update_while_one_is_scheduled_is_refused_as_in_openssl():
    client, _ = pair13()
    client.key_update(K.NOT_REQUESTED)
    with pytest.raises(errors.UsageError, match="already scheduled"):
        client.key_update(K.REQUESTED)
    assert client.key_update_type() is K.NOT_REQUESTED


def test_updates_in_a_row_each_change_the_epoch_and_data_checked_between():
    client, server = pair13()
    for n in range(1, 6):
        client.key_update(K.NOT_REQUESTED)
        client.send(b"record %d" % n)
        server.receive_data(client.data_to_send())
        assert app_data_epochs(drain(server)) == [(b"record %d" % n, f"application-{n}")]
    assert server.read_epoch == client.write_epoch == "application-5"
    assert server.write_epoch == client.read_epoch == "application-0"
    assert client.write_sequence == server.read_sequence == 1


# --- the peer's update_requested ------------------------------------------------------------------------

def test_several_requests_in_one_go_get_one_answer():
    client, server = pair13()
    for _ in range(3):
        client.key_update(K.REQUESTED)
        client.do_handshake()
    drain(client)
    server.receive_data(client.data_to_send())
    evs = drain(server)
    assert [e.generation for e in of_type(evs, events.KeyUpdateReceived)] == [1, 2, 3]
    assert [(e.generation, e.answer) for e in of_type(evs, events.KeyUpdateSent)] == [(1, True)]
    server.send(b"after one answer")
    client.receive_data(server.data_to_send())
    evs = drain(client)
    assert [e.request_update for e in of_type(evs, events.KeyUpdateReceived)] == [K.NOT_REQUESTED]
    assert app_data_epochs(evs) == [(b"after one answer", "application-1")]
    assert of_type(evs, events.KeyUpdateSent) == []      # an answer is never answered


def test_the_answer_precedes_the_next_application_data():
    client, server = pair13()
    client.key_update(K.REQUESTED)
    client.do_handshake()
    server.receive_data(client.data_to_send())
    server.send(b"reply")
    records = split_records(server.data_to_send())
    evs = drain(server)
    inner = [e.inner_type for e in of_type(evs, events.RecordSent)]
    assert inner == [ContentType.HANDSHAKE, ContentType.APPLICATION_DATA] and len(records) == 2
    assert record_epochs(evs) == [("application-1", 0)]


def test_both_sides_requesting_at_the_same_time():
    client, server = pair13()
    client.key_update(K.REQUESTED)
    server.key_update(K.REQUESTED)
    client.do_handshake()
    server.do_handshake()
    to_server, to_client = client.data_to_send(), server.data_to_send()
    client.receive_data(to_client)
    server.receive_data(to_server)
    pump(client, server)
    for conn in (client, server):
        evs = drain(conn)
        # Each sent its request, then answered the other's once; nothing more.
        assert [(e.request_update, e.answer) for e in of_type(evs, events.KeyUpdateSent)] == \
            [(K.REQUESTED, False), (K.NOT_REQUESTED, True)]
        assert [e.request_update for e in of_type(evs, events.KeyUpdateReceived)] == [K.REQUESTED, K.NOT_REQUESTED]
        assert conn.read_epoch == conn.write_epoch == "application-2"
    client.send(b"c")
    server.send(b"s")
    pump(client, server)
    assert app_data(drain(server)) == b"c" and app_data(drain(client)) == b"s"


def test_a_request_after_our_close_notify_is_not_answered():
    client, server = pair13()
    server.close()
    client.key_update(K.REQUESTED)
    client.do_handshake()
    server.receive_data(client.data_to_send())
    evs = drain(server)
    assert of_type(evs, events.KeyUpdateReceived) and not of_type(evs, events.KeyUpdateSent)


# --- what the peer may not do ---------------------------------------------------------------------------

def expect_alert(server: Connection, wire: bytes, error: type, alert: AlertDescription):
    with pytest.raises(error) as info:
        server.receive_data(wire)
    assert info.value.alert == alert
    sent = of_type(drain(server), events.AlertSent)
    assert sent and sent[-1].description == alert
    return info.value


def test_unknown_request_value_is_illegal_parameter():
    client, server = pair13()
    wire = key_update_record(client, bytes((24, 0, 0, 1, 2)))
    expect_alert(server, wire, errors.IllegalParameter, AD.illegal_parameter)


def test_a_key_update_of_the_wrong_length_is_decode_error():
    client, server = pair13()
    wire = key_update_record(client, bytes((24, 0, 0, 2, 0, 0)))
    expect_alert(server, wire, errors.DecodeError, AD.decode_error)


def test_handshake_data_after_a_key_update_in_the_same_record_is_unexpected_message():
    client, server = pair13()
    ticket = encode_handshake(NewSessionTicket(60, 1, b"\x00", b"t"))
    wire = key_update_record(client, encode_handshake(KeyUpdate(0)) + ticket[:3])
    error = expect_alert(server, wire, errors.UnexpectedMessage, AD.unexpected_message)
    assert "key change" in str(error)


def test_a_key_update_may_span_two_records_under_the_old_keys():
    client, server = pair13()
    body = encode_handshake(KeyUpdate(0))
    server.receive_data(key_update_record(client, body[:3]) + key_update_record(client, body[3:]))
    assert [e.generation for e in of_type(drain(server), events.KeyUpdateReceived)] == [1]


def test_application_data_inside_a_split_key_update_is_unexpected_message():
    client, server = pair13()
    body = encode_handshake(KeyUpdate(0))
    wire = key_update_record(client, body[:2]) + client._write.seal(ContentType.APPLICATION_DATA, b"data")
    expect_alert(server, wire, errors.UnexpectedMessage, AD.unexpected_message)


def test_a_key_update_during_the_handshake_is_unexpected_message():
    client = Connection(make_client_config())
    server = Connection(make_server_config())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    # Before the client's Finished the server reads with the client's handshake keys and expects only that.
    handshake_keys = TLS13Protection(suite_info(client.cipher_suite), client.handshake.client_hs, "handshake")
    wire = handshake_keys.seal(ContentType.HANDSHAKE, encode_handshake(KeyUpdate(0)))
    error = expect_alert(server, wire, errors.UnexpectedMessage, AD.unexpected_message)
    assert error.received == "KeyUpdate"


def test_a_key_update_on_tls12_is_unexpected_message():
    client, server = pair12()
    wire = client._write.seal(ContentType.HANDSHAKE, encode_handshake(KeyUpdate(0)))
    expect_alert(server, wire, errors.UnexpectedMessage, AD.unexpected_message)


def test_key_updates_without_end_are_stopped_at_the_bound():
    client, server = pair13()
    for _ in range(MAX_KEY_UPDATES_IN_A_ROW):
        client.key_update(K.NOT_REQUESTED)
        client.do_handshake()
    server.receive_data(client.data_to_send())
    assert len(of_type(drain(server), events.KeyUpdateReceived)) == MAX_KEY_UPDATES_IN_A_ROW
    client.key_update(K.NOT_REQUESTED)
    client.do_handshake()
    error = expect_alert(server, client.data_to_send(), errors.UnexpectedMessage, AD.unexpected_message)
    assert f"more than {MAX_KEY_UPDATES_IN_A_ROW} KeyUpdates" in str(error)


def test_data_between_updates_restarts_the_count():
    client, server = pair13()
    for n in range(3 * MAX_KEY_UPDATES_IN_A_ROW):
        client.key_update(K.NOT_REQUESTED)
        client.do_handshake()
        if n % MAX_KEY_UPDATES_IN_A_ROW == 0:
            client.send(b"x")
        server.receive_data(client.data_to_send())
    evs = drain(server)
    assert len(of_type(evs, events.KeyUpdateReceived)) == 3 * MAX_KEY_UPDATES_IN_A_ROW
    assert not server.closed


# --- epochs and the key log -------------------------------------------------------------------------------

def test_keys_installed_and_secrets_name_each_generation():
    client, server = pair13()
    client.key_update(K.REQUESTED)
    client.do_handshake()
    pump(client, server)
    evs = drain(client)
    installed = [(e.direction, e.epoch, e.generation) for e in of_type(evs, events.KeysInstalled)]
    assert installed == [("write", "application-1", 1), ("read", "application-1", 1)]
    names = [e.name for e in of_type(evs, events.SecretDerived)]
    assert names == ["c ap traffic 1", "s ap traffic 1"]
    assert all(e.keylog_label is None for e in of_type(evs, events.SecretDerived))


def test_the_key_log_and_the_ratchet_open_every_generation():
    """What tshark does: ratchet application_traffic_secret_N itself from the logged _0 secret."""
    client, server = pair13()
    secret = {line.split()[0]: bytes.fromhex(line.split()[2]) for line in client.key_log_lines()}
    suite = suite_info(client.cipher_suite)
    current = secret["CLIENT_TRAFFIC_SECRET_0"]
    framer = RecordFramer()
    protection = TLS13Protection(suite, current, "application-0")
    for n in range(1, 4):
        client.key_update(K.NOT_REQUESTED)
        client.send(b"generation %d" % n)
        framer.feed(client.data_to_send())
        assert protection.open(framer.pop()) == (ContentType.HANDSHAKE, encode_handshake(KeyUpdate(0)))
        current = next_traffic_secret(suite.hash, current)
        protection = TLS13Protection(suite, current, f"application-{n}")
        assert protection.open(framer.pop()) == (ContentType.APPLICATION_DATA, b"generation %d" % n)
    assert client.key_log_lines() == server.key_log_lines()


def test_event_json_names_the_request():
    client, _ = pair13()
    client.key_update(K.REQUESTED)
    client.do_handshake()
    sent = of_type(drain(client), events.KeyUpdateSent)[0].to_dict()
    assert sent["request_update"] == "REQUESTED" and sent["generation"] == 1 and sent["kind"] == "key_update"


def test_the_peer_receives_all_records_of_a_deliver_batch():
    client, server = pair13()
    client.key_update(K.NOT_REQUESTED)
    client.send(b"one")
    client.key_update(K.REQUESTED)
    client.send(b"two")
    deliver(client, server)
    assert app_data_epochs(drain(server)) == [(b"one", "application-1"), (b"two", "application-2")]
