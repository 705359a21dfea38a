import itertools

import pytest

from workbench.tls import ClientConfig, errors, events
from workbench.tls.enums import AlertDescription, ContentType, HandshakeType
from workbench.transport.inprocess import Action, InProcessPair, RecordStep, split_records
from workbench.transport.tap import RecordingTap


def message_types(events_, cls):
    return [e.handshake_type for e in events_ if isinstance(e, cls)]


@pytest.fixture
def pair(client_config, server_config):
    clock = itertools.count(1000.0, 0.5).__next__
    return InProcessPair(client_config, server_config, tap=RecordingTap(), clock=clock)


def test_nothing_moves_until_asked(pair):
    assert pair.history == [] and pair.pending == ()
    action = pair.start_handshake()
    assert isinstance(action, Action) and action.side == "client"
    assert message_types(action.client_events, events.HandshakeMessageSent) == [HandshakeType.CLIENT_HELLO]
    assert [p.sender for p in pair.pending] == ["client"]
    assert not pair.server.handshake_complete


def test_steps_move_one_record_each_in_handshake_order(pair):
    steps = pair.run_until_quiet()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    # The flight ends with the server's NewSessionTickets (2 by default), sent once the client's Finished
    # arrived: a teacher stepping through sees them after the handshake, in the first application record.
    assert [s.direction for s in steps] == ["client->server", "server->client", "server->client", "client->server",
                                            "server->client"]
    for step in steps:
        assert len(split_records(bytearray(step.record))) == 1      # exactly one whole record
        assert len(step.record) == 5 + step.length
        received = [e for e in step.receiver_events if isinstance(e, events.RecordReceived)]
        assert len(received) == 1 and received[0].length == step.length
    assert all(isinstance(s, RecordStep) for s in steps)
    hello, server_hello, encrypted_flight, client_finished, tickets = steps
    assert [(s.sent_as.inner_type, s.sent_as.epoch, s.sent_as.sequence) for s in steps] == [
        (None, "plaintext", 0), (None, "plaintext", 0), (ContentType.HANDSHAKE, "handshake", 0),
        (ContentType.HANDSHAKE, "handshake", 0), (ContentType.HANDSHAKE, "application-0", 0)]
    assert all(s.sent_as.length == s.length for s in steps)
    assert hello.content_type == ContentType.HANDSHAKE
    assert message_types(hello.server_events, events.HandshakeMessageReceived) == [HandshakeType.CLIENT_HELLO]
    assert message_types(server_hello.client_events, events.HandshakeMessageReceived) == [HandshakeType.SERVER_HELLO]
    assert encrypted_flight.content_type == ContentType.APPLICATION_DATA
    assert message_types(encrypted_flight.client_events, events.HandshakeMessageReceived) == [
        HandshakeType.ENCRYPTED_EXTENSIONS, HandshakeType.CERTIFICATE, HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.FINISHED]
    assert any(isinstance(e, events.HandshakeComplete) for e in client_finished.server_events)
    issued = [e.ticket for e in client_finished.server_events if isinstance(e, events.TicketIssued)]
    assert len(issued) == 2                          # queued as the client's Finished was read
    assert message_types(tickets.client_events, events.HandshakeMessageReceived) == [
        HandshakeType.NEW_SESSION_TICKET, HandshakeType.NEW_SESSION_TICKET]
    assert [e.ticket for e in tickets.client_events if isinstance(e, events.TicketReceived)] == issued
    assert [entry.index for entry in pair.history] == list(range(len(pair.history)))
    assert pair.steps == steps


def test_key_views_follow_each_side(pair):
    pair.start_handshake()
    first = pair.step()
    assert first.client_keys.write.epoch == "plaintext"
    # The server answered the ClientHello with its whole flight: it reads with handshake keys and
    # already writes with application keys (it may send 0.5-RTT data).
    assert first.server_keys.read.epoch == "handshake" and first.server_keys.write.epoch == "application-0"
    assert "c hs traffic" in first.server_keys.secrets and "s ap traffic" in first.server_keys.secrets
    assert first.client_keys.secrets == ()
    second = pair.step()          # ServerHello: now the client can derive the handshake keys too
    assert second.client_keys.read.epoch == "handshake"
    pair.run_until_quiet()
    for side in ("client", "server"):
        keys = pair.keys(side)
        assert keys.read.epoch == keys.write.epoch == "application-0"
        assert keys.read.cipher_suite == pair.client.cipher_suite


def test_step_flight_moves_only_the_next_senders_queued_records(pair):
    assert [s.sender for s in pair.step_flight()] == ["client"]
    flight = pair.step_flight()
    assert [s.sender for s in flight] == ["server", "server"]
    assert [p.sender for p in pair.pending] == ["client"]
    assert [s.sender for s in pair.step_flight()] == ["client"]
    # the client's Finished made the server queue its NewSessionTicket record: the last flight
    assert [p.sender for p in pair.pending] == ["server"]
    assert [s.sender for s in pair.step_flight()] == ["server"]
    assert pair.step_flight() == [] and pair.step() is None and pair.quiet


def test_tap_sees_every_byte_once_with_the_pairs_clock(client_config, server_config):
    tap = RecordingTap()
    times = itertools.count(50.0, 1.0)
    pair = InProcessPair(client_config, server_config, tap=tap, clock=times.__next__,
                         client_address="10.0.0.1:1234", server_address="10.0.0.2:443")
    pair.run_until_quiet()
    pair.send("client", b"ping")
    pair.send("server", b"pong" * 5000)            # two records
    pair.close("client")
    pair.run_until_quiet()
    steps = pair.steps
    assert [c.data for c in tap.chunks] == [s.record for s in steps]
    assert [c.timestamp for c in tap.chunks] == [s.timestamp for s in steps]
    assert tap.stream("10.0.0.1:1234", "10.0.0.2:443") == b"".join(
        s.record for s in steps if s.sender == "client")
    sent_by_server = sum(5 + e.length for entry in pair.history for e in entry.server_events
                         if isinstance(e, events.RecordSent))
    assert len(tap.stream("10.0.0.2:443", "10.0.0.1:1234")) == sent_by_server


def test_application_data_and_close_are_recorded_as_actions_and_steps(pair):
    pair.run_until_quiet()
    action = pair.send("client", b"hello server")
    assert action.name == "send" and [e.length for e in action.client_events if isinstance(e, events.RecordSent)]
    step = pair.step()
    assert [e.data for e in step.server_events if isinstance(e, events.ApplicationData)] == [b"hello server"]
    pair.close("server")
    closing = pair.run_until_quiet()
    assert [s.direction for s in closing] == ["server->client", "client->server"]   # close_notify, then its answer
    assert any(isinstance(e, events.ConnectionClosed) and e.by_peer for e in closing[0].client_events)
    assert pair.client.closed and pair.server.closed


def test_misuse_raises_and_is_not_recorded(pair):
    with pytest.raises(errors.UsageError):
        pair.send("client", b"too early")
    assert pair.history == []
    with pytest.raises(ValueError):
        pair.send("middlebox", b"x")


def test_an_altered_record_brings_the_receivers_alert_on_the_next_step(pair):
    pair.step_flight()
    pair.step()                                         # ServerHello
    flipped = pair.step(modify=lambda record: record[:-1] + bytes([record[-1] ^ 1]))
    assert flipped.original is not None and flipped.record != flipped.original
    assert isinstance(flipped.error, errors.ProtocolError)
    assert flipped.error.alert == AlertDescription.bad_record_mac
    assert any(isinstance(e, events.AlertSent) for e in flipped.client_events)
    alert_step = pair.step()
    assert alert_step.direction == "client->server"
    assert isinstance(alert_step.error, errors.AlertReceived)
    assert alert_step.error.description == AlertDescription.bad_record_mac
    assert pair.step() is None


def test_wrong_server_name_fails_with_bad_certificate(test_ca, server_config):
    wrong_name = ClientConfig(server_name="not-the-server.example", trust_anchors=(test_ca.certificate,))
    pair = InProcessPair(wrong_name, server_config)
    steps = pair.run_until_quiet()
    failing = next(s for s in steps if s.error is not None)
    assert failing.receiver == "client" and failing.error.alert == AlertDescription.bad_certificate
    last = steps[-1]
    assert isinstance(last.error, errors.AlertReceived) and last.receiver == "server"
    assert not pair.client.handshake_complete


def test_records_sent_to_a_failed_side_are_dropped(pair):
    pair.step_flight()                                 # ClientHello
    suite_offset = 5 + 4 + 2 + 32 + 1                  # record header, message header, version, random, sid length
    bad_suite = pair.step(modify=lambda r: r[:suite_offset] + b"\x13\x04" + r[suite_offset + 2:])
    assert bad_suite.error.alert == AlertDescription.illegal_parameter      # a suite the client never offered
    assert [p.sender for p in pair.pending] == ["server", "client"]         # the encrypted flight, the alert
    lost = pair.step()
    assert lost.receiver == "client" and lost.dropped and lost.error is None and lost.client_events == ()
    alert = pair.step()
    assert isinstance(alert.error, errors.AlertReceived) and alert.error.description == AlertDescription.illegal_parameter


def test_split_records_keeps_an_incomplete_tail():
    buffer = bytearray(b"\x17\x03\x03\x00\x02ab" + b"\x17\x03\x03\x00\x05abc")
    assert split_records(buffer) == [b"\x17\x03\x03\x00\x02ab"]
    assert buffer == bytearray(b"\x17\x03\x03\x00\x05abc")
    buffer += b"de"
    assert split_records(buffer) == [b"\x17\x03\x03\x00\x05abcde"] and buffer == bytearray()
